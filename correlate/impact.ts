/**
 * Severity from impact, the same rule for every detector: a finding is critical when, in its
 * window, a limit the profile sets is crossed (latency overall or for the request names it
 * affects, the failure ratio, or an expectation of its own such as noMemoryLeak) or users feel
 * it (the requests it slowed got at least FELT_ADDED_MS slower at the median); otherwise it is
 * a warning. Defaults that the profile does not set (the checklist's 85 % hit rate) are thresholds
 * for finding a problem, not limits crossed.
 */
import type { RowImpact, Severity, Window } from '../shared/types.js'
import type { DetectorContext } from './context.js'
import { FELT_ADDED_MS, rowPercentiles, secondsOf } from './latency.js'

export interface Impact {
  severity: Severity
  /** why it is critical, one phrase each ("p95 812 ms over the profile's 500 ms") */
  reasons: string[]
}

const r0 = (v: number): number => Math.round(v)

/**
 * @param rows the request rows the finding affects (their low-load figures, when known, tell
 *   whether users feel the change)
 * @param crossed the finding's own expectation that the profile sets and the finding breaks
 */
export function impact (ctx: DetectorContext, window: Window, rows: RowImpact[] = [], crossed: string[] = []): Impact {
  const reasons = [...crossed]
  const e = ctx.expect
  const limit = e.failureRatio ?? 0.01
  const seconds = secondsOf(ctx.grid, window)
  const overall = rowPercentiles(ctx, null, seconds)
  if (overall.requests) {
    if (e.p95 !== undefined && overall.p95 >= e.p95) reasons.push(`p95 ${r0(overall.p95)} ms over the profile's ${e.p95} ms`)
    let failures = 0
    let requests = 0
    for (let i = 0; i < ctx.grid.t.length; i++) {
      const t = ctx.grid.t[i]!
      if (t < window.from || t > window.to) continue
      failures += ctx.grid.failures[i]!
      requests += ctx.grid.requests[i]!
    }
    if (failures > 0 && requests > 0 && failures / requests > limit) reasons.push(`${(100 * failures / requests).toFixed(1)}% of requests failed (limit ${(limit * 100).toFixed(limit === 0 ? 0 : 1)}%)`)
  }
  for (const r of rows) {
    const limits = e.byName?.[r.key] ?? e.byName?.[r.key.replace(/^\S+\s+/, '')]
    if (limits?.p95 !== undefined && r.p95Ms >= limits.p95) reasons.push(`${r.key} p95 ${r0(r.p95Ms)} ms over its ${limits.p95} ms`)
    // failures of the rows it affects (a measured flow's failures are not in the overall figure)
    const col = ctx.grid.rows.get(r.key)
    if (col && r.key.startsWith('FLOW ')) {
      let f = 0
      let n = 0
      for (let i = 0; i < ctx.grid.t.length; i++) if (ctx.grid.t[i]! >= window.from && ctx.grid.t[i]! <= window.to) { f += col.failures[i]!; n += col.requests[i]! }
      if (f > 0 && n > 0 && f / n > limit) reasons.push(`${(100 * f / n).toFixed(0)}% of ${r.key} failed`)
    }
  }
  const felt = rows.filter(r => r.lowP50Ms !== undefined && r.p50Ms - r.lowP50Ms >= FELT_ADDED_MS)
  if (felt.length) reasons.push(`users wait ${r0(felt[0]!.p50Ms - felt[0]!.lowP50Ms!)} ms longer at the median on ${felt[0]!.key}${felt.length > 1 ? ` and ${felt.length - 1} more` : ''}`)
  return { severity: reasons.length ? 'critical' : 'warning', reasons }
}

/** The fact line a finding carries about its impact. */
export function impactFact (i: Impact): string {
  return i.severity === 'critical' ? `critical because ${i.reasons.join('; ')}` : 'a warning: no profile limit is crossed and no request got 100 ms slower at the median'
}
