/**
 * The scenario format: what a user writes in a scenario file.
 *
 *   import { defineScenario, defineUser, between } from 'loadlens'
 *   export default defineScenario({
 *     name: 'shop',
 *     users: { Browser: defineUser({ weight: 3, wait: between(1, 2), tasks: { ... } }) },
 *     profiles: { smoke: { users: 10, spawnRate: 2, runTime: '1m', expect: { p95: 500 } } }
 *   })
 *
 * defineScenario and defineUser only return their argument (typed); validateScenario checks
 * everything a scenario file can get wrong and names the field that is wrong.
 */
import type { Duration } from '../shared/duration.js'
import type { Expectations } from '../shared/types.js'

// ---------------------------------------------------------------------------------------
// Wait time between tasks (Locust's wait_time functions)

export interface WaitTime {
  readonly kind: 'between' | 'constant' | 'constantPacing' | 'constantThroughput'
  /** "between(1, 2)" */
  readonly label: string
  /** seconds to wait after a task that took `taskSeconds` */
  next (taskSeconds: number): number
}

function checkSeconds (fn: string, name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`${fn}(): ${name} must be a number of seconds >= 0, got ${String(value)}`)
  }
}

/** wait a random time between min and max seconds after each task */
export function between (min: number, max: number): WaitTime {
  checkSeconds('between', 'min', min)
  checkSeconds('between', 'max', max)
  if (max < min) throw new TypeError(`between(): max (${max}) is smaller than min (${min})`)
  return { kind: 'between', label: `between(${min}, ${max})`, next: () => min + Math.random() * (max - min) }
}

/** wait the same time after each task */
export function constant (seconds: number): WaitTime {
  checkSeconds('constant', 'seconds', seconds)
  return { kind: 'constant', label: `constant(${seconds})`, next: () => seconds }
}

/** start a task every `seconds` at most: the wait is what is left of the period */
export function constantPacing (seconds: number): WaitTime {
  checkSeconds('constantPacing', 'seconds', seconds)
  return { kind: 'constantPacing', label: `constantPacing(${seconds})`, next: (taskSeconds) => Math.max(0, seconds - taskSeconds) }
}

/** run at most `tasksPerSecond` tasks per second per user */
export function constantThroughput (tasksPerSecond: number): WaitTime {
  checkSeconds('constantThroughput', 'tasksPerSecond', tasksPerSecond)
  if (tasksPerSecond === 0) throw new TypeError('constantThroughput(): tasksPerSecond must be more than 0')
  const period = 1 / tasksPerSecond
  return { kind: 'constantThroughput', label: `constantThroughput(${tasksPerSecond})`, next: (taskSeconds) => Math.max(0, period - taskSeconds) }
}

// ---------------------------------------------------------------------------------------
// HTTP client seen by a task

/** A file field of a multipart/form-data body. */
export interface FormFile {
  readonly kind: 'file'
  data: Uint8Array
  filename: string
  contentType: string
}

export function file (data: Uint8Array | string, filename: string, contentType = 'application/octet-stream'): FormFile {
  return { kind: 'file', data: typeof data === 'string' ? Buffer.from(data) : data, filename, contentType }
}

export type FormValue = string | number | boolean | FormFile

/** false or a message marks the request failed; true or nothing passes it */
export type Check = (res: HttpResponse) => boolean | string | void | undefined

export interface RequestOptions {
  /** the row the request is counted under, e.g. "/users/[id]/stats" (default: the path) */
  name?: string
  headers?: Record<string, string>
  query?: Record<string, string | number | boolean>
  /** a JSON body (sets content-type) */
  json?: unknown
  /** a multipart/form-data body; use file() for files */
  form?: Record<string, FormValue>
  /** a raw body */
  body?: string | Uint8Array
  /** per-request timeout (default: the run's --request-timeout) */
  timeout?: Duration
  /** statuses that count as success (default: anything below 400) */
  expect?: number | number[]
  /** a response check; failing it marks the request failed */
  check?: Check
  /** follow redirects (default true, up to 10) */
  followRedirects?: boolean
}

export interface HttpResponse {
  /** 0 when no response arrived */
  readonly status: number
  /** the request counted as a success */
  readonly ok: boolean
  readonly durationMs: number
  /** why it failed, when it did */
  readonly failure?: string
  /** transport error (timeout, refused...), when there was no response */
  readonly error?: { kind: string; message: string }
  readonly body: Buffer
  header (name: string): string | undefined
  headers (): Record<string, string>
  text (): string
  /** parses the body as JSON (throws if it is not) */
  json<T = any> (): T
}

export interface HttpClient {
  /** default headers sent with every request of this user */
  readonly headers: Record<string, string>
  get (path: string, options?: RequestOptions): Promise<HttpResponse>
  delete (path: string, options?: RequestOptions): Promise<HttpResponse>
  head (path: string, options?: RequestOptions): Promise<HttpResponse>
  post (path: string, options?: RequestOptions): Promise<HttpResponse>
  put (path: string, options?: RequestOptions): Promise<HttpResponse>
  patch (path: string, options?: RequestOptions): Promise<HttpResponse>
  request (method: string, path: string, options?: RequestOptions): Promise<HttpResponse>
}

// ---------------------------------------------------------------------------------------
// The virtual user's context

export interface TestData {
  /** an integer unique within the run for each user's first 1,000 numbers (and, in practice,
   *  across runs); beyond that they repeat: uniqueId() never does */
  uniqueInt (): number
  /** a string unique within the run: `${prefix}-<run>-<user>-<n>` */
  uniqueId (prefix?: string): string
  /** an element chosen at random */
  pick<T> (items: readonly T[]): T
  /** an integer in [min, max] */
  randomInt (min: number, max: number): number
  /** random letters and digits */
  randomString (length: number): string
  uuid (): string
}

export interface UserContext<S = Record<string, unknown>> {
  /** global index of this user in the run, from 0 */
  readonly id: number
  readonly userClass: string
  /** the run's base URL */
  readonly host: string
  readonly http: HttpClient
  readonly data: TestData
  /** this user's own state, made by the class's `state()` */
  state: S
  /** true once the user or the run is stopping */
  readonly stopping: boolean
  /** waits; ends early (throwing a stop signal) when the run stops */
  sleep (seconds: number): Promise<void>
  /** runs `fn` and records its duration as a row of its own (type FLOW); a throw or
   *  `false` marks it failed */
  measure<T> (name: string, fn: () => Promise<T> | T): Promise<T>
  /** stops this user after the current task */
  stop (): void
}

export type TaskFn<S> = (u: UserContext<S>) => unknown

export interface TaskDef<S> {
  weight?: number
  run: TaskFn<S>
}

export interface UserClassDef<S = any> {
  /** how often this class is spawned relative to the others (default 1) */
  weight?: number
  /** wait after each task (default: no wait) */
  wait?: WaitTime
  /** makes the user's initial state */
  state?: () => S
  /** headers every request of this user carries */
  headers?: Record<string, string>
  onStart?: (u: UserContext<NoInfer<S>>) => unknown
  onStop?: (u: UserContext<NoInfer<S>>) => unknown
  /** task name -> function (weight 1) or { weight, run } */
  tasks: Record<string, TaskFn<NoInfer<S>> | TaskDef<NoInfer<S>>>
}

/** Open model settings of a profile (k6's constant/ramping-arrival-rate). */
export interface ArrivalRateDef {
  /** iterations per second (per `timeUnit`) to start with, or to hold without stages */
  rate: number
  /** default 1s */
  timeUnit?: Duration
  preAllocatedVUs?: number
  maxVUs?: number
  stages?: Array<{ duration: Duration; target: number }>
}

export interface ProfileDef {
  description?: string
  users?: number
  spawnRate?: number
  runTime?: Duration
  /** closed-model stages; `users` is the target at the end of the stage */
  stages?: Array<{ duration: Duration; users: number; spawnRate?: number }>
  /** an open model instead of users */
  arrivalRate?: number | ArrivalRateDef
  expect?: Expectations
  /** how long in-flight requests may finish at the end (default 10s) */
  stopTimeout?: Duration
  /** checklist items that only warn for this profile (ids, see the README) */
  advisory?: string[]
}

export interface ScenarioDef {
  name: string
  description?: string
  /** the base URL when --host is not given */
  host?: string
  /** hosts besides loopback that may be loaded without --allow-remote */
  allowedHosts?: string[]
  users: Record<string, UserClassDef<any>>
  profiles?: Record<string, ProfileDef>
  /** the profile used when --profile is not given */
  defaultProfile?: string
  /** default request timeout (default 30s) */
  requestTimeout?: Duration
  /** unit cost of a request or flow name (or "TYPE name" key), for the cost report */
  costs?: Record<string, number>
  currency?: string
}

export const SCENARIO_MARK = Symbol.for('loadlens.scenario')

export type Scenario = ScenarioDef & { [SCENARIO_MARK]: true }

export function defineScenario (def: ScenarioDef): Scenario {
  return Object.assign(def, { [SCENARIO_MARK]: true as const })
}

/** Identity helper that infers the user's state type from `state()`. */
export function defineUser<S> (def: UserClassDef<S>): UserClassDef<S> {
  return def
}

/** A task with a weight: `tasks: { browse: task(3, async u => ...) }`. For a typed `u.state`,
 *  write `{ weight: 3, run: async (u) => ... }` instead: it takes the state type of defineUser.  */
export function task<S = any> (weight: number, run: TaskFn<S>): TaskDef<S> {
  return { weight, run }
}
