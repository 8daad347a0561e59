/**
 * A virtual user: the `u` a task receives. In the closed model it loops (pick a task by
 * weight, run it, wait); in the open model an executor hands it one iteration at a time.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import { ScenarioMistake, StopSignal, isStopSignal } from '../shared/errors.js'
import type { TestData, UserContext } from '../scenarios/define.js'
import type { TaskPlan, UserClassPlan } from '../scenarios/validate.js'
import { InflightList, UserHttp } from './http.js'
import type { HttpRuntime, RequestOwner } from './http.js'

export interface UserRuntime extends HttpRuntime {
  /** a number that differs between runs, for unique test data */
  readonly runSeed: number
  /** counts a finished task run, by "UserClass.task" (for weights and the cost model) */
  countTask (key: string): void
  /** a mistake in the scenario (an unknown request option): the run stops at once with it */
  fatal? (err: Error): void
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789'

class Data implements TestData {
  private counter = 0
  constructor (private readonly seed: number, private readonly serial: number) {}

  uniqueInt (): number {
    // run (1e5) x user (1e7) x counter (1e3) stays below Number.MAX_SAFE_INTEGER
    return (this.seed % 100_000) * 1e10 + (this.serial % 10_000_000) * 1e3 + (this.counter++ % 1000)
  }

  uniqueId (prefix = 'id'): string {
    return `${prefix}-${this.seed.toString(36)}-${this.serial}-${this.counter++}`
  }

  pick<T> (items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick(): the list is empty')
    return items[Math.floor(Math.random() * items.length)]!
  }

  randomInt (min: number, max: number): number {
    return min + Math.floor(Math.random() * (max - min + 1))
  }

  randomString (length: number): string {
    let s = ''
    for (let i = 0; i < length; i++) s += ALNUM[Math.floor(Math.random() * ALNUM.length)]
    return s
  }

  uuid (): string {
    // Web Crypto loads node:crypto on first use, not at every load thread's start
    return globalThis.crypto.randomUUID()
  }
}

export class VirtualUser implements UserContext<any>, RequestOwner {
  readonly userClass: string
  readonly host: string
  readonly http: UserHttp
  readonly data: TestData
  state: any
  readonly inflight = new InflightList()
  private stopFlag = false
  private hard = false
  private inOnStop = false
  private intendedStart: number | undefined
  private wake: (() => void) | null = null
  private started = false
  /** requests this user has sent (counted when each starts) */
  private requestsSent = 0

  constructor (
    private readonly runtime: UserRuntime,
    readonly cls: UserClassPlan,
    readonly id: number,
    serial: number
  ) {
    this.userClass = cls.name
    this.host = runtime.base.href.replace(/\/$/, '')
    this.data = new Data(runtime.runSeed, serial)
    this.http = new UserHttp(runtime, this, cls.headers)
    this.state = cls.state ? cls.state() : {}
  }

  get stopping (): boolean {
    return this.stopFlag
  }

  mayRequest (): boolean {
    return !this.hard && (!this.stopFlag || this.inOnStop)
  }

  takeIntendedStart (): number | undefined {
    this.requestsSent++
    const t = this.intendedStart
    this.intendedStart = undefined
    return t
  }

  /** asks the user to stop after the current request; wakes it if it is waiting */
  stop (): void {
    this.stopFlag = true
    const w = this.wake
    this.wake = null
    w?.()
  }

  /** aborts the user's requests in flight (the stop timeout ran out); returns how many */
  hardStop (): number {
    this.hard = true
    this.stop()
    const n = this.inflight.size
    for (const r of this.inflight.list()) r.abort()
    void this.http.close(true)
    return n
  }

  sleep (seconds: number): Promise<void> {
    if (this.stopFlag && !this.inOnStop) return Promise.reject(new StopSignal())
    if (!(seconds > 0)) return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { this.wake = null; resolve() }, seconds * 1000)
      this.wake = () => { clearTimeout(timer); reject(new StopSignal()) }
    })
  }

  async measure<T> (name: string, fn: () => Promise<T> | T): Promise<T> {
    const t0 = performance.now()
    let result: T
    try {
      result = await fn()
    } catch (err) {
      if (!isStopSignal(err)) {
        const message = err instanceof Error ? err.message : String(err)
        this.runtime.recorder.record('FLOW', name, (performance.now() - t0) * 1000, 0, { kind: 'other', message: `flow failed: ${message.slice(0, 200)}` })
      }
      throw err
    }
    const failed = (result as unknown) === false ? { kind: 'check' as const, message: 'flow returned false' } : undefined
    this.runtime.recorder.record('FLOW', name, (performance.now() - t0) * 1000, 0, failed)
    return result
  }

  private pickTask (): TaskPlan {
    const cls = this.cls
    if (cls.tasks.length === 1) return cls.tasks[0]!
    const r = Math.random() * cls.totalWeight
    const cum = cls.cumulative
    let i = 0
    while (cum[i]! <= r) i++
    return cls.tasks[i]!
  }

  /** Runs a hook or task; exceptions other than the stop signal are recorded. Returns false on a throw. */
  private async guarded (label: string, fn: (u: UserContext<any>) => unknown): Promise<boolean> {
    try {
      await fn(this)
      return true
    } catch (err) {
      if (isStopSignal(err) || this.hard) return false
      if (err instanceof ScenarioMistake) { this.runtime.fatal?.(err); return false }
      this.runtime.recorder.recordException(this.userClass, label, err)
      return false
    }
  }

  private async start (): Promise<void> {
    if (this.started) return
    const onStart = this.cls.onStart
    // a user that cannot start (e.g. registration fails) retries once a second until it can
    while (onStart && !this.stopFlag) {
      if (await this.guarded('onStart', onStart)) break
      if (this.stopFlag) return
      await this.sleep(1).catch(() => {})
    }
    this.started = true
  }

  private async finish (): Promise<void> {
    if (this.started && this.cls.onStop && !this.hard) {
      this.inOnStop = true
      await this.guarded('onStop', this.cls.onStop)
      this.inOnStop = false
    }
    await this.http.close(this.hard)
  }

  /** The closed-model loop: until stopped, run a task chosen by weight, then wait. */
  async run (): Promise<void> {
    try {
      await this.start()
      const wait = this.cls.wait
      // only the pacing wait times depend on how long the task took
      const timed = wait.kind !== 'constant' && wait.kind !== 'between'
      while (!this.stopFlag) {
        const task = this.pickTask()
        const t0 = timed ? performance.now() : 0
        const sent = this.requestsSent
        // guarded(), inlined: one promise less per task on the hot path
        try {
          await task.run(this)
        } catch (err) {
          if (err instanceof ScenarioMistake) this.runtime.fatal?.(err)
          else if (!isStopSignal(err) && !this.hard) this.runtime.recorder.recordException(this.userClass, task.name, err)
        }
        this.runtime.countTask(task.key)
        if (this.stopFlag) break
        const w = wait.next(timed ? (performance.now() - t0) / 1000 : 0)
        if (w > 0) await this.sleep(w).catch(() => {})
        // a task that made no request may not have given the event loop a turn: timers
        // (the run's end, the one-second slices) must not starve
        else if (this.requestsSent === sent) await yieldToLoop()
      }
    } finally {
      await this.finish()
    }
  }

  /** Open model: prepares the user (onStart) before its first iteration. */
  async prepare (): Promise<void> {
    await this.start()
  }

  /** Open model: one iteration, its first request timed from `intended` (ms, performance clock). */
  async iterate (intended: number): Promise<void> {
    const task = this.pickTask()
    this.intendedStart = intended
    await this.guarded(task.name, task.run)
    this.intendedStart = undefined
    this.runtime.countTask(task.key)
  }

  async retire (): Promise<void> {
    this.stop()
    await this.finish()
  }
}
