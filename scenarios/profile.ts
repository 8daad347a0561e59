/**
 * Turns a scenario's profile plus command-line flags into the load model the runner executes.
 * Flags override the profile; a profile without a model and no flags is a usage error.
 */
import { RunTimeRequiredError, SettingError } from '../shared/errors.js'
import { parseDuration } from '../shared/duration.js'
import { LOAD_DEFAULTS, checkLoadSettings } from '../shared/settings.js'
import type { LoadSettings } from '../shared/settings.js'
import type { Expectations, LoadModel, RateStage, UserStage } from '../shared/types.js'
import type { ProfileDef } from './define.js'
import type { ScenarioPlan } from './validate.js'
import { mergeExpectations, parseExpect } from './expect.js'


export interface LoadPlan {
  profileName?: string
  model: LoadModel
  /** how long load is applied, in seconds */
  durationS: number
  stopTimeoutS: number
  expectations?: Expectations
  advisory: string[]
}


/** Parses "30s:10,1m:10@5,30s:0" into stages. */
export function parseStages (text: string, flag = '--stages'): Array<{ durationS: number; target: number; spawnRate?: number }> {
  const parts = text.split(',').map(s => s.trim()).filter(Boolean)
  if (parts.length === 0) throw new SettingError(`${flag}: expected stages like "30s:10,1m:10,30s:0", got "${text}"`)
  return parts.map((part, i) => {
    const m = /^([^:]+):(\d+(?:\.\d+)?)(?:@(\d+(?:\.\d+)?))?$/.exec(part)
    if (!m) throw new SettingError(`${flag}: stage ${i + 1} "${part}" should be duration:target, like 30s:10 or 1m:100@5 (target 100 at 5 users/s)`)
    if (m[3] !== undefined && !(Number(m[3]) > 0)) throw new SettingError(`${flag}: stage ${i + 1} "${part}": the spawn rate after @ must be > 0`)
    return {
      durationS: parseDuration(m[1]!, `${flag} stage ${i + 1}`),
      target: Number(m[2]),
      spawnRate: m[3] === undefined ? undefined : Number(m[3])
    }
  })
}

export function resolveLoadPlan (plan: ScenarioPlan, flags: LoadSettings): LoadPlan {
  // a run of 0 users or at a rate of 0 would measure nothing and pass every check
  checkLoadSettings(flags)

  const profileName = flags.profile ?? plan.defaultProfile
  let profile: ProfileDef = {}
  if (profileName !== undefined) {
    const found = plan.profiles[profileName]
    if (!found) {
      const known = Object.keys(plan.profiles)
      throw new SettingError(`--profile: unknown profile "${profileName}" in ${plan.file ?? plan.name}; expected one of: ${known.length ? known.join(', ') : '(the scenario defines no profiles)'}`)
    }
    profile = found
  }
  const runTimeFlagS = flags.runTime === undefined ? undefined : parseDuration(flags.runTime, '--run-time')
  if (runTimeFlagS === 0) throw new SettingError('--run-time: expected a duration > 0, got 0')
  const stopTimeoutS = flags.stopTimeout !== undefined
    ? parseDuration(flags.stopTimeout, '--stop-timeout')
    : profile.stopTimeout !== undefined ? parseDuration(profile.stopTimeout, 'stopTimeout') : LOAD_DEFAULTS.stopTimeoutS

  const profileRate = typeof profile.arrivalRate === 'number' ? { rate: profile.arrivalRate } : profile.arrivalRate
  const open = flags.arrivalRate !== undefined || (flags.users === undefined && profileRate !== undefined)

  let model: LoadModel
  let shapeS: number
  if (open) {
    const unitS = profileRate?.timeUnit !== undefined && flags.arrivalRate === undefined ? parseDuration(profileRate.timeUnit, 'arrivalRate.timeUnit') : 1
    const startRate = (flags.arrivalRate ?? profileRate?.rate ?? 0) / unitS
    let stages: RateStage[]
    if (flags.stages) {
      stages = parseStages(flags.stages).map(s => ({ durationS: s.durationS, rate: s.target / unitS }))
    } else if (flags.arrivalRate === undefined && profileRate?.stages?.length) {
      stages = profileRate.stages.map((s, i) => ({ durationS: parseDuration(s.duration, `arrivalRate.stages[${i}].duration`), rate: s.target / unitS }))
    } else {
      const d = runTimeFlagS ?? (profile.runTime !== undefined ? parseDuration(profile.runTime, 'runTime') : undefined)
      if (d === undefined) throw new RunTimeRequiredError('--run-time: required with an arrival rate (e.g. --run-time 1m), since the profile gives no run time or stages')
      stages = [{ durationS: d, rate: startRate }]
    }
    const peak = Math.max(startRate, ...stages.map(s => s.rate))
    if (!(peak > 0)) throw new SettingError(`${flags.stages ? '--stages' : flags.arrivalRate !== undefined ? '--arrival-rate' : `profile "${profileName}": arrivalRate`}: expected a rate > 0 at some point, got ${peak}`)
    const maxVUs = flags.maxVUs ?? profileRate?.maxVUs ?? Math.max(100, Math.ceil(peak * 10))
    const pre = Math.min(maxVUs, flags.preAllocatedVUs ?? profileRate?.preAllocatedVUs ?? Math.min(maxVUs, Math.max(1, Math.ceil(peak))))
    model = { kind: 'open', startRate, stages, preAllocatedVUs: pre, maxVUs }
    shapeS = stages.reduce((a, s) => a + s.durationS, 0)
  } else {
    let stages: UserStage[]
    if (flags.stages) {
      stages = parseStages(flags.stages).map(s => ({ durationS: s.durationS, users: s.target, spawnRate: s.spawnRate }))
      stages.forEach((s, i) => { if (!Number.isInteger(s.users)) throw new SettingError(`--stages: stage ${i + 1} needs a whole number of users, got ${s.users}`) })
    } else if (flags.users === undefined && profile.stages?.length) {
      stages = profile.stages.map((s, i) => ({ durationS: parseDuration(s.duration, `stages[${i}].duration`), users: s.users, spawnRate: s.spawnRate }))
      if (flags.spawnRate !== undefined) stages = stages.map(s => ({ ...s, spawnRate: flags.spawnRate }))
    } else {
      const users = flags.users ?? profile.users
      if (users === undefined) {
        throw new SettingError(`--users: required${profileName ? ` (profile "${profileName}" gives no users, stages or arrival rate)` : ' (or choose a --profile from the scenario)'}`)
      }
      const d = runTimeFlagS ?? (profile.runTime !== undefined ? parseDuration(profile.runTime, 'runTime') : undefined)
      if (d === undefined) throw new RunTimeRequiredError('--run-time: required (e.g. --run-time 1m), since the profile gives no run time')
      stages = [{ durationS: d, users, spawnRate: flags.spawnRate ?? profile.spawnRate ?? 1 }]
    }
    // a profile's own numbers too: 0 users, or users who never start, would measure nothing
    const where = profileName ? `profile "${profileName}"` : 'the scenario'
    if (!stages.some(s => s.users > 0)) throw new SettingError(`${flags.stages ? '--stages' : flags.users !== undefined ? '--users' : `${where}: users`}: expected at least 1 user at some point, got ${stages.map(s => s.users).join(', ')}`)
    stages.forEach((s, i) => { if (s.spawnRate !== undefined && !(s.spawnRate > 0)) throw new SettingError(`${flags.spawnRate !== undefined ? '--spawn-rate' : `${where}: spawnRate${stages.length > 1 ? ` (stage ${i + 1})` : ''}`}: expected a number > 0, got ${s.spawnRate}`) })
    model = { kind: 'closed', stages }
    shapeS = stages.reduce((a, s) => a + s.durationS, 0)
  }
  // --run-time caps (or extends, holding the last target) the shape
  const durationS = runTimeFlagS ?? shapeS
  if (!(durationS > 0)) throw new SettingError('--run-time: the load would run for 0 seconds; give --run-time or stages with a duration')
  return {
    profileName,
    model,
    durationS,
    stopTimeoutS,
    expectations: mergeExpectations(profile.expect, typeof flags.expect === 'string' ? parseExpect(flags.expect) : flags.expect),
    advisory: profile.advisory ?? []
  }
}
