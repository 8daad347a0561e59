/**
 * What every detector receives: the joined grid, the phases and windows, the profile's
 * expectations and the probes' facts. Detectors are pure functions of this context.
 */
import type { Expectations, Finding, Phase, ProbeStatus, RunResult, Window } from '../shared/types.js'
import { formatClock } from '../shared/duration.js'
import type { Grid } from './grid.js'

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
