/**
 * LoadSettings: every setting that shapes the load, in one serialisable object with its
 * defaults and its validation. The CLI's load flags are generated from LOAD_SETTINGS
 * (cli/flags.ts); the object passes unchanged from the CLI (or a library call) through
 * runTest and startLoad to each load thread's Engine.
 *
 * Adding a load setting: a field of LoadSettings and a row of LOAD_SETTINGS here, a case in
 * test/settings.test.ts, a line in the README; the stage that acts on it reads it from the
 * settings it already receives.
 */
import { availableParallelism } from 'node:os'
import { SettingError } from './errors.js'
import { parseDuration } from './duration.js'
import type { Duration } from './duration.js'
import type { Expectations } from './types.js'

/** The HTTP clients a run can use for http:// (https:// always uses undici). */
export type HttpClientKind = 'loadlens' | 'undici'
export const HTTP_CLIENTS: readonly HttpClientKind[] = ['loadlens', 'undici']

export interface LoadSettings {
  /** a profile of the scenario (users, spawn rate, run time, expectations) */
  profile?: string
  /** peak concurrent users (closed model) */
  users?: number
  /** users started per second */
  spawnRate?: number
  runTime?: Duration
  /** pass criteria on top of the profile's: "p95=500,p99=1000,failures=1%" (see scenarios/expect.ts), or parsed */
  expect?: string | Expectations
  /** "30s:10,1m:10,30s:0" (closed: users; with arrivalRate: rates); "duration:target@spawnRate" */
  stages?: string
  /** open model: iterations started per second */
  arrivalRate?: number
  maxVUs?: number
  preAllocatedVUs?: number
  /** how long requests in flight may finish at the end */
  stopTimeout?: Duration
  /** per-request timeout (default: the scenario's, else 30 s) */
  requestTimeout?: Duration
  /** load threads; 0 runs the load in the main thread */
  workers?: number
  maxRequests?: number
  maxCost?: number
  /** distinct request names kept as rows of their own; later ones share an "(other)" row per method */
  maxNames?: number
  /** accept any TLS certificate */
  insecure?: boolean
  /** 'undici': undici for http:// too (default: loadlens's own connection) */
  httpClient?: HttpClientKind
}

/** The defaults the stages apply where a setting (and the scenario) leaves one open. */
export const LOAD_DEFAULTS: Readonly<{ stopTimeoutS: number; requestTimeoutS: number; workers: number; maxNames: number; httpClient: HttpClientKind }> = {
  stopTimeoutS: 10,
  requestTimeoutS: 30,
  workers: 1,
  maxNames: 1000,
  httpClient: 'loadlens'
}

/** What kind of value a setting takes: how its flag's text is read and how a value is checked. */
type SettingKind =
  /** text; `parsed`: a library call may give the parsed object instead (--expect) */
  | { type: 'text'; parsed?: boolean }
  | { type: 'flag' }
  | { type: 'duration'; positive?: boolean }
  /** a number; `min` is the smallest allowed (inclusive) or `above` the bound it must exceed */
  | { type: 'number'; integer?: boolean; min?: number; above?: number; what: string }
  | { type: 'choice'; choices: readonly string[] }

export interface SettingSpec {
  key: keyof LoadSettings
  /** the flag, e.g. --users; its value placeholder, e.g. <n> (none for a switch) */
  flag: string
  short?: string
  value?: string
  help: string
  kind: SettingKind
  /** a word the flag also takes and the value it stands for (--workers auto) */
  word?: { text: string; value: () => number }
}

export const LOAD_SETTINGS: readonly SettingSpec[] = [
  { key: 'profile', flag: '--profile', value: '<name>', help: 'a profile of the scenario (users, spawn rate, run time, expectations)', kind: { type: 'text' } },
  { key: 'users', flag: '--users', short: '-u', value: '<n>', help: 'peak number of concurrent users (closed model)', kind: { type: 'number', integer: true, above: 0, what: 'a number of users' } },
  { key: 'spawnRate', flag: '--spawn-rate', short: '-r', value: '<n>', help: 'users started per second', kind: { type: 'number', above: 0, what: 'users per second' } },
  { key: 'runTime', flag: '--run-time', short: '-t', value: '<duration>', help: 'stop after this long, e.g. 30s, 2m, 1h30m', kind: { type: 'duration' } },
  { key: 'expect', flag: '--expect', value: '<limits>', help: 'pass criteria on top of the profile\'s, k6-threshold style: "p95=500,p99=1000,failures=1%" (also db-connections-max, cache-hit-rate-min, no-memory-leak, NAME:p95=...)', kind: { type: 'text', parsed: true } },
  { key: 'stages', flag: '--stages', value: '<list>', help: 'load shape "30s:10,1m:10,30s:0" (users, or rates with --arrival-rate; target@rate for a spawn rate)', kind: { type: 'text' } },
  { key: 'arrivalRate', flag: '--arrival-rate', value: '<n>', help: 'open model: iterations started per second', kind: { type: 'number', above: 0, what: 'iterations per second' } },
  { key: 'maxVUs', flag: '--max-vus', value: '<n>', help: 'open model: most virtual users (iterations beyond are dropped)', kind: { type: 'number', integer: true, above: 0, what: 'a number of virtual users' } },
  { key: 'preAllocatedVUs', flag: '--pre-allocated-vus', value: '<n>', help: 'open model: virtual users made before the start', kind: { type: 'number', integer: true, min: 0, what: 'a number of virtual users' } },
  { key: 'stopTimeout', flag: '--stop-timeout', value: '<duration>', help: `how long in-flight requests may finish at the end (default ${LOAD_DEFAULTS.stopTimeoutS}s)`, kind: { type: 'duration' } },
  { key: 'requestTimeout', flag: '--request-timeout', value: '<duration>', help: `per-request timeout (default: the scenario's, else ${LOAD_DEFAULTS.requestTimeoutS}s)`, kind: { type: 'duration', positive: true } },
  {
    key: 'workers',
    flag: '--workers',
    value: '<n|auto>',
    help: `load threads (default ${LOAD_DEFAULTS.workers}; auto: one per CPU; 0: the load in the main thread). More than 1 helps only when the generator's CPU is the limit and each thread has a core of its own`,
    kind: { type: 'number', integer: true, min: 0, what: 'a number of worker threads or "auto"' },
    word: { text: 'auto', value: () => autoWorkers() }
  },
  { key: 'maxRequests', flag: '--max-requests', value: '<n>', help: 'stop cleanly after this many requests', kind: { type: 'number', integer: true, min: 1, what: 'a number of requests' } },
  { key: 'maxCost', flag: '--max-cost', value: '<amount>', help: "stop cleanly when the scenario's cost model reaches this", kind: { type: 'number', above: 0, what: 'an amount' } },
  { key: 'maxNames', flag: '--max-names', value: '<n>', help: `distinct request names kept as rows of their own (default ${LOAD_DEFAULTS.maxNames}); later ones share an "(other)" row per method, with a warning`, kind: { type: 'number', integer: true, min: 1, what: 'a number of request names' } },
  { key: 'insecure', flag: '--insecure', help: 'accept any TLS certificate', kind: { type: 'flag' } },
  { key: 'httpClient', flag: '--http-client', value: '<loadlens|undici>', help: "http:// through loadlens's own HTTP/1.1 connection (default, the faster) or through undici (https:// always uses undici)", kind: { type: 'choice', choices: HTTP_CLIENTS } }
]

function autoWorkers (): number {
  return Math.max(1, availableParallelism())
}

/**
 * A flag's text as its setting's value. Only the form is checked here (a number, a duration,
 * one of the choices); whether the value is allowed (users > 0) is checkLoadSettings's, so a
 * library call and the CLI get the same message. Throws an Error whose message says what was
 * expected (the CLI reports it against the flag).
 */
export function parseSettingText (spec: SettingSpec, text: string): unknown {
  const k = spec.kind
  if (spec.word && text === spec.word.text) return spec.word.value()
  switch (k.type) {
    case 'text': return text
    case 'flag': return true
    case 'duration':
      try {
        parseDuration(text, spec.flag)
      } catch {
        throw new Error(`expected a duration like 30s, 2m, 1h30m, got "${text}"`)
      }
      return text
    case 'choice':
      if (!k.choices.includes(text)) throw new Error(`expected ${k.choices.join(' or ')}, got "${text}"`)
      return text
    case 'number': {
      const n = Number(text)
      if (k.integer) {
        if (!/^\d+$/.test(text.trim())) throw new Error(`expected ${k.what} (a whole number), got "${text}"`)
      } else if (text.trim() === '' || !Number.isFinite(n) || n < 0) {
        throw new Error(`expected ${k.what} (a number >= 0), got "${text}"`)
      }
      return n
    }
  }
}

/** One setting's value checked: a UsageError naming its flag and what was expected. */
function checkSetting (spec: SettingSpec, value: unknown): void {
  const k = spec.kind
  const bad = (expected: string): never => { throw new SettingError(`${spec.flag}: expected ${expected}, got ${typeof value === 'string' ? `"${value}"` : String(value)}`) }
  switch (k.type) {
    case 'text':
      if (k.parsed && typeof value === 'object' && value !== null) return
      if (typeof value !== 'string') bad('text')
      return
    case 'flag':
      if (typeof value !== 'boolean') bad('true or false')
      return
    case 'duration': {
      if (typeof value !== 'number' && typeof value !== 'string') bad('a duration like 30s, 2m, 1h30m')
      const s = parseDuration(value as Duration, spec.flag)
      if (k.positive && !(s > 0)) bad('a duration > 0')
      return
    }
    case 'choice':
      if (typeof value !== 'string' || !k.choices.includes(value)) bad(k.choices.join(' or '))
      return
    case 'number': {
      const n = value as number
      const whole = k.integer ? 'a whole number' : 'a number'
      if (typeof n !== 'number' || !Number.isFinite(n) || (k.integer && !Number.isInteger(n))) bad(whole)
      if (k.min !== undefined && n < k.min) bad(`${whole} >= ${k.min}${spec.word ? ` or "${spec.word.text}"` : ''}`)
      if (k.above !== undefined && !(n > k.above)) bad(`${whole} > ${k.above}`)
    }
  }
}

/** The settings checked (each against its row: type, range, choices); unknown keys are left to the caller. */
export function checkLoadSettings<T extends LoadSettings> (settings: T): T {
  for (const spec of LOAD_SETTINGS) {
    const value = settings[spec.key]
    if (value !== undefined) checkSetting(spec, value)
  }
  return settings
}

/** Just the load settings of a larger object (run options, parsed flags), as a plain serialisable object. */
export function pickLoadSettings (from: object): LoadSettings {
  const src = from as Record<string, unknown>
  const out: Record<string, unknown> = {}
  for (const spec of LOAD_SETTINGS) if (src[spec.key] !== undefined) out[spec.key] = src[spec.key]
  return out as LoadSettings
}
