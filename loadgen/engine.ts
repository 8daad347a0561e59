/**
 * Runs one share of the load in the current thread: the executor, the recorder and the
 * one-second clock that hands a SliceReport to `onSlice` at every epoch-second boundary.
 * The same engine runs in the main thread or in each worker thread.
 */
import { epochNow } from '../shared/clock.js'
import { procCpuUs } from '../shared/proc.js'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import type { EventLoopUtilization } from 'node:perf_hooks'
import type { LoadModel, Share, StopReason } from '../shared/types.js'
import type { ScenarioPlan } from '../scenarios/validate.js'
import { ClosedExecutor } from './closed.js'
import { OpenExecutor } from './open.js'
import type { Executor } from './executor.js'
import { Recorder } from './recorder.js'
import type { SliceReport } from './recorder.js'
import type { UserRuntime } from './user.js'
import { WHOLE } from './share.js'
import type { LoadSettings } from '../shared/settings.js'
import { HostGuard } from '../shared/hosts.js'
import type { HostPolicy } from '../shared/hosts.js'
import { within } from '../shared/wait.js'
import type { Budget } from './budget.js'

export interface EngineOptions {
  plan: ScenarioPlan
  model: LoadModel
  durationS: number
  stopTimeoutS: number
  host: string
  requestTimeoutMs: number
  share?: Share
  runSeed: number
  /** epoch ms to start at (segments that start together) */
  startAt?: number
  /** the run's load settings, as given (insecure, httpClient, maxNames; the budgets maxRequests and maxCost, which hold for all threads together when `budget.shared`) */
  settings?: LoadSettings
  /** where requests may go besides the base origin; default loopback only */
  hostPolicy?: HostPolicy
  budget?: Budget
  onSlice: (report: SliceReport) => void
  onStart?: (startedAt: number) => void
  /** the engine stops itself (budget reached) */
  onSelfStop?: (reason: StopReason, message: string) => void
  /** report this thread's own CPU time per second (worker threads; Linux) */
  threadCpu?: boolean
}

export interface EngineOutcome {
  startedAt: number
  endedAt: number
  abortedAtStop: number
  droppedIterations: number
  peakUsers: number
  costSoFar: number
}

const LOOP_DELAY_RESOLUTION_MS = 1
/** the shortest part of a second whose event-loop figures are reported */
const MIN_HEALTH_WINDOW_MS = 250

/** CPU time (us) of the calling thread so far, from /proc (Linux; 10 ms ticks); undefined elsewhere. */
export function threadCpuUs (): number | undefined {
  return procCpuUs('/proc/thread-self/stat')
}

export { epochNow }

export class Engine {
  readonly recorder: Recorder
  private executor!: Executor
  private sliceTimer: NodeJS.Timeout | null = null
  private endTimer: NodeJS.Timeout | null = null
  private stopRequested: ((hard: boolean) => void) | null = null
  private stopped = false
  /** a mistake in the scenario stopped the run: run() rejects with it */
  private fatalError: Error | null = null
  private dropped = 0
  private cost = 0
  private startedAt = 0
  private elu: EventLoopUtilization = performance.eventLoopUtilization()
  private readonly loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS })

  constructor (private readonly options: EngineOptions) {
    this.recorder = new Recorder(options.settings?.maxNames)
  }

  private runtime (): UserRuntime {
    const o = this.options
    const recorder = this.recorder
    const settings = o.settings ?? {}
    const { maxRequests, maxCost } = settings
    let countTask = (key: string): void => recorder.countTask(key)
    if (maxRequests !== undefined || maxCost !== undefined) {
      const unitCost = o.budget?.unitCost ?? (() => 0)
      const shared = o.budget?.shared
      const spend = (amount: number): void => {
        if (maxCost === undefined || amount === 0) return
        this.cost += amount
        let total = this.cost
        if (shared) {
          shared.cost[shared.slot] = this.cost
          total = 0
          for (let i = 0; i < shared.cost.length; i++) total += shared.cost[i]!
        }
        if (total >= maxCost) this.selfStop('max-cost', `cost budget of ${maxCost} reached`)
      }
      const record = recorder.record.bind(recorder)
      recorder.record = (type, name, us, bytes, failure) => {
        record(type, name, us, bytes, failure)
        spend(unitCost(type, name))
        if (maxRequests === undefined) return
        // FLOW rows are not requests
        const made = !shared ? recorder.totalRequests : type === 'FLOW' ? Atomics.load(shared.requests, 0) : Atomics.add(shared.requests, 0, 1) + 1
        if (made >= maxRequests) this.selfStop('max-requests', `request budget of ${maxRequests} reached`)
      }
      countTask = (key) => {
        recorder.countTask(key)
        spend(unitCost('TASK', key))
      }
    }
    const base = new URL(o.host)
    const guard = new HostGuard(o.hostPolicy ?? { allowedHosts: [], allowRemote: false })
    // the base origin was checked when the run was prepared
    guard.allow(base.origin)
    return {
      fatal: (err: Error) => {
        if (this.fatalError) return
        this.fatalError = err
        this.stop(true)
      },
      recorder,
      base,
      guard,
      timeoutMs: o.requestTimeoutMs,
      insecure: settings.insecure,
      httpClient: settings.httpClient,
      runSeed: o.runSeed,
      countTask
    }
  }

  private selfStop (reason: StopReason, message: string): void {
    if (this.stopped) return
    this.options.onSelfStop?.(reason, message)
    this.stop()
  }

  /** Asks the load to stop; `hard` aborts requests in flight at once. */
  stop (hard = false): void {
    this.stopped = true
    this.stopRequested?.(hard)
  }

  setUsers (users: number, spawnRate: number): boolean {
    if (!this.executor?.setUsers) return false
    this.executor.setUsers(users, spawnRate)
    return true
  }

  users (): number {
    return this.executor ? this.executor.active() : 0
  }

  private scheduleSlice (): void {
    const now = epochNow()
    const next = Math.floor(now / 1000) * 1000 + 1000
    this.sliceTimer = setTimeout(() => {
      this.emitSlice(Math.floor(next / 1000) - 1)
      this.scheduleSlice()
    }, next - now + 1)
  }

  private lastCpu: { us: number; at: number } | undefined

  /** this thread's CPU time since the last call / wall time, when asked for and measurable */
  private threadCpu (): number | undefined {
    if (!this.options.threadCpu) return undefined
    const us = threadCpuUs()
    const at = performance.now()
    const last = this.lastCpu
    this.lastCpu = us === undefined ? undefined : { us, at }
    if (us === undefined || !last || at - last.at < MIN_HEALTH_WINDOW_MS) return undefined
    return Math.round(((us - last.us) / ((at - last.at) * 1000)) * 100) / 100
  }

  private emitSlice (t: number): void {
    const c = this.executor.counters()
    if (c.dropped) this.dropped += c.dropped
    const elu = performance.eventLoopUtilization(this.elu)
    this.elu = performance.eventLoopUtilization()
    // the histogram holds the intervals between ticks of a 10 ms timer: the delay is the excess
    const delay = this.loopDelay.count > 0 ? Math.max(0, this.loopDelay.percentile(99) / 1e6 - LOOP_DELAY_RESOLUTION_MS) : 0
    this.loopDelay.reset()
    const extra: Record<string, unknown> = {}
    // a sliver of a second (the start or the stop) says nothing about the generator's health
    const cpu = this.threadCpu()
    if (elu.idle + elu.active >= MIN_HEALTH_WINDOW_MS) {
      extra.generator = { elu: Math.round(elu.utilization * 1000) / 1000, loopDelayP99Ms: Math.round(delay * 10) / 10, ...(cpu === undefined ? {} : { cpu }) }
    }
    if (this.options.model.kind === 'open') Object.assign(extra, { vus: c.vus, dropped: c.dropped, iterations: c.iterations })
    this.options.onSlice(this.recorder.closeSlice(t, this.executor.active(), extra))
  }

  async run (): Promise<EngineOutcome> {
    const o = this.options
    const runtime = this.runtime()
    const share = o.share ?? WHOLE
    const executor: Executor = o.model.kind === 'closed'
      ? new ClosedExecutor(runtime, o.plan, o.model, share)
      : new OpenExecutor(runtime, o.plan, o.model, share)
    this.executor = executor
    const stopSignal = new Promise<boolean>((resolve) => { this.stopRequested = resolve })
    if (this.stopped) return this.emptyOutcome()
    if (executor instanceof OpenExecutor) await executor.prepare()
    if (o.startAt !== undefined) {
      const wait = o.startAt - epochNow()
      if (wait > 0) await within(stopSignal, wait)
    }
    this.loopDelay.enable()
    this.elu = performance.eventLoopUtilization()
    this.threadCpu()
    this.startedAt = epochNow()
    o.onStart?.(this.startedAt)
    if (!this.stopped) {
      executor.start(performance.now())
      this.scheduleSlice()
      this.endTimer = setTimeout(() => this.stop(), o.durationS * 1000)
    }

    let hard = this.stopped ? false : await stopSignal
    if (this.endTimer) clearTimeout(this.endTimer)
    executor.beginStop()
    let abortedAtStop = 0
    const finished = executor.done()
    if (!hard) {
      let timer: NodeJS.Timeout | undefined
      const timedOut = new Promise<boolean>(resolve => { timer = setTimeout(() => resolve(true), o.stopTimeoutS * 1000) })
      // a second stop request (Ctrl-C twice) cuts the grace period short
      const again = new Promise<boolean>(resolve => { this.stopRequested = (h) => resolve(h || true) })
      hard = await Promise.race([finished.then(() => false), timedOut, again])
      clearTimeout(timer)
    }
    if (hard) {
      abortedAtStop = executor.hardStop()
      await within(finished, 2000)
    }
    if (this.sliceTimer) clearTimeout(this.sliceTimer)
    const endedAt = epochNow()
    this.emitSlice(Math.floor(endedAt / 1000))
    this.loopDelay.disable()
    if (this.fatalError) throw this.fatalError
    return {
      startedAt: this.startedAt,
      endedAt,
      abortedAtStop,
      droppedIterations: this.dropped,
      peakUsers: executor.peakUsers(),
      costSoFar: this.cost
    }
  }

  private emptyOutcome (): EngineOutcome {
    const now = epochNow()
    return { startedAt: now, endedAt: now, abortedAtStop: 0, droppedIterations: 0, peakUsers: 0, costSoFar: 0 }
  }
}
