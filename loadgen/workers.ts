/**
 * Runs the load in worker threads (`--workers N`): each thread runs an Engine on an equal
 * part of the run's share, the main thread merges their seconds (histograms added, not
 * averaged) and drives everything else. Threads start on a common epoch millisecond.
 */
import { Worker } from 'node:worker_threads'
import { existsSync } from 'node:fs'
import { HarnessError, WorkerError, deserializeError, MissingDependencyError } from '../shared/errors.js'
import type { SerializedError } from '../shared/errors.js'
import type { LoadModel, Share, StopReason, ThreadHealth } from '../shared/types.js'
import { mergeSlices } from './aggregate.js'
import { epochNow } from '../shared/clock.js'
import { sharedBudgetBuffer } from './budget.js'
import type { EngineOutcome } from './engine.js'
import { sortThreads } from './health.js'
import type { SliceReport } from './recorder.js'
import { subShare } from './share.js'
import type { LoadDriver } from './driver.js'
import type { LoadSettings } from '../shared/settings.js'
import type { HostPolicy } from '../shared/hosts.js'
import type { CompiledScenario } from '../scenarios/validate.js'

export interface WorkerPoolOptions {
  planFile?: string
  /** the scenario compiled by the main thread's load (ScenarioPlan.compiled) */
  planCode?: CompiledScenario
  workers: number
  model: LoadModel
  durationS: number
  stopTimeoutS: number
  host: string
  requestTimeoutMs: number
  share: Share
  runSeed: number
  startAt?: number
  /** the run's load settings, passed to each thread as they are */
  settings: LoadSettings
  /** the scenario's unit costs (for settings.maxCost) */
  unitCosts?: Record<string, number>
  hostPolicy?: HostPolicy
  onSlice: (report: SliceReport) => void
  onStart?: (startedAt: number) => void
  onSelfStop?: (reason: StopReason, message: string) => void
}

export type ToWorker =
  | { type: 'go'; startAt: number }
  | { type: 'stop'; hard: boolean }
  | { type: 'setUsers'; users: number; spawnRate: number }

export type FromWorker =
  | { type: 'ready' }
  | { type: 'start'; startedAt: number }
  | { type: 'slice'; report: SliceReport }
  | { type: 'selfStop'; reason: StopReason; message: string }
  | { type: 'users'; users: number }
  | { type: 'done'; outcome: EngineOutcome }
  | { type: 'error'; error: SerializedError }

export interface WorkerInit {
  planFile: string
  planCode?: CompiledScenario
  index: number
  count: number
  model: LoadModel
  durationS: number
  stopTimeoutS: number
  host: string
  requestTimeoutMs: number
  share: Share
  runSeed: number
  settings: LoadSettings
  hostPolicy?: HostPolicy
  unitCosts?: Record<string, number>
  /** the run's request count and each thread's cost, so the budgets hold for the run */
  shared: SharedArrayBuffer
}

/** The load thread's module: the bundled one (scripts/bundle.mjs), else the built one; from the TypeScript sources (tests), dist's. */
function workerEntry (): URL {
  for (const rel of ['../bundle/worker-main.js', './worker-main.js', '../dist/bundle/worker-main.js', '../dist/loadgen/worker-main.js']) {
    const url = new URL(rel, import.meta.url)
    if (existsSync(url)) return url
  }
  throw new MissingDependencyError('worker threads need the built package: run `npm run build` first')
}

/** Adds two SliceReports of the same second. */
export function mergeReports (a: SliceReport, b: SliceReport): SliceReport {
  const errors = { ...a.errors }
  for (const [k, n] of Object.entries(b.errors)) errors[k] = (errors[k] ?? 0) + n
  return { slice: mergeSlices(a.slice, b.slice), errors, exceptions: [...a.exceptions, ...b.exceptions] }
}

export class WorkerPool implements LoadDriver {
  private readonly threads: Worker[] = []
  private readonly usersBy: number[] = []
  private readonly pending = new Map<number, { report: SliceReport; from: Set<number>; timer: NodeJS.Timeout }>()
  private stopRequested = false
  private started = false

  constructor (private readonly o: WorkerPoolOptions) {}

  private flush (t: number): void {
    const p = this.pending.get(t)
    if (!p) return
    clearTimeout(p.timer)
    this.pending.delete(t)
    const w = p.report.slice.generator?.workers
    if (w) sortThreads(w)
    this.o.onSlice(p.report)
  }

  private addReport (index: number, report: SliceReport): void {
    const t = report.slice.t
    // the thread's own event loop, kept apart in the merged second
    // (the thread's CPU moves to its own line: the second's `cpu` is the process's, set by the runner)
    const g = report.slice.generator
    if (g) {
      const line: ThreadHealth = { worker: index + 1, elu: g.elu, loopDelayP99Ms: g.loopDelayP99Ms }
      if (g.cpu !== undefined) line.cpu = g.cpu
      report.slice.generator = { elu: g.elu, loopDelayP99Ms: g.loopDelayP99Ms, workers: [line] }
    }
    // flush older seconds still waiting: reports arrive in order per thread
    for (const k of [...this.pending.keys()]) if (k < t && this.pending.get(k)!.from.has(index)) this.flush(k)
    const p = this.pending.get(t)
    if (!p) {
      const timer = setTimeout(() => this.flush(t), 1500)
      this.pending.set(t, { report, from: new Set([index]), timer })
    } else {
      p.report = mergeReports(p.report, report)
      p.from.add(index)
    }
    const now = this.pending.get(t)
    if (now && now.from.size >= this.threads.length) this.flush(t)
  }

  async run (): Promise<EngineOutcome> {
    const o = this.o
    if (!o.planFile) throw new HarnessError('worker threads load the scenario from its file; this scenario has none')
    const entry = workerEntry()
    // the request and cost budgets hold for the whole run: the threads count together
    const shared = sharedBudgetBuffer(o.workers)
    const outcomes: Array<Promise<EngineOutcome>> = []
    const ready: Array<Promise<void>> = []
    for (let i = 0; i < o.workers; i++) {
      const init: WorkerInit = {
        planFile: o.planFile,
        planCode: o.planCode,
        index: i,
        count: o.workers,
        model: o.model,
        durationS: o.durationS,
        stopTimeoutS: o.stopTimeoutS,
        host: o.host,
        requestTimeoutMs: o.requestTimeoutMs,
        share: subShare(o.share, i, o.workers),
        runSeed: o.runSeed,
        settings: o.settings,
        hostPolicy: o.hostPolicy,
        unitCosts: o.unitCosts,
        shared
      }
      const w = new Worker(entry, { workerData: init })
      this.threads.push(w)
      this.usersBy.push(0)
      let readyResolve!: () => void
      let fail!: (e: Error) => void
      ready.push(new Promise<void>((resolve, reject) => { readyResolve = resolve; fail = reject }))
      outcomes.push(new Promise<EngineOutcome>((resolve, reject) => {
        w.on('message', (m: FromWorker) => {
          switch (m.type) {
            case 'ready': readyResolve(); break
            case 'start': if (!this.started) { this.started = true; o.onStart?.(m.startedAt) } break
            case 'slice': this.usersBy[i] = m.report.slice.users; this.addReport(i, m.report); break
            case 'selfStop': o.onSelfStop?.(m.reason, m.message); break
            case 'done': resolve(m.outcome); break
            case 'error': {
              // a mistake in the scenario is the user's (exit 2), reported once whichever thread met it first
              // (the thread's own error, with its stack, is the cause)
              const cause = deserializeError(m.error)
              const e = m.error.usage ? cause : new WorkerError(`load worker ${i + 1}: ${m.error.message}`, { cause })
              fail(e)
              reject(e)
              break
            }
          }
        })
        w.on('error', (err) => { const e = new WorkerError(`load worker ${i + 1} crashed: ${err.message}`, { cause: err }); fail(e); reject(e) })
        w.on('exit', (code) => { if (code !== 0) { const e = new WorkerError(`load worker ${i + 1} exited with code ${code}`); fail(e); reject(e) } })
      }))
    }
    try {
      await Promise.all(ready)
      // threads start on a common millisecond a little ahead, so that each has its 'go' by then; one thread starts at once
      const startAt = Math.max(o.startAt ?? 0, epochNow() + (this.threads.length > 1 ? 100 : 0))
      for (const w of this.threads) w.postMessage({ type: 'go', startAt } satisfies ToWorker)
      if (this.stopRequested) this.stop()
      const all = await Promise.all(outcomes)
      for (const t of [...this.pending.keys()].sort((a, b) => a - b)) this.flush(t)
      return {
        startedAt: Math.min(...all.map(x => x.startedAt)),
        endedAt: Math.max(...all.map(x => x.endedAt)),
        abortedAtStop: all.reduce((a, x) => a + x.abortedAtStop, 0),
        droppedIterations: all.reduce((a, x) => a + x.droppedIterations, 0),
        peakUsers: all.reduce((a, x) => a + x.peakUsers, 0),
        costSoFar: all.reduce((a, x) => a + x.costSoFar, 0)
      }
    } finally {
      await Promise.all(this.threads.map(w => w.terminate().catch(() => 0)))
    }
  }

  stop (hard = false): void {
    this.stopRequested = true
    for (const w of this.threads) w.postMessage({ type: 'stop', hard } satisfies ToWorker)
  }

  setUsers (users: number, spawnRate: number): boolean {
    if (this.o.model.kind !== 'closed') return false
    for (const w of this.threads) w.postMessage({ type: 'setUsers', users, spawnRate } satisfies ToWorker)
    return true
  }

  users (): number {
    return this.usersBy.reduce((a, b) => a + b, 0)
  }
}
