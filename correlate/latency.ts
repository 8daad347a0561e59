/**
 * Latency judged per request name. A run's aggregate percentiles move when the mix of
 * requests moves (cheap registrations during the ramp-up, a slow-by-design upload in the
 * steady state), so "latency rose" is never read off the aggregate: each request row is
 * compared with itself, the steady state (after warm-up) against low load, and the rows
 * that slowed are weighed by their traffic.
 *
 * Low load, per row: the ramp-up's seconds at <= 25 % of the peak load level (users, or the
 * planned arrival rate), widened to <= 50 % when the row had fewer than MIN_LOW_REQUESTS
 * there (a short ramp, such as 10 users at 2 a second, leaves a handful of requests per row:
 * the doubling and the 10 ms floor keep noise out).
 *
 * A fast ramp (10 users at 2 a second, the seed's development scenario; 50 users at 10 a
 * second) may leave most rows with only one or two requests at low load: too few to judge a
 * row on its own. Then the rows are judged together, still each against itself: every row
 * with a request at low load gives the ratio of its steady median to its low-load median, and
 * the ratios are pooled, weighted by the low-load requests behind each (a mix that shifts
 * cannot move a pooled per-row ratio). Latency is raised that way only when the pooled ratio
 * at least doubled with >= 10 ms added AND rows with >= 30 % of the traffic slowed; each
 * row's own verdict from so few requests is marked as such.
 *
 * A run without a ramp-up has no low-load reference; then only the profile's limits can say
 * latency is raised.
 *
 * Thresholds (chosen on the tuning set of recorded cases, test/fixtures/cases): a row slowed
 * when its p50 at least doubled AND rose by at least 10 ms (a few ms on a 1 ms endpoint is
 * noise, scheduling and the generator's own load, not a bottleneck); latency is raised for
 * the system when rows carrying >= 30 % of the compared traffic slowed, or a profile limit
 * is crossed in the steady state. A row slowed at the tail too, its median held, when its p95
 * at least doubled (the same ratio) by at least FELT_ADDED_MS, from >= MIN_LOW_REQUESTS at low
 * load: a queue that forms only at peaks (a pool of 3 bound by a slow endpoint holding its
 * connection, on the Flask backend of test/fixtures/flask-notes: cheap reads' p95 3 -> 320 ms,
 * medians unchanged) shows only there. No number was added for it; every corpus case kept its
 * result. Both rules count a change only when the low-load requests show it (slowEvidence,
 * tailEvidence: a binomial test per row, pooled over the request rows, at EVIDENCE_P): a few
 * requests from an endpoint whose latency varies widely at any load are not evidence that it
 * slowed.
 */
import type { RowImpact, TimelineSlice, Window } from '../shared/types.js'
import { countAbove, mergeEncoded, percentileMs, percentilesMs } from '../shared/hist.js'
import type { Histogram } from '../shared/hist.js'
import type { Grid } from './grid.js'
import { loadLevel } from './phases.js'
import type { DetectorContext } from './context.js'

/** a row needs this many requests in the steady window to be judged */
export const MIN_STEADY_REQUESTS = 20
/**
 * ... and this many at low load to be compared. Chosen on the tuning set: with 10, the
 * express target's pool fault at 20 users (tuning) took its low-load reference from the
 * widened window, where the pool already queued (polls at 44.6 ms); with 5 the narrow window
 * gives 4.1 ms, and no healthy tuning case had a request name slow down.
 */
export const MIN_LOW_REQUESTS = 5
/** ... or this many in the widened window (a rare request name in a short ramp) */
export const MIN_LOW_REQUESTS_WIDE = 3
/**
 * rows are judged together (pooled) when those with a reference of their own carry under this
 * share of the judged steady traffic ...
 */
const POOLED_WHEN_COMPARED_UNDER = 0.5
/** ... from at least this many low-load requests in all, over at least two rows */
const MIN_POOLED_LOW_REQUESTS = 5
/** low load: at most this share of the peak load level, first */
const LOW_SHARE = 0.25
/** ... widened to this share for a row with too few requests there */
const LOW_SHARE_WIDE = 0.5
/**
 * ... and, last, to this share: a fast ramp (10 users at 2 a second, where every user
 * registers first) can leave the busy request names no request at all at <= 50 %. Chosen on
 * the express target's pool fault at 10 users run by Locust (tuning set: express, 10 users):
 * at 2 and 4 users the polls and uploads had not started; at 6 users they ran as fast as
 * when healthy. A reference at up to 75 % of the peak only understates a slowdown (the
 * queue is shorter, not absent), so it cannot make a healthy row look slower.
 */
const LOW_SHARE_WIDEST = 0.75
/** a row slowed when its p50 grew this many times ... */
export const SLOWED_RATIO = 2
/** ... and by at least this many ms */
export const SLOWED_ADDED_MS = 10
/** latency is raised when rows with this share of the compared traffic slowed */
export const RAISED_SHARE = 0.3
/** users feel an added delay from about this many ms (the classic 0.1 s of perceived instantaneity) */
export const FELT_ADDED_MS = 100
/**
 * a slower median or a longer tail is taken as measured when the low-load requests would have
 * looked as they did with at most this chance had nothing changed (the usual 5 % significance
 * level, not tuned: every slowdown the recorded corpus's cases relied on passes it, the medians
 * at 0.013 or less, the tails at 0.035 or less)
 */
export const EVIDENCE_P = 0.05

export interface RowLatency extends RowImpact {
  type: string
  name: string
  /** a measured flow (u.measure) rather than one request */
  flow: boolean
  /** p50 added since low load (ms), when compared */
  addedP50Ms?: number
  /** requests at low load behind lowP50Ms */
  lowRequests?: number
  /** compared from fewer than MIN_LOW_REQUESTS_WIDE requests at low load (only when rows are pooled) */
  few?: boolean
  slowed: boolean
  /** slowed at the tail only: the p95 at least doubled by >= FELT_ADDED_MS while the median held */
  tail?: boolean
}

export interface LatencyView {
  /** the window judged: the steady state after warm-up */
  window: Window
  /** every row with enough requests in the window (requests and flows) */
  rows: RowLatency[]
  /** request rows with a low-load reference */
  compared: RowLatency[]
  slowed: RowLatency[]
  /** share of the compared rows' steady traffic in rows that slowed (0..1) */
  slowedShare: number
  /** the overall p95 and p99 of the window (ms) */
  p95: number | null
  p99: number | null
  /** the profile's overall limits crossed in the window ("p95 812 ms is over the profile's 500 ms") */
  overLimit: string[]
  /** latency is raised: the profile's limit is crossed, or rows with RAISED_SHARE of the traffic slowed */
  raised: boolean
  /** one sentence on why (or why not) */
  why: string
  /** no low-load reference: the run had no ramp-up, or no row had enough requests in it */
  noReference?: string
  /**
   * the rows were judged together from few low-load requests each (a fast ramp): the pooled
   * ratio of steady to low-load medians, the added ms, and the low-load requests behind them
   */
  pooled?: { ratio: number; addedMs: number; lowRequests: number; rows: number }
  /**
   * the tail rule's evidence, when a row's p95 at least doubled by a delay users feel while its
   * median held: the low-load requests of the request rows with such a tail, how many lay
   * above their row's mark and how many would have were the tail there already, the chance of
   * as few; and how many candidate rows this did not confirm
   */
  tails?: { lowRequests: number; seen: number; expected: number; p: number; unconfirmed: number }
  /** request names whose median doubled from low load but whose few low-load requests could have looked that fast by chance (the chance: the smallest of theirs) */
  medianUnconfirmed?: { rows: number; p: number }
}

/** The timeline slices by epoch second. */
function slicesByT (ctx: DetectorContext): Map<number, TimelineSlice> {
  const cache = ctx.cache as { slices?: Map<number, TimelineSlice> }
  if (!cache.slices) cache.slices = new Map(ctx.result.timeline.map(s => [s.t, s]))
  return cache.slices
}

/** A row's merged percentiles over some seconds (the row's own per-second histograms). */
export function rowPercentiles (ctx: DetectorContext, key: string | null, seconds: number[]): { requests: number; p50: number; p95: number } {
  const m = merged(ctx, key, seconds)
  if (!m) return { requests: 0, p50: 0, p95: 0 }
  m.h.destroy()
  return { requests: m.requests, p50: m.p50, p95: m.p95 }
}

/** A row's (or, with key null, the overall) histogram over some seconds, merged; null when it made no request then. */
function rowHist (ctx: DetectorContext, key: string | null, seconds: number[]): { requests: number; h: Histogram | null } {
  const by = slicesByT(ctx)
  const hists: string[] = []
  let requests = 0
  for (const t of seconds) {
    const s = by.get(t)
    const e = key === null ? s?.overall : s?.entries[key]
    if (!e || e.requests === 0) continue
    requests += e.requests
    hists.push(e.hist)
  }
  return { requests, h: requests ? mergeEncoded(hists) : null }
}

/** A row's requests over some seconds, without merging its histograms. */
function rowRequests (ctx: DetectorContext, key: string, seconds: number[]): number {
  const by = slicesByT(ctx)
  let n = 0
  for (const t of seconds) n += by.get(t)?.entries[key]?.requests ?? 0
  return n
}

/**
 * Would the low-load requests have shown the steady state's tail, had it been there at low
 * load? The tail rule claims the p95 at least doubled (by FELT_ADDED_MS): the low-load p95 is
 * at most the mark min(steady p95 / SLOWED_RATIO, steady p95 - FELT_ADDED_MS). Were the
 * low-load requests drawn from the steady state's distribution, a share q of them (q: the
 * steady requests above the mark, at least 5 %) would lie above it; p is the chance that as
 * few as the k observed of the n low-load requests would. Few low-load requests cannot rule a
 * tail out: 5 requests from a healthy endpoint whose p95 is 15 times its median all fall under
 * that tail three times in four.
 */
function tailEvidence (steady: Merged, low: Merged): Evidence {
  const markMs = Math.min(steady.p95 / SLOWED_RATIO, steady.p95 - FELT_ADDED_MS)
  const q = countAbove(steady.h, markMs * 1000) / steady.requests
  const k = countAbove(low.h, markMs * 1000)
  return { n: low.requests, k, q, p: binomialCdf(k, low.requests, q), markMs }
}

/**
 * The same question for the median: the median rule claims the p50 at least doubled (by
 * SLOWED_ADDED_MS), so at least half the low-load requests lie at or under the mark
 * min(steady p50 / SLOWED_RATIO, steady p50 - SLOWED_ADDED_MS). Were they drawn from the steady
 * distribution, a share q would (q: the steady requests at or under the mark); p is the chance
 * of as many as the k observed. An endpoint whose latency varies widely at any load (a median
 * of 20 ms, a p95 of 300) puts 4 of its first 6 requests under half its median one run in ten.
 */
function slowEvidence (steady: Merged, low: Merged): Evidence {
  const markMs = Math.min(steady.p50 / SLOWED_RATIO, steady.p50 - SLOWED_ADDED_MS)
  if (markMs <= 0) return { n: 0, k: 0, q: 0, p: 1, markMs }
  const q = (steady.requests - countAbove(steady.h, markMs * 1000)) / steady.requests
  const k = low.requests - countAbove(low.h, markMs * 1000)
  return { n: low.requests, k, q, p: k === 0 ? 1 : 1 - binomialCdf(k - 1, low.requests, q), markMs }
}

/** a row's merged histogram over a window, with its requests and median and p95 (ms) */
interface Merged { requests: number; h: Histogram; p50: number; p95: number }
/** what a rule's claim rests on: n low-load requests, k of them on the claim's side of the mark, the steady share q there, the chance p */
interface Evidence { n: number; k: number; q: number; p: number; markMs: number }

function merged (ctx: DetectorContext, key: string | null, seconds: number[]): Merged | null {
  const { requests, h } = rowHist(ctx, key, seconds)
  if (!h) return null
  const [p50, p95] = percentilesMs(h, [50, 95])
  return { requests, h, p50: p50!, p95: p95! }
}

/** P(sum of X_i <= k) for independent X_i ~ Binomial(n_i, q_i) */
export function poissonBinomialCdf (k: number, rows: Array<{ n: number; q: number }>): number {
  // the distribution of the sum, kept up to k
  let dist = [1]
  for (const { n, q } of rows) {
    const pmf: number[] = []
    let term = Math.pow(1 - q, n)
    for (let i = 0; i <= Math.min(n, k); i++) {
      pmf.push(q >= 1 ? (i === n ? 1 : 0) : term)
      if (q < 1) term *= ((n - i) / (i + 1)) * (q / (1 - q))
    }
    const next = new Array<number>(Math.min(k, dist.length - 1 + n) + 1).fill(0)
    for (let a = 0; a < dist.length; a++) {
      for (let b = 0; b < pmf.length && a + b < next.length; b++) next[a + b]! += dist[a]! * pmf[b]!
    }
    dist = next
  }
  return Math.min(1, dist.reduce((a, b) => a + b, 0))
}

/** P(X <= k) for X ~ Binomial(n, q): the sum's distribution for one row */
const binomialCdf = (k: number, n: number, q: number): number => poissonBinomialCdf(k, [{ n, q }])

export function secondsOf (grid: Grid, w: Window): number[] {
  return grid.t.filter(t => t >= w.from && t <= w.to)
}

/** The ramp-up's seconds at or under `share` of the peak load. */
function lowSeconds (ctx: DetectorContext, share: number): number[] {
  const up = ctx.phases.find(p => p.kind === 'ramp-up')
  if (!up) return []
  const level = loadLevel(ctx.grid, ctx.result.meta)
  const peak = Math.max(0, ...level)
  const out: number[] = []
  for (let i = 0; i < ctx.grid.t.length; i++) {
    const t = ctx.grid.t[i]!
    if (t < up.from || t > up.to) continue
    if (level[i]! > 0 && level[i]! <= share * peak) out.push(t)
  }
  return out
}

function round (v: number, digits = 1): number {
  const f = 10 ** digits
  return Math.round(v * f) / f
}

/** "GET /users/[id] 1.1 -> 470 ms" */
export function rowChange (r: RowImpact): string {
  if (r.tail && r.lowP95Ms !== undefined) return `${r.key} p95 ${round(r.lowP95Ms)} -> ${round(r.p95Ms)} ms (median ${round(r.p50Ms)} ms)`
  return r.lowP50Ms !== undefined ? `${r.key} ${round(r.lowP50Ms)} -> ${round(r.p50Ms)} ms` : `${r.key} ${round(r.p50Ms)} ms`
}

/** The per-row view of the steady state against low load, computed once per diagnosis. */
export function latencyView (ctx: DetectorContext): LatencyView {
  const cache = ctx.cache as { latency?: LatencyView }
  if (cache.latency) return cache.latency
  const window = ctx.warm
  const steady = secondsOf(ctx.grid, window)
  const narrow = lowSeconds(ctx, LOW_SHARE)
  const wide = lowSeconds(ctx, LOW_SHARE_WIDE)
  const widest = lowSeconds(ctx, LOW_SHARE_WIDEST)
  const rows: RowLatency[] = []
  // each compared row with the evidence its low-load requests give for either rule
  const measured: Array<{ r: RowLatency; s: { p50: number; p95: number }; low: { requests: number; p50: number; p95: number }; median: Evidence; tail: Evidence }> = []
  for (const e of ctx.result.totals.entries) {
    const s = merged(ctx, e.key, steady)
    if (!s || s.requests < MIN_STEADY_REQUESTS) { s?.h.destroy(); continue }
    const r: RowLatency = { key: e.key, type: e.type, name: e.name, flow: e.type === 'FLOW', requests: s.requests, p50Ms: s.p50, p95Ms: s.p95, slowed: false }
    // the low-load window: chosen by its request count, then merged once
    let lowSecs = narrow
    let lowN = rowRequests(ctx, e.key, narrow)
    if (lowN < MIN_LOW_REQUESTS) {
      const w = rowRequests(ctx, e.key, wide)
      if (w >= MIN_LOW_REQUESTS_WIDE || w > lowN) { lowSecs = wide; lowN = w }
    }
    if (lowN < MIN_LOW_REQUESTS_WIDE) {
      const w = rowRequests(ctx, e.key, widest)
      if (w > lowN) { lowSecs = widest; lowN = w }
    }
    const low = lowN >= 1 ? merged(ctx, e.key, lowSecs) : null
    if (low) {
      r.lowP50Ms = low.p50
      r.lowP95Ms = low.p95
      r.lowRequests = low.requests
      r.addedP50Ms = s.p50 - low.p50
      if (low.requests < MIN_LOW_REQUESTS_WIDE) r.few = true
      measured.push({ r, s, low, median: slowEvidence(s, low), tail: tailEvidence(s, low) })
      low.h.destroy()
    }
    s.h.destroy()
    rows.push(r)
  }
  // The median rule: a row slowed when its p50 at least doubled by SLOWED_ADDED_MS, and its
  // low-load requests show it (slowEvidence): a row's own, or the request rows' together.
  const medians = measured.map(m => ({ m, candidate: m.s.p50 >= SLOWED_RATIO * m.low.p50 && m.s.p50 - m.low.p50 >= SLOWED_ADDED_MS, ...m.median }))
  const medianRows = medians.filter(x => !x.m.r.flow && x.markMs > 0)
  const medianSeen = medianRows.reduce((a, x) => a + x.k, 0)
  const pooledMedianP = medianSeen === 0 ? 1 : 1 - poissonBinomialCdf(medianSeen - 1, medianRows)
  let medianUnconfirmed = 0
  let medianUnconfirmedP = 1
  for (const x of medians) {
    if (!x.candidate) continue
    if (x.p < EVIDENCE_P || (!x.m.r.flow && pooledMedianP < EVIDENCE_P)) {
      x.m.r.slowed = true
    } else {
      medianUnconfirmed++
      medianUnconfirmedP = Math.min(medianUnconfirmedP, x.p)
    }
  }
  // A queue that forms only at peaks leaves the median and lengthens the tail: a row whose p95
  // at least doubled by a delay users feel slowed too, from MIN_LOW_REQUESTS at low load and
  // confirmed by what those requests could show (tailEvidence): a row on its own, or the
  // request rows together (every request row with a tail users feel, candidate or not, so that
  // the rows are not picked by the sample they are judged on).
  const tails = measured
    .filter(m => !m.r.slowed && m.low.requests >= MIN_LOW_REQUESTS && m.s.p95 > FELT_ADDED_MS)
    .map(m => ({ m, candidate: m.s.p95 >= SLOWED_RATIO * m.low.p95 && m.s.p95 - m.low.p95 >= FELT_ADDED_MS, ...m.tail }))
  const requestTails = tails.filter(t => !t.m.r.flow)
  const tailSeen = requestTails.reduce((a, t) => a + t.k, 0)
  const tailExpected = requestTails.reduce((a, t) => a + t.n * t.q, 0)
  const pooledTailP = poissonBinomialCdf(tailSeen, requestTails)
  let tailUnconfirmed = 0
  // the chance behind the confirmed tails: the rows together's, or one row's own
  let tailP = pooledTailP
  for (const t of tails) {
    if (!t.candidate) continue
    if (t.p < EVIDENCE_P || (!t.m.r.flow && pooledTailP < EVIDENCE_P)) {
      t.m.r.slowed = true
      t.m.r.tail = true
      if (pooledTailP >= EVIDENCE_P) tailP = Math.min(tailP, t.p)
    } else {
      tailUnconfirmed++
    }
  }
  const judged = rows.filter(r => !r.flow)
  const judgedTraffic = judged.reduce((a, r) => a + r.requests, 0)
  const own = judged.filter(r => r.lowP50Ms !== undefined && !r.few)
  const ownShare = judgedTraffic ? own.reduce((a, r) => a + r.requests, 0) / judgedTraffic : 0
  // a fast ramp: most traffic has no reference of its own; judge the rows together
  const fewRows = judged.filter(r => r.few)
  const fewLow = fewRows.reduce((a, r) => a + r.lowRequests!, 0) + own.reduce((a, r) => a + r.lowRequests!, 0)
  const pooledRows = [...own, ...fewRows]
  let pooled: LatencyView['pooled']
  if (ownShare < POOLED_WHEN_COMPARED_UNDER && fewRows.length && pooledRows.length >= 2 && fewLow >= MIN_POOLED_LOW_REQUESTS) {
    let logSum = 0
    let addSum = 0
    let n = 0
    for (const r of pooledRows) {
      const w = r.lowRequests!
      logSum += w * Math.log(Math.max(r.p50Ms, 0.01) / Math.max(r.lowP50Ms!, 0.01))
      addSum += w * r.addedP50Ms!
      n += w
    }
    pooled = { ratio: Math.exp(logSum / n), addedMs: addSum / n, lowRequests: n, rows: pooledRows.length }
  }
  // rows compared from a request or two count only when the rows are pooled
  for (const r of rows) {
    if (r.few && !pooled) {
      delete r.lowP50Ms; delete r.lowP95Ms; delete r.addedP50Ms; delete r.lowRequests; delete r.few
      r.slowed = false
    }
  }
  const compared = rows.filter(r => !r.flow && r.lowP50Ms !== undefined)
  const slowed = compared.filter(r => r.slowed)
  const traffic = compared.reduce((a, r) => a + r.requests, 0)
  const slowedShare = traffic ? slowed.reduce((a, r) => a + r.requests, 0) / traffic : 0
  const pooledRaised = pooled !== undefined && pooled.ratio >= SLOWED_RATIO && pooled.addedMs >= SLOWED_ADDED_MS
  const overall = rowPercentiles(ctx, null, steady)
  const p95 = overall.requests ? overall.p95 : null
  const p99 = overall.requests ? percentileOverall(ctx, steady, 99) : null
  const overLimit: string[] = []
  const e = ctx.expect
  if (p95 !== null && e.p95 !== undefined && p95 >= e.p95) overLimit.push(`p95 ${round(p95, 0)} ms is over the profile's ${e.p95} ms`)
  if (p99 !== null && e.p99 !== undefined && p99 >= e.p99) overLimit.push(`p99 ${round(p99, 0)} ms is over the profile's ${e.p99} ms`)
  const noReference = !narrow.length && !wide.length && !widest.length
    ? 'the run has no ramp-up at low load to compare with'
    : compared.length === 0 ? `no request name had ${MIN_LOW_REQUESTS_WIDE} requests at low load to compare with` : undefined
  const raised = overLimit.length > 0 || (pooled ? pooledRaised : true) && slowedShare >= RAISED_SHARE
  const pooledText = pooled ? ` (a fast ramp left ${pooled.lowRequests} requests at low load over ${pooled.rows} names: judged together, their medians rose ${round(pooled.ratio, 1)}x, +${round(pooled.addedMs, 0)} ms)` : ''
  const why = slowed.length
    ? `${slowed.length} of ${compared.length} request names slowed from low load (${Math.round(slowedShare * 100)}% of their traffic)${pooledText}: ${slowed.sort((a, b) => b.requests - a.requests).slice(0, 4).map(rowChange).join(', ')}${slowed.length > 4 ? ', ...' : ''}`
    : overLimit.length ? overLimit.join('; ') : noReference ? `latency could not be compared with low load: ${noReference}` : `no request name slowed from low load (${compared.length} compared)${pooledText}`
  const tailsSeen = tails.some(t => t.candidate)
    ? { lowRequests: requestTails.reduce((a, t) => a + t.n, 0), seen: tailSeen, expected: tailExpected, p: tailUnconfirmed ? pooledTailP : tailP, unconfirmed: tailUnconfirmed }
    : undefined
  const chance = (p: number): string => p < 0.001 ? 'under 0.1 %' : `${round(p * 100, 1)} %`
  const tailText = !tailsSeen ? ''
    : tailsSeen.unconfirmed
      ? `; ${tailsSeen.unconfirmed} request name${tailsSeen.unconfirmed === 1 ? '' : 's'} with a p95 grown from low load not counted: their low-load requests (${tailsSeen.lowRequests}, ${tailsSeen.seen} in the tail where ${round(tailsSeen.expected, 1)} were expected) could have missed a tail that was always there (chance ${chance(tailsSeen.p)})`
      : `; the longer tails are measured: ${tailsSeen.seen} of ${tailsSeen.lowRequests} low-load requests in them where ${round(tailsSeen.expected, 1)} were expected had they been there (chance ${chance(tailsSeen.p)})`
  const medianText = medianUnconfirmed
    ? `; ${medianUnconfirmed} request name${medianUnconfirmed === 1 ? '' : 's'} with a median doubled from low load not counted: so few low-load requests could have been that fast by chance (${chance(medianUnconfirmedP)})`
    : ''
  const whyAll = (overLimit.length && slowed.length ? `${overLimit.join('; ')}; ${why}` : why) + medianText + tailText
  const view: LatencyView = { window, rows, compared, slowed, slowedShare, p95, p99, overLimit, raised, why: whyAll, noReference, ...(pooled ? { pooled } : {}), ...(tailsSeen ? { tails: tailsSeen } : {}), ...(medianUnconfirmed ? { medianUnconfirmed: { rows: medianUnconfirmed, p: medianUnconfirmedP } } : {}) }
  cache.latency = view
  return view
}

function percentileOverall (ctx: DetectorContext, seconds: number[], p: number): number {
  const by = slicesByT(ctx)
  const h = mergeEncoded(seconds.map(t => by.get(t)?.overall.hist ?? '').filter(Boolean))
  const v = percentileMs(h, p)
  h.destroy()
  return v
}

/**
 * Every measured flow (u.measure) as a finding's evidence, however few finished in the window
 * (a flow that waits for a backlog may finish a handful of times, or fail), with its low-load
 * figures when the latency view has them.
 */
export function flowImpacts (ctx: DetectorContext, w: Window): RowImpact[] {
  const view = latencyView(ctx)
  const seconds = secondsOf(ctx.grid, w)
  return ctx.result.totals.entries.filter(e => e.type === 'FLOW').map((e) => {
    const known = view.rows.find(r => r.key === e.key)
    if (known) return asImpact([known])[0]!
    const s = rowPercentiles(ctx, e.key, seconds)
    return { key: e.key, requests: s.requests, p50Ms: round(s.p50, 2), p95Ms: round(s.p95, 2) }
  })
}

/** Rows as a finding's evidence (the heaviest first). */
export function asImpact (rows: RowLatency[], max = 8): RowImpact[] {
  return [...rows].sort((a, b) => b.requests - a.requests).slice(0, max).map(r => ({
    key: r.key, requests: r.requests, p50Ms: round(r.p50Ms, 2), p95Ms: round(r.p95Ms, 2),
    ...(r.lowP50Ms !== undefined ? { lowP50Ms: round(r.lowP50Ms, 2), lowP95Ms: round(r.lowP95Ms!, 2) } : {}),
    ...(r.tail ? { tail: true } : {})
  }))
}
