/**
 * startLoad(): the load generator's public entry. Returns a LoadHandle that is awaitable
 * (resolves to the measured outcome) and an event source for live views:
 *   'start'  (startedAt)   the clock started
 *   'report' (SliceReport) one second as the load threads handed it over (before aggregation)
 *   'slice'  (TimelineSlice) one merged second of the timeline
 *   'stopping' (reason)    the load is being stopped
 * The load runs in worker threads (one by default), so that nothing else this process does
 * (probes, the web UI, the terminal, the per-second aggregation, the journal, reports) ever
 * delays the timing of a request: the main thread only merges the seconds the load threads
 * hand over. A plan without a file (built in memory: the threads load the scenario from its
 * file), or `workers: 0`, runs the load in this thread instead.
 */
import { EventEmitter } from 'node:events'
import { existsSync } from 'node:fs'
import type { ErrorGroup, EntryTotals, ExceptionGroup, GeneratorDistortion, GeneratorSaturation, LoadModel, Share, StopReason, TimelineSlice } from '../shared/types.js'
import type { ScenarioPlan } from '../scenarios/validate.js'
import { Aggregator } from './aggregate.js'
import type { LiveStats } from './aggregate.js'
import { epochNow } from '../shared/clock.js'
import type { Budget } from './budget.js'
import type { SliceReport } from './recorder.js'
import { nameOverflowInfo } from './names.js'
import type { ExternalGenerator, NameOverflowInfo } from '../shared/types.js'
import { WHOLE } from './share.js'
import { WorkerPool } from './workers.js'
import type { LoadDriver } from './driver.js'
import { findDistortion, findSaturation } from './health.js'
import { plannedPeak, tuneHeapGrowth } from './heap.js'
import { costLookup } from './cost.js'
import { LOAD_DEFAULTS } from '../shared/settings.js'
import type { LoadSettings } from '../shared/settings.js'
import type { HostPolicy } from '../shared/hosts.js'

export interface LoadOptions {
  plan: ScenarioPlan
  model: LoadModel
  durationS: number
  stopTimeoutS: number
  host: string
  requestTimeoutMs?: number
  share?: Share
  /**
   * the run's load settings as given (shared/settings.ts), passed unchanged to every load
   * thread: workers (default 1; 0 runs the load in this thread, as does a plan without a file),
   * maxRequests, maxCost, maxNames, insecure, httpClient
   */
  settings?: LoadSettings
  startAt?: number
  unitCosts?: Record<string, number>
  runSeed?: number
  /** where requests may go besides the base origin (absolute URLs, redirects); default loopback only */
  hostPolicy?: HostPolicy
  /** another generator instead of the engine (a locustfile run by Locust), made with the runner's hooks */
  driver?: (hooks: DriverHooks) => LoadDriver
}

/** What a load driver reports through. */
export interface DriverHooks {
  onSlice: (report: SliceReport) => void
  onStart: (startedAt: number) => void
  onSelfStop: (reason: StopReason, message: string) => void
}

export interface LoadOutcome {
  startedAt: number
  endedAt: number
  stopReason: StopReason
  stopMessage?: string
  abortedAtStop: number
  droppedIterations: number
  peakUsers: number
  totals: { overall: EntryTotals; entries: EntryTotals[]; tasks: Record<string, number> }
  timeline: TimelineSlice[]
  errors: ErrorGroup[]
  exceptions: ExceptionGroup[]
  workers: number
  /** set when a load thread was saturated for several seconds (see health.ts) */
  saturation?: GeneratorSaturation
  /** set when the generator's own event loop delayed timings in some seconds (see health.ts) */
  distortion?: GeneratorDistortion
  /** request names past the bound on distinct names */
  nameOverflow?: NameOverflowInfo
  /** the load came from another tool (a locustfile run by Locust) */
  tool?: ExternalGenerator
}

export type { LoadDriver } from './driver.js'

export class LoadHandle extends EventEmitter implements PromiseLike<LoadOutcome> {
  readonly aggregator = new Aggregator()
  private readonly promise: Promise<LoadOutcome>
  private driver!: LoadDriver
  private stopReason: StopReason = 'completed'
  private stopMessage: string | undefined
  private stopCount = 0
  private lastCpu = process.cpuUsage()
  private lastCpuAt = performance.now()
  startedAt: number | undefined

  constructor (private readonly options: LoadOptions) {
    super()
    this.promise = this.execute()
    // an awaited handle reports errors through the promise; no unhandled 'error' event
    this.promise.catch(() => {})
  }

  then<A = LoadOutcome, B = never> (onfulfilled?: ((value: LoadOutcome) => A | PromiseLike<A>) | null, onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
    return this.promise.then(onfulfilled, onrejected)
  }

  /** Stops the load gracefully; called twice, aborts requests in flight at once. */
  stop (reason: StopReason = 'stopped', message?: string): void {
    this.stopCount++
    if (this.stopCount === 1) {
      this.stopReason = reason
      this.stopMessage = message
      this.emit('stopping', reason)
    }
    this.driver?.stop(this.stopCount > 1)
  }

  /** Closed model: move to `users` at `spawnRate` users/s from now on. */
  setUsers (users: number, spawnRate: number): boolean {
    return this.driver?.setUsers(users, spawnRate) ?? false
  }

  users (): number {
    return this.driver?.users() ?? 0
  }

  live (): LiveStats {
    return this.aggregator.live(this.users())
  }

  private onSlice (report: SliceReport): void {
    const slice = this.aggregator.add(report)
    // the process's own CPU and memory, measured once per second in the main thread
    const now = performance.now()
    const cpu = process.cpuUsage(this.lastCpu)
    const wall = (now - this.lastCpuAt) * 1000
    this.lastCpu = process.cpuUsage()
    this.lastCpuAt = now
    if (slice.generator && wall > 0) {
      slice.generator.cpu = Math.round(((cpu.user + cpu.system) / wall) * 1000) / 1000
      slice.generator.rss = process.memoryUsage.rss()
    }
    // the second as the load threads handed it over (with the process's CPU and memory): the run's journal keeps these
    this.emit('report', report)
    this.emit('slice', slice)
  }

  private async execute (): Promise<LoadOutcome> {
    await Promise.resolve() // let the caller attach listeners first
    const o = this.options
    const share = o.share ?? WHOLE
    tuneHeapGrowth(plannedPeak(o.model) * (share.to - share.from))
    // a plan built in memory names a label, not a file the threads could load
    const settings = o.settings ?? {}
    const inThread = settings.workers === 0 || !o.plan.file || !existsSync(o.plan.file)
    const workers = inThread || o.driver ? 1 : Math.max(1, settings.workers ?? LOAD_DEFAULTS.workers)
    const budget: Budget = { unitCost: costLookup(o.unitCosts) }
    const common = {
      model: o.model,
      durationS: o.durationS,
      stopTimeoutS: o.stopTimeoutS,
      host: o.host,
      requestTimeoutMs: o.requestTimeoutMs ?? o.plan.requestTimeoutMs,
      share: o.share ?? WHOLE,
      // segments started together (--start-at) share the seed of their test data
      runSeed: o.runSeed ?? Math.floor((o.startAt ?? Date.now()) / 1000),
      startAt: o.startAt,
      settings,
      hostPolicy: o.hostPolicy
    }
    const onStart = (t: number): void => {
      this.startedAt = t
      this.emit('start', t)
    }
    const onSelfStop = (reason: StopReason, message: string): void => {
      if (this.stopCount === 0) this.stop(reason, message)
    }
    if (o.driver) {
      this.driver = o.driver({ onSlice: r => this.onSlice(r), onStart, onSelfStop })
    } else if (inThread) {
      // the engine's modules (executors, HTTP, parser) load here only when the load runs on this thread
      const { Engine } = await import('./engine.js')
      this.driver = new Engine({ ...common, plan: o.plan, budget, onSlice: r => this.onSlice(r), onStart, onSelfStop })
    } else {
      this.driver = new WorkerPool({ ...common, planFile: o.plan.file, planCode: o.plan.compiled, workers, unitCosts: o.unitCosts, onSlice: r => this.onSlice(r), onStart, onSelfStop })
    }
    if (this.stopCount > 0) this.driver.stop()
    const outcome = await this.driver.run()
    const agg = this.aggregator.result()
    return {
      startedAt: outcome.startedAt,
      endedAt: outcome.endedAt,
      stopReason: this.stopReason,
      stopMessage: this.stopMessage,
      abortedAtStop: outcome.abortedAtStop,
      droppedIterations: outcome.droppedIterations,
      peakUsers: outcome.peakUsers,
      totals: { overall: agg.overall, entries: agg.entries, tasks: agg.tasks },
      timeline: agg.timeline,
      errors: agg.errors,
      exceptions: agg.exceptions,
      workers,
      ...(outcome.tool ? { tool: outcome.tool } : {}),
      saturation: findSaturation(agg.timeline, outcome.tool?.name),
      distortion: findDistortion(agg.timeline),
      ...(this.aggregator.nameOverflow ? { nameOverflow: nameOverflowInfo(this.aggregator.nameOverflow, settings.maxNames ?? LOAD_DEFAULTS.maxNames) } : {})
    }
  }
}

export function startLoad (options: LoadOptions): LoadHandle {
  return new LoadHandle(options)
}

export { epochNow, costLookup }
