/**
 * Starts, steers and stops runs for the web UI. `loadlens ui` starts runs from the page
 * (one at a time); `loadlens run` without --headless hands its own run to it (autostart), and
 * the page can then change the users and stop it, but not start another.
 */
import { RunStateError, SettingError, UsageError } from '../shared/errors.js'
import { parseDuration } from '../shared/duration.js'
import { loadScenario } from '../scenarios/load.js'
import type { ScenarioPlan } from '../scenarios/validate.js'
import { prepareRun, runTest } from '../app/run.js'
import type { PreparedRun, RunTestOptions, RunTestOutcome } from '../app/run.js'
import { LiveRun } from './live.js'

export interface StartParams {
  users?: number | string
  spawnRate?: number | string
  host?: string
  profile?: string
  runTime?: string
}

export interface ScenarioInfo {
  scenario: string
  file?: string
  description?: string
  host?: string
  profiles: Array<{ name: string; description?: string; users?: number; spawnRate?: number; runTime?: string; shaped: boolean }>
  defaults: { host?: string; profile?: string; users?: number; spawnRate?: number; runTime?: string }
  allowStart: boolean
}

/** a run started from the page without a run time stops after this long */
export const UI_MAX_RUN_TIME = '1h'

function num (v: number | string | undefined, what: string, int: boolean): number | undefined {
  if (v === undefined || v === '') return undefined
  const n = typeof v === 'number' ? v : Number(String(v).trim())
  if (!Number.isFinite(n) || n < 0 || (int && !Number.isInteger(n))) throw new SettingError(`${what}: expected ${int ? 'a whole number' : 'a number'} >= 0, got "${String(v)}"`)
  return n
}

export class RunController {
  current: LiveRun | undefined
  private plan: ScenarioPlan | undefined
  private running: Promise<unknown> | undefined

  /**
   * @param base the options every run starts from (the command's flags)
   * @param allowStart whether the page may start runs
   */
  constructor (private readonly base: RunTestOptions, readonly allowStart: boolean) {}

  async scenarioPlan (): Promise<ScenarioPlan> {
    this.plan ??= typeof this.base.scenario === 'string' ? await loadScenario(this.base.scenario) : this.base.scenario
    return this.plan
  }

  async describe (): Promise<ScenarioInfo> {
    const p = await this.scenarioPlan()
    const b = this.base
    return {
      scenario: p.name,
      file: p.file,
      description: p.description,
      host: p.host,
      profiles: Object.entries(p.profiles).map(([name, d]) => ({
        name,
        description: d.description,
        users: d.users,
        spawnRate: d.spawnRate,
        runTime: d.runTime === undefined ? undefined : String(d.runTime),
        shaped: Boolean(d.stages?.length || d.arrivalRate !== undefined)
      })),
      defaults: { host: b.host ?? p.host, profile: b.profile ?? p.defaultProfile, users: b.users, spawnRate: b.spawnRate, runTime: b.runTime === undefined ? undefined : String(b.runTime) },
      allowStart: this.allowStart
    }
  }

  /** Starts a run with the page's settings; resolves once it is under way (or refused). */
  async start (params: StartParams): Promise<LiveRun> {
    if (!this.allowStart) throw new RunStateError('this UI serves a run started from the command line; it cannot start another')
    if (this.current?.running) throw new RunStateError('a run is already going; stop it first')
    const plan = await this.scenarioPlan()
    const users = num(params.users, 'users', true)
    const spawnRate = num(params.spawnRate, 'spawn rate', false)
    if (spawnRate === 0) throw new SettingError('spawn rate: expected users per second > 0, got 0')
    const runTime = params.runTime?.trim() ? params.runTime.trim() : undefined
    if (runTime !== undefined) parseDuration(runTime, 'run time')
    const o: RunTestOptions = {
      ...this.base,
      scenario: plan,
      host: params.host?.trim() || this.base.host,
      profile: params.profile?.trim() || this.base.profile,
      users: users ?? this.base.users,
      spawnRate: spawnRate ?? this.base.spawnRate,
      runTime: runTime ?? this.base.runTime,
      handleSignals: false
    }
    // an explicit profile from the page takes its own shape, not the command line's
    if (params.profile?.trim() && params.users === undefined) o.users = undefined
    let prep: PreparedRun
    try {
      prep = await prepareRun(o)
    } catch (err) {
      if (err instanceof UsageError && err.code === 'LOADLENS_RUN_TIME_REQUIRED' && o.runTime === undefined) {
        o.runTime = UI_MAX_RUN_TIME
        prep = await prepareRun(o)
      } else {
        throw err
      }
    }
    const live = this.track(o, prep)
    return live
  }

  /** Runs `o` (already prepared) as the current run; resolves with the outcome. */
  runAttached (o: RunTestOptions, prep: PreparedRun): Promise<RunTestOutcome> {
    const live = this.track(o, prep)
    return (this.running as Promise<RunTestOutcome>).then(out => {
      if (live.state === 'failed') throw new Error(live.message)
      return out
    })
  }

  private track (o: RunTestOptions, prep: PreparedRun): LiveRun {
    const live = new LiveRun({ scenario: prep.plan.name, host: prep.host.href.replace(/\/$/, ''), profile: prep.load.profileName, durationS: prep.load.durationS, model: prep.load.model }, prep)
    this.current = live
    const userOnHandle = o.onHandle
    const userOnProbes = o.onProbes
    const p = runTest({
      ...o,
      onHandle: (h) => { live.attach(h); userOnHandle?.(h) },
      onProbes: (s) => { live.attachProbes(s); userOnProbes?.(s) }
    })
    this.running = p
    p.then(out => live.finish(out.result, out.files, out.exitCode), err => live.fail(err))
    return live
  }

  setUsers (users: number | string, spawnRate?: number | string): void {
    const live = this.current
    if (!live?.handle || live.state !== 'running') throw new RunStateError('no run is going')
    if (live.info.model.kind !== 'closed') throw new RunStateError('users can only be changed in a closed-model run (this run has an arrival rate)')
    const u = num(users, 'users', true)
    const r = num(spawnRate, 'spawn rate', false) ?? 10
    if (u === undefined) throw new SettingError('users: expected a whole number >= 0')
    if (!(r > 0)) throw new SettingError('spawn rate: expected users per second > 0')
    if (!live.handle.setUsers(u, r)) throw new RunStateError('the run did not accept the new user count')
  }

  stop (): void {
    const live = this.current
    if (!live?.handle || !live.running) throw new RunStateError('no run is going')
    live.handle.stop('stopped', 'stopped from the web UI')
  }

  /** Waits for the current run to end (after stop()). */
  async settled (): Promise<void> {
    await this.running?.catch(() => {})
  }
}
