/**
 * What every detector receives: the joined grid, the phases and windows, the profile's
 * expectations and the probes' facts. Detectors are pure functions of this context.
 */
import type { Expectations, Finding, Phase, ProbeStatus, RunResult, Window } from '../shared/types.js'
import { formatClock } from '../shared/duration.js'
import type { Grid } from './grid.js'
import { typicalP95, valuesIn } from './grid.js'
import { median, quantile } from './stats.js'

export interface DetectorContext {
  result: RunResult
  grid: Grid
  phases: Phase[]
  /** the steady state (or the whole run when it has none) */
  steady: Window
  /** the steady state without its warm-up */
  warm: Window
  expect: Expectations
  /** ProbeStatus.facts by probe name */
  facts: Record<string, Record<string, unknown>>
  status: Record<string, ProbeStatus>
}

/** A detector found nothing, found something, or could not look (and says why). */
export type DetectorResult = Finding[] | { skipped: string }

export interface Detector {
  id: string
  /** causes name a bottleneck; symptoms describe what users saw and are folded into causes */
  kind: 'cause' | 'symptom'
  run (ctx: DetectorContext): DetectorResult
}

/** "1:05" into the run */
export function at (ctx: DetectorContext, t: number): string {
  return formatClock(t - Math.floor(ctx.result.meta.startedAt / 1000))
}

export function span (ctx: DetectorContext, w: Window): string {
  return `${at(ctx, w.from)}-${at(ctx, w.to)}`
}

export function round (v: number, digits = 1): number {
  const f = 10 ** digits
  return Math.round(v * f) / f
}

export function mb (bytes: number): string {
  return `${round(bytes / 1e6, 1)} MB`
}

export function pct (ratio: number): string {
  return `${round(ratio * 100, 1)}%`
}

/** latency counts as elevated from this p50 (ms) ... */
const ELEVATED_P50_MS = 20
/** ... or this p95 (ms) ... */
const ELEVATED_P95_MS = 50
/** ... when it is this many times what it was at low load */
const ELEVATED_RISE = 3

export interface Elevation {
  elevated: boolean
  p50: number | null
  p95: number | null
  /** at low load (the ramp-up's better seconds) */
  baseP50: number | null
  baseP95: number | null
  /** one sentence on why it counts as elevated */
  why: string
}

/**
 * Whether users waited noticeably longer in the steady state than at low load (or than the
 * profile allows). Low load is the ramp-up: the lower quartile of its per-second p50 and the
 * typical p95 of its first third.
 */
export function latencyElevation (ctx: DetectorContext): Elevation {
  const p50s = valuesIn(ctx.grid, ctx.grid.p50, ctx.warm)
  const p50 = p50s.length ? median(p50s) : null
  const p95 = typicalP95(ctx.grid, ctx.warm)
  const up = ctx.phases.find(p => p.kind === 'ramp-up')
  let baseP50: number | null = null
  let baseP95: number | null = null
  if (up) {
    const early = valuesIn(ctx.grid, ctx.grid.p50, up)
    if (early.length) baseP50 = quantile(early, 0.25)
    baseP95 = typicalP95(ctx.grid, { from: up.from, to: up.from + Math.max(2, Math.floor((up.to - up.from) / 3)) })
  }
  const limit = ctx.expect.p95
  if (p95 !== null && limit !== undefined && p95 >= limit) return { elevated: true, p50, p95, baseP50, baseP95, why: `p95 ${round(p95, 0)} ms is over the profile's ${limit} ms` }
  if (p50 !== null && baseP50 !== null && p50 >= ELEVATED_P50_MS && p50 >= ELEVATED_RISE * Math.max(0.5, baseP50)) return { elevated: true, p50, p95, baseP50, baseP95, why: `p50 rose to ${round(p50, 0)} ms from ${round(baseP50, 1)} ms at low load` }
  if (p95 !== null && baseP95 !== null && p95 >= ELEVATED_P95_MS && p95 >= ELEVATED_RISE * Math.max(1, baseP95)) return { elevated: true, p50, p95, baseP50, baseP95, why: `p95 rose to ${round(p95, 0)} ms from ${round(baseP95, 0)} ms at low load` }
  return { elevated: false, p50, p95, baseP50, baseP95, why: '' }
}
