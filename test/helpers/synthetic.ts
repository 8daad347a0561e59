/**
 * Synthetic results for detector fixture tests: a timeline whose per-second latencies are
 * drawn (with a seeded PRNG) around a given median and p95, real HDR histograms, and probe
 * series given as functions of the second. Like Clinic.js Doctor's generated test data.
 */
import { createHistogram, encodeHistogram, recordUs } from '../../shared/hist.js'
import { seriesId } from '../../shared/metrics.js'
import { RESULT_FORMAT, RESULT_VERSION } from '../../shared/types.js'
import type { EntryTotals, ErrorGroup, Expectations, ProbeStatus, RunResult, Series, SliceEntry, TimelineSlice, Unit } from '../../shared/types.js'

export function rng (seed = 294915): () => number {
  let x = seed | 0 || 1
  return () => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5
    return ((x >>> 0) % 1_000_000) / 1_000_000
  }
}

export interface SyntheticSeries {
  probe: string
  metric: string
  labels?: Record<string, string>
  unit?: Unit
  /** value at second i (from 0), null for a gap */
  value: (i: number) => number | null
}

export interface SyntheticOptions {
  seconds: number
  users: (i: number) => number
  /** requests per second */
  rps: (i: number) => number
  /** median latency in ms at second i */
  p50: (i: number) => number
  /** p95 latency in ms at second i (default 2x the median) */
  p95?: (i: number) => number
  /** failed requests in second i, and how they failed */
  failures?: (i: number) => number
  failure?: Omit<ErrorGroup, 'id' | 'count' | 'firstAt' | 'lastAt'>
  series?: SyntheticSeries[]
  facts?: Record<string, Record<string, unknown>>
  expectations?: Expectations
  /** generator health per second */
  generator?: (i: number) => { elu: number; loopDelayP99Ms: number }
  seed?: number
  row?: { type: string; name: string }
  /** several request rows instead of one (each its own rate and latency; rps/p50/p95 above are then ignored) */
  rows?: SyntheticRow[]
}

export interface SyntheticRow {
  type: string
  name: string
  rps: (i: number) => number
  p50: (i: number) => number
  p95?: (i: number) => number
}

export const T0 = 1_800_000_000

export function synthetic (o: SyntheticOptions): RunResult {
  const rand = rng(o.seed)
  const rows: SyntheticRow[] = o.rows ?? [{ ...(o.row ?? { type: 'GET', name: '/api' }), rps: o.rps, p50: o.p50, p95: o.p95 }]
  const total = createHistogram()
  const rowTotals = rows.map(() => ({ h: createHistogram(), requests: 0, failures: 0, sumUs: 0, maxUs: 0 }))
  const timeline: TimelineSlice[] = []
  let failureCount = 0
  for (let i = 0; i < o.seconds; i++) {
    const overall = createHistogram()
    const entries: Record<string, SliceEntry> = {}
    let oN = 0
    let oS = 0
    let oMax = 0
    let oF = 0
    rows.forEach((row, k) => {
      const n = Math.max(0, Math.round(row.rps(i)))
      const med = row.p50(i)
      const p95 = row.p95 ? row.p95(i) : med * 2
      // log-normal: median med, 95th percentile p95
      const sigma = Math.max(0.01, Math.log(p95 / med) / 1.645)
      const h = createHistogram()
      let sum = 0
      let mx = 0
      for (let j = 0; j < n; j++) {
        const u1 = Math.max(1e-9, rand())
        const u2 = rand()
        const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2)
        const us = med * 1000 * Math.exp(sigma * z)
        recordUs(h, us)
        recordUs(overall, us)
        recordUs(total, us)
        recordUs(rowTotals[k]!.h, us)
        sum += us
        mx = Math.max(mx, us)
      }
      // failures go to the first row
      const f = k === 0 ? Math.min(n, Math.round(o.failures?.(i) ?? 0)) : 0
      entries[`${row.type} ${row.name}`] = entry(h, n, f, sum, mx)
      const t = rowTotals[k]!
      t.requests += n; t.failures += f; t.sumUs += sum; t.maxUs = Math.max(t.maxUs, mx)
      oN += n; oS += sum; oMax = Math.max(oMax, mx); oF += f
    })
    const slice: TimelineSlice = { t: T0 + i, users: o.users(i), overall: entry(overall, oN, oF, oS, oMax), entries }
    if (oF > 0) { slice.errors = { 0: oF }; failureCount += oF }
    if (o.generator) slice.generator = o.generator(i)
    timeline.push(slice)
  }
  const entryTotals: EntryTotals[] = rows.map((row, k) => {
    const t = rowTotals[k]!
    return { key: `${row.type} ${row.name}`, type: row.type, name: row.name, requests: t.requests, failures: t.failures, bytes: t.requests * 100, minUs: t.h.totalCount ? t.h.minNonZeroValue : 0, maxUs: Math.round(t.maxUs), sumUs: Math.round(t.sumUs), hist: encodeHistogram(t.h) }
  })
  const requests = entryTotals.reduce((a, e) => a + e.requests, 0)
  const failures = entryTotals.reduce((a, e) => a + e.failures, 0)
  const totals: EntryTotals = { key: 'Aggregated', type: '', name: 'Aggregated', requests, failures, bytes: requests * 100, minUs: total.totalCount ? total.minNonZeroValue : 0, maxUs: Math.max(0, ...entryTotals.map(e => e.maxUs)), sumUs: entryTotals.reduce((a, e) => a + e.sumUs, 0), hist: encodeHistogram(total) }
  const series: Series[] = (o.series ?? []).map(s => ({
    id: seriesId(s.probe, s.metric, s.labels),
    probe: s.probe,
    metric: s.metric,
    labels: s.labels,
    unit: s.unit ?? 'count',
    points: Array.from({ length: o.seconds }, (_, i) => [T0 + i, s.value(i)] as [number, number | null])
  }))
  const probes = [...new Set(series.map(s => s.probe))]
  const status: ProbeStatus[] = probes.map(p => ({ probe: p, target: p, state: 'ok', samples: o.seconds, skippedTicks: 0, gaps: [], facts: o.facts?.[p] }))
  const errors: ErrorGroup[] = failureCount && o.failure
    ? [{ id: '0', ...o.failure, count: failureCount, firstAt: T0 * 1000, lastAt: (T0 + o.seconds) * 1000 }]
    : []
  return {
    format: RESULT_FORMAT,
    version: RESULT_VERSION,
    meta: {
      runId: 'synthetic',
      scenario: 'synthetic',
      host: 'http://127.0.0.1:1',
      startedAt: T0 * 1000,
      endedAt: (T0 + o.seconds) * 1000,
      stopReason: 'completed',
      model: { kind: 'closed', stages: [] },
      options: {},
      requestTimeoutMs: 30_000,
      versions: { loadlens: 'test', node: process.versions.node },
      machine: { hostname: 'test', platform: 'linux', cpus: 2, memoryBytes: 8e9 },
      expectations: o.expectations
    },
    totals: { overall: totals, entries: entryTotals, tasks: {} },
    timeline,
    errors,
    exceptions: [],
    probes: { series, status }
  }
}

function entry (h: ReturnType<typeof createHistogram>, n: number, failures: number, sumUs: number, maxUs: number): SliceEntry {
  return {
    requests: n,
    failures,
    bytes: n * 100,
    sumUs: Math.round(sumUs),
    maxUs: Math.round(maxUs),
    hist: encodeHistogram(h),
    p50: n ? h.getValueAtPercentile(50) / 1000 : 0,
    p95: n ? h.getValueAtPercentile(95) / 1000 : 0,
    p99: n ? h.getValueAtPercentile(99) / 1000 : 0
  }
}

/** users: ramp from 0 to `peak` over `rampS` seconds, then hold */
export function ramp (peak: number, rampS: number): (i: number) => number {
  return (i) => Math.min(peak, Math.floor(((i + 1) * peak) / rampS))
}

/** a value with +-`share` seeded noise */
export function noisy (seed: number, share: number): (v: number) => number {
  const r = rng(seed)
  return (v) => v * (1 + (r() * 2 - 1) * share)
}
