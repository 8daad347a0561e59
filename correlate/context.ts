/**
 * What every detector receives, and what each declares about itself. A detector is a pure
 * function of the context: the joined grid, the phases and windows, the profile's
 * expectations, the probes' typed facts. Analyses several detectors share (the per-request
 * latency view) are computed once per diagnosis, in `cache`.
 */
import type { ChecklistId, Expectations, FailureKind, Finding, Phase, ProbeStatus, RunResult, Window } from '../shared/types.js'
import { formatClock } from '../shared/duration.js'
import type { Grid } from './grid.js'
import type { ProbeFacts } from './facts.js'

export interface DetectorContext {
  result: RunResult
  grid: Grid
  phases: Phase[]
  /** the steady state (or the whole run when it has none) */
  steady: Window
  /** the steady state without its warm-up */
  warm: Window
  expect: Expectations
  /** the probes' facts, typed and checked */
  facts: ProbeFacts
  status: Record<string, ProbeStatus>
  /** analyses computed once and shared by detectors (see latency.ts) */
  cache: Record<string, unknown>
}

/**
 * A detector found nothing, found something, could not look (and says why), or saw something
 * that is not a finding about the app under load (a slow statement of the workers'): noted.
 */
export type DetectorResult = Finding[] | { skipped: string } | { noted: string }

/**
 * A detector and what it declares, in one place: the findings it makes, which other
 * findings they explain (for the ranking), the checklist item they fail, what it needs.
 */
export interface Detector {
  /** where it breaks ties in the ranking: lower first (the more specific causes before the general ones) */
  order: number
  id: string
  /** finding ids it makes (the first is its own id) */
  findings: string[]
  /** causes name a bottleneck; symptoms describe what users saw and are folded into causes */
  kind: 'cause' | 'symptom'
  /** findings of other detectors that are consequences of this one's (folded under it when both are present) */
  explains?: string[]
  /** failure kinds (error bursts) its findings can explain */
  explainsFailures?: FailureKind[]
  /** the pre-deploy checklist item its findings fail */
  checklist?: ChecklistId
  /** the probes, extensions or flags it needs, in words (README "What each detector needs") */
  needs: string
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

/** The whole run as a window. */
export function wholeRun (ctx: DetectorContext): Window {
  return { from: ctx.grid.t[0]!, to: ctx.grid.t[ctx.grid.t.length - 1]! }
}

/** A confidence lowered for each measurement the finding could not make, kept in [0.3, 0.95]. */
export function confidenceWith (base: number, unmeasured: string[], perMissing = 0.1): number {
  return round(Math.max(0.3, Math.min(0.95, base - perMissing * unmeasured.length)), 2)
}
