/**
 * Merges SliceReports (from one thread, several worker threads, or stored results of
 * several machines) into the timeline, the per-row totals and the error groups. Histograms
 * are added, never averaged, so merged percentiles are exact to the histogram's precision.
 */
import { createHistogram, decodeHistogram, encodeHistogram, mergeEncoded, slicePercentiles, summarize } from '../shared/hist.js'
import type { Histogram, LatencySummary } from '../shared/hist.js'
import type { EntryTotals, ErrorGroup, ExceptionGroup, GeneratorHealth, SliceEntry, TimelineSlice } from '../shared/types.js'
import { OTHER_EXCEPTIONS, entryKey, parseErrorSignature } from './recorder.js'
import { sortThreads } from './health.js'
import type { NameOverflow, SliceReport } from './recorder.js'

/** distinct exception messages a whole run keeps; later ones are counted under OTHER_EXCEPTIONS */
const MAX_RUN_EXCEPTION_GROUPS = 1000

class Total {
  requests = 0
  failures = 0
  bytes = 0
  sumUs = 0
  minUs = Infinity
  maxUs = 0
  readonly hist: Histogram = createHistogram()
  constructor (readonly type: string, readonly name: string) {}

  add (e: SliceEntry, decoded?: Histogram): void {
    this.requests += e.requests
    this.failures += e.failures
    this.bytes += e.bytes
    this.sumUs += e.sumUs
    if (e.maxUs > this.maxUs) this.maxUs = e.maxUs
    const h = decoded ?? decodeHistogram(e.hist)
    if (h.totalCount > 0 && h.minNonZeroValue < this.minUs) this.minUs = h.minNonZeroValue
    this.hist.add(h)
    if (!decoded) h.destroy()
  }

  toJSON (): EntryTotals {
    return {
      key: this.type ? entryKey(this.type, this.name) : 'Aggregated',
      type: this.type,
      name: this.name,
      requests: this.requests,
      failures: this.failures,
      bytes: this.bytes,
      minUs: this.minUs === Infinity ? 0 : this.minUs,
      maxUs: this.maxUs,
      sumUs: this.sumUs,
      hist: encodeHistogram(this.hist)
    }
  }
}

/** What the terminal, the web UI and /metrics show while a run goes on. */
export interface LiveStats {
  t: number
  users: number
  requests: number
  failures: number
  /** requests per second over the last few seconds */
  rps: number
  failuresPerS: number
  /** latency over the last few seconds */
  current: { p50: number; p95: number; p99: number }
  total: LatencySummary
  rows: Array<{ key: string; type: string; name: string; requests: number; failures: number; rps: number; bytes: number; summary: LatencySummary }>
}

function mergeSliceEntry (a: SliceEntry, b: SliceEntry): SliceEntry {
  const h = mergeEncoded([a.hist, b.hist])
  const out: SliceEntry = {
    requests: a.requests + b.requests,
    failures: a.failures + b.failures,
    bytes: a.bytes + b.bytes,
    sumUs: a.sumUs + b.sumUs,
    maxUs: Math.max(a.maxUs, b.maxUs),
    hist: encodeHistogram(h),
    ...slicePercentiles(h)
  }
  h.destroy()
  return out
}

/** The health of two parts of one second: the busiest thread's figures, the busiest
 *  process's CPU and memory, and every thread's own line. */
function mergeHealth (a?: GeneratorHealth, b?: GeneratorHealth): GeneratorHealth | undefined {
  if (!a) return b
  if (!b) return a
  const out: GeneratorHealth = {
    elu: Math.max(a.elu, b.elu),
    loopDelayP99Ms: Math.max(a.loopDelayP99Ms, b.loopDelayP99Ms)
  }
  if (a.cpu !== undefined || b.cpu !== undefined) out.cpu = Math.max(a.cpu ?? 0, b.cpu ?? 0)
  if (a.rss !== undefined || b.rss !== undefined) out.rss = Math.max(a.rss ?? 0, b.rss ?? 0)
  if (a.workers || b.workers) out.workers = sortThreads([...(a.workers ?? []), ...(b.workers ?? [])])
  return out
}

/** Adds slice `b` (same second) into `a`. Error ids must already be global. */
export function mergeSlices (a: TimelineSlice, b: TimelineSlice): TimelineSlice {
  const entries: Record<string, SliceEntry> = { ...a.entries }
  for (const [k, e] of Object.entries(b.entries)) entries[k] = entries[k] ? mergeSliceEntry(entries[k]!, e) : e
  let errors: Record<string, number> | undefined
  if (a.errors || b.errors) {
    errors = { ...(a.errors ?? {}) }
    for (const [k, n] of Object.entries(b.errors ?? {})) errors[k] = (errors[k] ?? 0) + n
  }
  const sum = (x?: number, y?: number): number | undefined => (x === undefined && y === undefined ? undefined : (x ?? 0) + (y ?? 0))
  const out: TimelineSlice = {
    t: a.t,
    users: a.users + b.users,
    overall: mergeSliceEntry(a.overall, b.overall),
    entries
  }
  const vus = sum(a.vus, b.vus); if (vus !== undefined) out.vus = vus
  const dropped = sum(a.dropped, b.dropped); if (dropped !== undefined) out.dropped = dropped
  const iterations = sum(a.iterations, b.iterations); if (iterations !== undefined) out.iterations = iterations
  if (errors) out.errors = errors
  if (a.tasks || b.tasks) {
    const tasks: Record<string, number> = { ...(a.tasks ?? {}) }
    for (const [k, n] of Object.entries(b.tasks ?? {})) tasks[k] = (tasks[k] ?? 0) + n
    out.tasks = tasks
  }
  const gen = mergeHealth(a.generator, b.generator); if (gen) out.generator = gen
  return out
}

export class Aggregator {
  readonly timeline: TimelineSlice[] = []
  private readonly totals = new Map<string, Total>()
  private readonly overall = new Total('', 'Aggregated')
  private readonly errorIds = new Map<string, ErrorGroup>()
  private readonly exceptions = new Map<string, ExceptionGroup>()
  private readonly tasks: Record<string, number> = {}
  /** the last few seconds' overall histograms, for "current" percentiles */
  private readonly recent: Array<{ t: number; requests: number; failures: number; hist: Histogram }> = []
  private readonly recentWindow: number
  /** request names past the bound on distinct rows, over the run */
  nameOverflow: NameOverflow | null = null

  constructor (options: { recentWindowS?: number } = {}) {
    this.recentWindow = options.recentWindowS ?? 5
  }

  /** Adds one thread's second. Reports for a second already present are merged into it. */
  add (report: SliceReport): TimelineSlice {
    if (report.overflow) {
      const o = this.nameOverflow ??= { names: 0, requests: 0, examples: [] }
      o.names += report.overflow.names
      o.requests += report.overflow.requests
      for (const x of report.overflow.examples) if (o.examples.length < 10 && !o.examples.includes(x)) o.examples.push(x)
    }
    const slice: TimelineSlice = { ...report.slice }
    const errors: Record<string, number> = {}
    let anyErrors = false
    for (const [sig, n] of Object.entries(report.errors)) {
      let group = this.errorIds.get(sig)
      if (!group) {
        const p = parseErrorSignature(sig)
        group = { id: String(this.errorIds.size), type: p.type, name: p.name, kind: p.kind, status: p.status, message: p.message, count: 0, firstAt: slice.t * 1000, lastAt: slice.t * 1000 }
        this.errorIds.set(sig, group)
      }
      group.count += n
      group.lastAt = Math.max(group.lastAt, slice.t * 1000 + 999)
      errors[group.id] = (errors[group.id] ?? 0) + n
      anyErrors = true
    }
    if (anyErrors) slice.errors = errors
    for (const ex of report.exceptions) {
      let key = `${ex.userClass}\u001f${ex.task}\u001f${ex.message}`
      let known = this.exceptions.get(key)
      // the whole run keeps a bounded number of distinct messages too; the rest are counted together
      if (!known && this.exceptions.size >= MAX_RUN_EXCEPTION_GROUPS) {
        key = `${ex.userClass}\u001f${ex.task}\u001f${OTHER_EXCEPTIONS}`
        known = this.exceptions.get(key)
        if (!known) { known = { userClass: ex.userClass, task: ex.task, message: OTHER_EXCEPTIONS, count: 0, firstAt: slice.t * 1000 }; this.exceptions.set(key, known) }
      }
      if (known) known.count += ex.count
      else this.exceptions.set(key, { userClass: ex.userClass, task: ex.task, message: ex.message, stack: ex.stack, count: ex.count, firstAt: slice.t * 1000 })
    }
    for (const [k, n] of Object.entries(slice.tasks ?? {})) this.tasks[k] = (this.tasks[k] ?? 0) + n
    for (const [key, e] of Object.entries(slice.entries)) {
      let total = this.totals.get(key)
      if (!total) {
        const sp = key.indexOf(' ')
        total = new Total(key.slice(0, sp), key.slice(sp + 1))
        this.totals.set(key, total)
      }
      total.add(e)
    }
    const overallHist = decodeHistogram(slice.overall.hist)
    this.overall.add(slice.overall, overallHist)
    this.addRecent(slice.t, slice.overall, overallHist)
    // merge into the timeline, kept sorted by t
    let i = this.timeline.length - 1
    while (i >= 0 && this.timeline[i]!.t > slice.t) i--
    if (i >= 0 && this.timeline[i]!.t === slice.t) {
      this.timeline[i] = mergeSlices(this.timeline[i]!, slice)
      return this.timeline[i]!
    }
    this.timeline.splice(i + 1, 0, slice)
    return slice
  }

  private addRecent (t: number, e: SliceEntry, hist: Histogram): void {
    const same = this.recent.find(r => r.t === t)
    if (same) {
      same.requests += e.requests
      same.failures += e.failures
      same.hist.add(hist)
      hist.destroy()
    } else {
      this.recent.push({ t, requests: e.requests, failures: e.failures, hist })
      this.recent.sort((a, b) => a.t - b.t)
    }
    while (this.recent.length > this.recentWindow) this.recent.shift()!.hist.destroy()
  }

  /** Totals of one row (or the overall row with key undefined). */
  total (key?: string): EntryTotals | undefined {
    const t = key === undefined ? this.overall : this.totals.get(key)
    return t?.toJSON()
  }

  live (users: number): LiveStats {
    const now = this.timeline.length ? this.timeline[this.timeline.length - 1]!.t : 0
    const secs = Math.max(1, this.recent.length)
    const recentHist = createHistogram()
    let rReq = 0
    let rFail = 0
    for (const r of this.recent) { recentHist.add(r.hist); rReq += r.requests; rFail += r.failures }
    const current = slicePercentiles(recentHist)
    recentHist.destroy()
    const duration = this.timeline.length ? Math.max(1, this.timeline.length) : 1
    return {
      t: now,
      users,
      requests: this.overall.requests,
      failures: this.overall.failures,
      rps: rReq / secs,
      failuresPerS: rFail / secs,
      current,
      total: summarize(this.overall.hist),
      rows: [...this.totals.entries()].map(([key, t]) => ({
        key,
        type: t.type,
        name: t.name,
        requests: t.requests,
        failures: t.failures,
        rps: t.requests / duration,
        bytes: t.bytes,
        summary: summarize(t.hist)
      }))
    }
  }

  result (): { overall: EntryTotals; entries: EntryTotals[]; tasks: Record<string, number>; timeline: TimelineSlice[]; errors: ErrorGroup[]; exceptions: ExceptionGroup[] } {
    return {
      overall: this.overall.toJSON(),
      entries: [...this.totals.values()].map(t => t.toJSON()).sort((a, b) => a.key.localeCompare(b.key)),
      tasks: { ...this.tasks },
      timeline: this.timeline,
      errors: [...this.errorIds.values()].sort((a, b) => b.count - a.count || Number(a.id) - Number(b.id)),
      exceptions: [...this.exceptions.values()].sort((a, b) => b.count - a.count)
    }
  }
}
