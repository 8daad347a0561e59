/**
 * Latency over the profile's limits: a whole-run percentile (overall, or of a request name the
 * profile lists in `byName`) at or over its limit. A symptom: any cause whose window overlaps
 * it explains it.
 */
import type { Finding } from '../../shared/types.js'
import { decodeHistogram } from '../../shared/hist.js'
import { round } from '../context.js'
import type { Detector, DetectorContext } from '../context.js'

/** percentile (ms) of a row's whole-run histogram */
function percentileOf (hist: string, p: number): number {
  const h = decodeHistogram(hist)
  const v = h.totalCount ? h.getValueAtPercentile(p) / 1000 : 0
  h.destroy()
  return v
}

export const latencyLimits: Detector = {
  order: 150,
  id: 'latency-limit',
  findings: ['latency-limit'],
  kind: 'symptom',
  checklist: 'latency',
  needs: 'the profile\'s latency limits (expect: p50/p90/p95/p99, byName)',
  run (ctx) {
    const e = ctx.expect
    const out: Finding[] = []
    const check = (label: string, hist: string, requests: number, limits: { p50?: number; p90?: number; p95?: number; p99?: number }, rowKey?: string): void => {
      if (requests === 0) return
      for (const [m, p] of [['p50', 50], ['p90', 90], ['p95', 95], ['p99', 99]] as const) {
        const limit = limits[m]
        if (limit === undefined) continue
        const actual = percentileOf(hist, p)
        if (actual < limit) continue
        const window = worstWindow(ctx, rowKey, limit)
        out.push({
          id: 'latency-limit',
          // a profile limit crossed is critical, like every finding that crosses one
          severity: 'critical',
          title: `${label} ${m} is ${round(actual, 0)} ms, over the ${limit} ms limit`,
          cause: `Users of ${label} waited longer than the profile allows.`,
          evidence: { series: [], window, values: { [`${m} ms`]: round(actual, 1), 'limit ms': limit, requests }, facts: [`${m} ${round(actual, 0)} ms over ${requests} requests (limit ${limit} ms)`] },
          confidence: 0.95,
          recommendations: ['See the causes above; if none is named, profile the slowest endpoint and check the cache hit rate and the database query times.']
        })
      }
    }
    check('the overall', ctx.result.totals.overall.hist, ctx.result.totals.overall.requests, e)
    for (const [name, limits] of Object.entries(e.byName ?? {})) {
      const rows = ctx.result.totals.entries.filter(r => r.key === name)
      for (const r of rows.length ? rows : ctx.result.totals.entries.filter(x => x.name === name)) check(r.key, r.hist, r.requests, limits, r.key)
    }
    return out
  }
}

/** The seconds where the row's (or overall) p95 was over the limit, or the steady state. */
function worstWindow (ctx: DetectorContext, rowKey: string | undefined, limit: number): { from: number; to: number } {
  const col = rowKey ? ctx.grid.rows.get(rowKey)?.p95 : ctx.grid.p95
  if (!col) return ctx.steady
  let from = -1
  let to = -1
  for (let i = 0; i < col.length; i++) {
    if ((col[i] ?? 0) >= limit) { if (from < 0) from = i; to = i }
  }
  return from < 0 ? ctx.steady : { from: ctx.grid.t[from]!, to: ctx.grid.t[to]! }
}
