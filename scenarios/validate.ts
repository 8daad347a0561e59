/**
 * Checks a scenario object and turns it into the plan the load generator runs. Every error
 * names the file and the field and says what was expected.
 */
import { ScenarioError } from '../shared/errors.js'
import { parseDuration } from '../shared/duration.js'
import type { Expectations, LatencyLimits } from '../shared/types.js'
import { constant, SCENARIO_MARK } from './define.js'
import type { ProfileDef, Scenario, ScenarioDef, TaskFn, UserClassDef, WaitTime } from './define.js'
import { LOAD_DEFAULTS } from '../shared/settings.js'
import { nearestWord } from '../shared/nearest.js'

export interface TaskPlan {
  name: string
  /** "UserClass.task" */
  key: string
  weight: number
  run: TaskFn<any>
}

export interface UserClassPlan {
  name: string
  weight: number
  wait: WaitTime
  state?: () => any
  headers: Record<string, string>
  onStart?: UserClassDef['onStart']
  onStop?: UserClassDef['onStop']
  tasks: TaskPlan[]
  /** cumulative task weights, for picking a task by weight */
  cumulative: number[]
  totalWeight: number
}

export interface CompiledScenario { code: string; api: string }

export interface ScenarioPlan {
  name: string
  file?: string
  description?: string
  host?: string
  allowedHosts: string[]
  classes: UserClassPlan[]
  profiles: Record<string, ProfileDef>
  defaultProfile?: string
  requestTimeoutMs: number
  costs: Record<string, number>
  currency: string
  /** the object the file exported */
  source: ScenarioDef
  /**
   * the file and its local imports compiled into one ES module (scenarios/load.ts), and the
   * scenario API it imports as 'loadlens' (a URL: the built or the source module), handed to
   * the load threads so that they load it without compiling it again when theirs is the same
   */
  compiled?: CompiledScenario
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function positiveInt (value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value > 0
}

/** the fields each part of a scenario has (a field not listed is a mistake, never ignored) */
const FIELDS = {
  scenario: ['name', 'description', 'host', 'allowedHosts', 'users', 'profiles', 'defaultProfile', 'requestTimeout', 'costs', 'currency'],
  'user class': ['weight', 'wait', 'state', 'headers', 'onStart', 'onStop', 'tasks'],
  task: ['weight', 'run'],
  profile: ['description', 'users', 'spawnRate', 'runTime', 'stages', 'arrivalRate', 'expect', 'stopTimeout', 'advisory'],
  stage: ['duration', 'users', 'spawnRate'],
  'arrival rate': ['rate', 'timeUnit', 'preAllocatedVUs', 'maxVUs', 'stages'],
  'arrival-rate stage': ['duration', 'target'],
  'expect block': ['failureRatio', 'p50', 'p90', 'p95', 'p99', 'byName', 'dbConnectionsMax', 'dbConnectionsStable', 'cacheHitRateMin', 'noMemoryLeak', 'dbQueryMeanMs', 'findMaxUsers'],
  'set of limits': ['failureRatio', 'p50', 'p90', 'p95', 'p99']
} as const

/** the names Locust and k6 give some fields, and ours */
const ALSO_CALLED: Record<string, string> = {
  wait_time: 'wait',
  waitTime: 'wait',
  on_start: 'onStart',
  on_stop: 'onStop',
  run_time: 'runTime',
  spawn_rate: 'spawnRate',
  vus: 'users',
  duration: 'runTime',
  thresholds: 'expect'
}

/**
 * Refuses a field `part` does not have: a mistyped or foreign name (`waitTime`, Locust's
 * `wait_time`) would otherwise be ignored silently, and a user meant to think between tasks
 * would send as fast as the server answers.
 */
function checkFields (value: object, part: keyof typeof FIELDS, where: string): void {
  const known: readonly string[] = FIELDS[part]
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue
    const meant = ALSO_CALLED[key] !== undefined && known.includes(ALSO_CALLED[key]) ? ALSO_CALLED[key] : nearestWord(key, known)
    throw new ScenarioError(`${where}: unknown field ${JSON.stringify(key)} (in ${/^[aeio]/.test(part) ? 'an' : 'a'} ${part})${meant ? `: did you mean ${JSON.stringify(meant)}?` : ''}; the fields are ${known.join(', ')}`)
  }
}

export function validateScenario (value: unknown, file = 'scenario'): ScenarioPlan {
  const fail = (field: string, expected: string, got?: unknown): never => {
    const shown = got === undefined ? '' : `, got ${typeof got === 'string' ? JSON.stringify(got) : typeof got === 'function' ? 'a function' : JSON.stringify(got) ?? String(got)}`
    throw new ScenarioError(`${file}: ${field} ${expected}${shown}`)
  }
  if (!isObject(value)) fail('default export', 'must be defineScenario({...})', value)
  const def = value as unknown as ScenarioDef
  if (!(def as Scenario)[SCENARIO_MARK] && !isObject(def.users)) {
    fail('default export', 'must be defineScenario({ name, users: {...} }) (no users found)')
  }
  checkFields(def, 'scenario', file)
  if (typeof def.name !== 'string' || def.name.trim() === '') fail('name', 'must be a non-empty string', def.name)
  if (def.host !== undefined) checkUrl(def.host, `${file}: host`)
  if (!isObject(def.users) || Object.keys(def.users).length === 0) {
    fail('users', 'must name at least one user class: users: { MyUser: { tasks: {...} } }', def.users)
  }
  const classes: UserClassPlan[] = []
  for (const [className, cls] of Object.entries(def.users)) {
    const where = `users.${className}`
    if (!isObject(cls)) fail(where, 'must be an object with tasks', cls)
    checkFields(cls, 'user class', `${file}: ${where}`)
    const weight = cls.weight ?? 1
    if (!positiveInt(weight)) fail(`${where}.weight`, 'must be a positive integer', weight)
    const wait = cls.wait ?? constant(0)
    if (!isObject(wait) || typeof (wait as WaitTime).next !== 'function') {
      fail(`${where}.wait`, 'must be between(a, b), constant(s), constantPacing(s) or constantThroughput(n)', wait)
    }
    for (const hook of ['onStart', 'onStop', 'state'] as const) {
      if (cls[hook] !== undefined && typeof cls[hook] !== 'function') fail(`${where}.${hook}`, 'must be a function', cls[hook])
    }
    if (cls.headers !== undefined && !isObject(cls.headers)) fail(`${where}.headers`, 'must be an object of header names to values', cls.headers)
    if (!isObject(cls.tasks) || Object.keys(cls.tasks).length === 0) {
      fail(`${where}.tasks`, 'must name at least one task: tasks: { browse: async (u) => {...} }', cls.tasks)
    }
    const tasks: TaskPlan[] = []
    for (const [taskName, t] of Object.entries(cls.tasks)) {
      const tw = `${where}.tasks.${taskName}`
      if (typeof t === 'function') {
        tasks.push({ name: taskName, key: `${className}.${taskName}`, weight: 1, run: t })
        continue
      }
      if (!isObject(t)) fail(tw, 'must be a function or { weight, run }', t)
      checkFields(t, 'task', `${file}: ${tw}`)
      const w = t.weight ?? 1
      if (!positiveInt(w)) fail(`${tw}.weight`, 'must be a positive integer (use a larger weight for the other tasks instead of 0)', w)
      if (typeof t.run !== 'function') fail(`${tw}.run`, 'must be a function', t.run)
      tasks.push({ name: taskName, key: `${className}.${taskName}`, weight: w as number, run: t.run as TaskFn<any> })
    }
    const cumulative: number[] = []
    let total = 0
    for (const t of tasks) { total += t.weight; cumulative.push(total) }
    classes.push({
      name: className,
      weight: weight as number,
      wait: wait as WaitTime,
      state: cls.state,
      headers: { ...(cls.headers ?? {}) },
      onStart: cls.onStart,
      onStop: cls.onStop,
      tasks,
      cumulative,
      totalWeight: total
    })
  }
  const profiles = def.profiles ?? {}
  if (!isObject(profiles)) fail('profiles', 'must be an object of profile names to profiles', profiles)
  for (const [name, p] of Object.entries(profiles)) validateProfile(p, `${file}: profiles.${name}`)
  if (def.defaultProfile !== undefined && !(def.defaultProfile in profiles)) {
    fail('defaultProfile', `must name one of the profiles (${Object.keys(profiles).join(', ') || 'none defined'})`, def.defaultProfile)
  }
  const requestTimeoutMs = def.requestTimeout === undefined ? LOAD_DEFAULTS.requestTimeoutS * 1000 : parseDuration(def.requestTimeout, `${file}: requestTimeout`) * 1000
  if (requestTimeoutMs <= 0) fail('requestTimeout', 'must be more than 0')
  const costs = def.costs ?? {}
  if (!isObject(costs)) fail('costs', 'must be an object of request or flow names to unit costs', costs)
  for (const [k, v] of Object.entries(costs)) {
    if (typeof v !== 'number' || !(v >= 0)) fail(`costs.${k}`, 'must be a number >= 0', v)
  }
  if (def.allowedHosts !== undefined && (!Array.isArray(def.allowedHosts) || def.allowedHosts.some(h => typeof h !== 'string'))) {
    fail('allowedHosts', 'must be a list of host names', def.allowedHosts)
  }
  return {
    name: def.name,
    file: file === 'scenario' ? undefined : file,
    description: def.description,
    host: def.host,
    allowedHosts: def.allowedHosts ?? [],
    classes,
    profiles,
    defaultProfile: def.defaultProfile,
    requestTimeoutMs,
    costs: costs as Record<string, number>,
    currency: def.currency ?? 'USD',
    source: def
  }
}

export function checkUrl (value: unknown, where: string): URL {
  let url: URL
  try {
    url = new URL(String(value))
  } catch {
    throw new ScenarioError(`${where}: expected a URL like http://127.0.0.1:8080, got ${JSON.stringify(value)}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ScenarioError(`${where}: expected an http:// or https:// URL, got ${JSON.stringify(value)}`)
  }
  return url
}

function checkLimits (limits: unknown, where: string, part: 'expect block' | 'set of limits' = 'set of limits'): void {
  if (!isObject(limits)) throw new ScenarioError(`${where}: expected an object of limits`)
  checkFields(limits, part, where)
  for (const [k, v] of Object.entries(limits as LatencyLimits)) {
    if (k === 'failureRatio') {
      if (typeof v !== 'number' || v < 0 || v > 1) throw new ScenarioError(`${where}.failureRatio: expected a ratio between 0 and 1 (0.01 = 1%), got ${JSON.stringify(v)}`)
    } else if (['p50', 'p90', 'p95', 'p99'].includes(k)) {
      if (typeof v !== 'number' || !(v > 0)) throw new ScenarioError(`${where}.${k}: expected a limit in milliseconds > 0, got ${JSON.stringify(v)}`)
    }
  }
}

function validateProfile (p: unknown, where: string): void {
  if (!isObject(p)) throw new ScenarioError(`${where}: expected an object`)
  const prof = p as ProfileDef
  checkFields(prof, 'profile', where)
  if (prof.users !== undefined && !(Number.isInteger(prof.users) && prof.users >= 0)) throw new ScenarioError(`${where}.users: expected a whole number of users, got ${JSON.stringify(prof.users)}`)
  if (prof.spawnRate !== undefined && !(typeof prof.spawnRate === 'number' && prof.spawnRate > 0)) throw new ScenarioError(`${where}.spawnRate: expected users per second > 0, got ${JSON.stringify(prof.spawnRate)}`)
  if (prof.runTime !== undefined) parseDuration(prof.runTime, `${where}.runTime`)
  if (prof.stopTimeout !== undefined) parseDuration(prof.stopTimeout, `${where}.stopTimeout`)
  if (prof.stages !== undefined) {
    if (!Array.isArray(prof.stages) || prof.stages.length === 0) throw new ScenarioError(`${where}.stages: expected a list of { duration, users }`)
    prof.stages.forEach((s, i) => {
      if (!isObject(s)) throw new ScenarioError(`${where}.stages[${i}]: expected { duration, users }`)
      checkFields(s, 'stage', `${where}.stages[${i}]`)
      parseDuration(s.duration, `${where}.stages[${i}].duration`)
      if (!(Number.isInteger(s.users) && s.users >= 0)) throw new ScenarioError(`${where}.stages[${i}].users: expected a whole number of users, got ${JSON.stringify(s.users)}`)
      if (s.spawnRate !== undefined && !(s.spawnRate > 0)) throw new ScenarioError(`${where}.stages[${i}].spawnRate: expected users per second > 0, got ${JSON.stringify(s.spawnRate)}`)
    })
  }
  if (prof.arrivalRate !== undefined) {
    const a = typeof prof.arrivalRate === 'number' ? { rate: prof.arrivalRate } : prof.arrivalRate
    if (!isObject(a) || typeof a.rate !== 'number' || a.rate < 0) throw new ScenarioError(`${where}.arrivalRate: expected iterations per second >= 0 or { rate, maxVUs, stages }`)
    checkFields(a, 'arrival rate', `${where}.arrivalRate`)
    if (a.timeUnit !== undefined && !(parseDuration(a.timeUnit, `${where}.arrivalRate.timeUnit`) > 0)) throw new ScenarioError(`${where}.arrivalRate.timeUnit: expected a duration > 0`)
    for (const k of ['preAllocatedVUs', 'maxVUs'] as const) {
      if (a[k] !== undefined && !(Number.isInteger(a[k]) && (a[k] as number) > 0)) throw new ScenarioError(`${where}.arrivalRate.${k}: expected a positive whole number, got ${JSON.stringify(a[k])}`)
    }
    if (a.stages !== undefined && !Array.isArray(a.stages)) throw new ScenarioError(`${where}.arrivalRate.stages: expected a list of { duration, target }`)
    a.stages?.forEach((s, i) => {
      if (!isObject(s)) throw new ScenarioError(`${where}.arrivalRate.stages[${i}]: expected { duration, target }`)
      checkFields(s, 'arrival-rate stage', `${where}.arrivalRate.stages[${i}]`)
      parseDuration(s.duration, `${where}.arrivalRate.stages[${i}].duration`)
      if (!(typeof s.target === 'number' && s.target >= 0)) throw new ScenarioError(`${where}.arrivalRate.stages[${i}].target: expected a rate >= 0, got ${JSON.stringify(s.target)}`)
    })
  }
  if (prof.expect !== undefined) {
    checkLimits(prof.expect, `${where}.expect`, 'expect block')
    const e = prof.expect as Expectations
    if (e.byName !== undefined) {
      if (!isObject(e.byName)) throw new ScenarioError(`${where}.expect.byName: expected an object of request names to limits`)
      for (const [n, l] of Object.entries(e.byName)) checkLimits(l, `${where}.expect.byName[${JSON.stringify(n)}]`)
    }
    if (e.dbConnectionsMax !== undefined && !(Number.isInteger(e.dbConnectionsMax) && e.dbConnectionsMax > 0)) throw new ScenarioError(`${where}.expect.dbConnectionsMax: expected a positive whole number`)
    if (e.cacheHitRateMin !== undefined && !(e.cacheHitRateMin >= 0 && e.cacheHitRateMin <= 1)) throw new ScenarioError(`${where}.expect.cacheHitRateMin: expected a ratio between 0 and 1 (0.85 = 85%)`)
  }
}
