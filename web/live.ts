/**
 * A run as the web UI and /metrics see it: the live LoadHandle (and the probe session) while
 * it runs, the stored result once it is done. Everything here reads the state the load
 * generator already keeps (its aggregator); nothing is added to the load generator's hot path.
 */
import { runIdFor } from '../shared/files.js'
import type { LoadHandle } from '../loadgen/runner.js'
import type { EntryTotals, ErrorGroup, Finding, LoadModel, RunResult, Series, Unit } from '../shared/types.js'
import { describeError } from '../shared/errors.js'
import { decodeHistogram, summarize } from '../shared/hist.js'
import type { ProbeSession } from '../app/probes.js'
import { buildResult } from '../app/run.js'
import type { PreparedRun } from '../app/run.js'
import { analyse } from '../app/analyse.js'
import { verdictOf } from '../reports/verdict.js'
import { findingChart, humanLabel } from '../reports/charts.js'
import type { ChartSpec } from '../reports/charts.js'

export type LiveState = 'starting' | 'running' | 'stopping' | 'done' | 'failed'

export interface LiveInfo {
  scenario: string
  host: string
  profile?: string
  durationS: number
  model: LoadModel
}

export interface LiveRow {
  key: string
  type: string
  name: string
  requests: number
  failures: number
  rps: number
  avgBytes: number
  p50: number
  p95: number
  p99: number
  maxMs: number
}

export interface LivePoint { t: number; users: number; rps: number; fps: number; p50: number | null; p95: number | null; p99: number | null }

export interface LiveSnapshot {
  id: number
  state: LiveState
  info: LiveInfo
  message?: string
  startedAt?: number
  elapsedS: number
  stats: { users: number; requests: number; failures: number; rps: number; failuresPerS: number; current: { p50: number; p95: number; p99: number } }
  rows: LiveRow[]
  points: LivePoint[]
  /** `title`: the metric in plain words; `label`: the series in plain words */
  probes: Array<{ id: string; probe: string; metric: string; unit: Unit; labels?: Record<string, string>; title: string; label: string; points: Array<[number, number | null]> }>
  errors: ErrorGroup[]
  findings: Finding[]
  /** each finding's proof chart (as in the report), null where it has none */
  findingCharts: Array<ChartSpec | null>
  /** when done */
  result?: { runId: string; verdict: { state: string; label: string; summary: string }; files: Record<string, string> }
}

/** What /metrics reads: cumulative totals, users and the probe series. */
export interface MetricsSource {
  metricsInfo (): { scenario: string; profile?: string; host: string; runId?: string; state: LiveState }
  users (): number
  totals (): { entries: EntryTotals[]; errors: ErrorGroup[] }
  series (): Series[]
}

let nextId = 1

export class LiveRun implements MetricsSource {
  readonly id = nextId++
  state: LiveState = 'starting'
  message: string | undefined
  handle: LoadHandle | undefined
  probes: ProbeSession | undefined
  result: RunResult | undefined
  files: Record<string, string> = {}
  exitCode: number | undefined
  private findings: Finding[] = []
  private findingCharts: Array<ChartSpec | null> = []
  private lastDiagnosis = 0
  private cachedTotals: { at: number; value: { entries: EntryTotals[]; errors: ErrorGroup[] } } | undefined

  constructor (readonly info: LiveInfo, private readonly prep?: PreparedRun) {}

  attach (handle: LoadHandle): void {
    this.handle = handle
    this.state = 'running'
    handle.on('stopping', () => { if (this.state === 'running') this.state = 'stopping' })
  }

  attachProbes (probes: ProbeSession): void {
    this.probes = probes
  }

  finish (result: RunResult, files: Record<string, string>, exitCode: number): void {
    this.result = result
    this.files = files
    this.exitCode = exitCode
    this.findings = result.diagnosis?.findings ?? []
    this.findingCharts = proofCharts(result, this.findings)
    this.state = 'done'
    this.cachedTotals = undefined
  }

  fail (err: unknown): void {
    this.state = 'failed'
    this.message = describeError(err)
  }

  get running (): boolean {
    return this.state === 'starting' || this.state === 'running' || this.state === 'stopping'
  }

  // -- MetricsSource

  users (): number {
    if (this.result) return this.result.timeline.at(-1)?.users ?? 0
    return this.handle?.users() ?? 0
  }

  totals (): { entries: EntryTotals[]; errors: ErrorGroup[] } {
    if (this.result) return { entries: [...this.result.totals.entries], errors: this.result.errors }
    if (!this.handle) return { entries: [], errors: [] }
    // result() encodes every row's histogram: at most once a second
    const now = Date.now()
    if (!this.cachedTotals || now - this.cachedTotals.at > 1000) {
      const r = this.handle.aggregator.result()
      this.cachedTotals = { at: now, value: { entries: r.entries, errors: r.errors } }
    }
    return this.cachedTotals.value
  }

  series (): Series[] {
    if (this.result) return this.result.probes.series
    try {
      return this.probes?.series() ?? []
    } catch {
      return []
    }
  }

  metricsInfo (): ReturnType<MetricsSource['metricsInfo']> {
    // the run id is known from the start (scenario, profile and start time), not only once the result is written
    const started = this.handle?.startedAt
    const runId = this.result?.meta.runId ?? (started !== undefined ? runIdFor(this.prep?.plan.name ?? this.info.scenario, this.prep?.load.profileName ?? this.info.profile, started) : undefined)
    return { scenario: this.info.scenario, profile: this.info.profile, host: this.info.host, runId, state: this.state }
  }

  // -- the UI's view

  snapshot (since = 0): LiveSnapshot {
    const r = this.result
    const timeline = r ? r.timeline : this.handle?.aggregator.timeline ?? []
    const points: LivePoint[] = []
    for (const s of timeline) {
      if (s.t < since) continue
      const any = s.overall.requests > 0
      points.push({ t: s.t, users: s.users, rps: s.overall.requests, fps: s.overall.failures, p50: any ? s.overall.p50 : null, p95: any ? s.overall.p95 : null, p99: any ? s.overall.p99 : null })
    }
    const probes = this.series().map(s => ({ id: s.id, probe: s.probe, metric: s.metric, unit: s.unit, labels: s.labels, title: humanLabel({ probe: s.probe, metric: s.metric }), label: humanLabel(s), points: s.points.filter(p => p[0] >= since) }))
    const startedAt = r ? r.meta.startedAt : this.handle?.startedAt
    const elapsedS = startedAt ? ((r ? r.meta.endedAt : Date.now()) - startedAt) / 1000 : 0
    let stats: LiveSnapshot['stats'] = { users: 0, requests: 0, failures: 0, rps: 0, failuresPerS: 0, current: { p50: 0, p95: 0, p99: 0 } }
    let rows: LiveRow[] = []
    if (this.handle && !r) {
      const live = this.handle.live()
      stats = { users: live.users, requests: live.requests, failures: live.failures, rps: live.rps, failuresPerS: live.failuresPerS, current: live.current }
      rows = live.rows.map(x => ({ key: x.key, type: x.type, name: x.name, requests: x.requests, failures: x.failures, rps: x.rps, avgBytes: x.requests ? x.bytes / x.requests : 0, p50: x.summary.p50, p95: x.summary.p95, p99: x.summary.p99, maxMs: x.summary.maxMs }))
    } else if (r) {
      const last = r.timeline.slice(-5)
      const o = r.totals.overall
      stats = { users: r.timeline.at(-1)?.users ?? 0, requests: o.requests, failures: o.failures, rps: last.reduce((a, s) => a + s.overall.requests, 0) / Math.max(1, last.length), failuresPerS: last.reduce((a, s) => a + s.overall.failures, 0) / Math.max(1, last.length), current: { p50: last.at(-1)?.overall.p50 ?? 0, p95: last.at(-1)?.overall.p95 ?? 0, p99: last.at(-1)?.overall.p99 ?? 0 } }
      rows = rowsOf(r)
    }
    rows.sort((a, b) => a.name.localeCompare(b.name) || a.type.localeCompare(b.type))
    if (this.running) this.refreshFindings()
    const snap: LiveSnapshot = {
      id: this.id,
      state: this.state,
      info: this.info,
      message: this.message,
      startedAt,
      elapsedS,
      stats,
      rows,
      points,
      probes,
      errors: this.totals().errors.slice(0, 30),
      findings: this.findings,
      findingCharts: this.findingCharts
    }
    if (r) {
      const v = verdictOf(r)
      snap.result = { runId: r.meta.runId, verdict: { state: v.state, label: v.label, summary: v.summary }, files: this.files }
    }
    return snap
  }

  /** The diagnosis of the run so far, at most every 5 s while someone watches. */
  private refreshFindings (): void {
    const now = Date.now()
    if (!this.prep || !this.handle || this.handle.startedAt === undefined || now - this.lastDiagnosis < 5000) return
    this.lastDiagnosis = now
    try {
      const agg = this.handle.aggregator.result()
      const partial = buildResult(this.prep, {
        startedAt: this.handle.startedAt,
        endedAt: now,
        stopReason: 'completed',
        abortedAtStop: 0,
        droppedIterations: 0,
        peakUsers: this.handle.users(),
        totals: { overall: agg.overall, entries: agg.entries, tasks: agg.tasks },
        timeline: agg.timeline,
        errors: agg.errors,
        exceptions: agg.exceptions,
        workers: 1
      }, {})
      partial.probes = { series: this.series(), status: safe(() => this.probes?.status() ?? []) ?? [] }
      this.findings = analyse(partial, { checklist: false }).diagnosis?.findings ?? []
      this.findingCharts = proofCharts(partial, this.findings)
    } catch {
      // a diagnosis of a partial run may fail; the final one is made on the result
    }
  }
}

/** The proof chart of each finding, as the report draws it */
function proofCharts (r: RunResult, findings: Finding[]): Array<ChartSpec | null> {
  return findings.map((f, i) => safe(() => findingChart(r, f, `live-finding-${i}`)) ?? null)
}

function safe<T> (f: () => T): T | undefined {
  try { return f() } catch { return undefined }
}

export function rowsOf (r: RunResult): LiveRow[] {
  const d = Math.max(0.001, (r.meta.endedAt - r.meta.startedAt) / 1000)
  return r.totals.entries.map(e => {
    const s = summaryOf(e)
    return { key: e.key, type: e.type, name: e.name, requests: e.requests, failures: e.failures, rps: e.requests / d, avgBytes: e.requests ? e.bytes / e.requests : 0, p50: s.p50, p95: s.p95, p99: s.p99, maxMs: e.maxUs / 1000 }
  })
}

function summaryOf (e: EntryTotals): { p50: number; p95: number; p99: number } {
  const h = decodeHistogram(e.hist)
  const s = summarize(h)
  h.destroy()
  return s
}
