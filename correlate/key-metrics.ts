/**
 * The checklist's target metrics of one run, as the baseline-vs-target table reads them:
 * API p50 and p95, DB query time (mean), cache hit rate, cost per user, concurrent users held.
 */
import type { RunResult, Window } from '../shared/types.js'
import { decodeHistogram } from '../shared/hist.js'
import { diagnose } from './diagnose.js'
import { statementMeanOf } from './pg.js'

export interface KeyMetrics {
  p50Ms: number | null
  p95Ms: number | null
  dbQueryMs: number | null
  cacheHitRate: number | null
  costPerUser: number | null
  usersHeld: number | null
  /** how users held was found */
  usersHeldFrom?: 'capacity' | 'peak'
}

function steadyOf (result: RunResult): Window | undefined {
  const d = result.diagnosis ?? diagnose(result)
  const s = d.phases.find(p => p.kind === 'steady')
  return s ? { from: s.from, to: s.to } : undefined
}

export function keyMetrics (result: RunResult): KeyMetrics {
  const h = decodeHistogram(result.totals.overall.hist)
  const p50Ms = h.totalCount ? h.getValueAtPercentile(50) / 1000 : null
  const p95Ms = h.totalCount ? h.getValueAtPercentile(95) / 1000 : null
  h.destroy()
  const w = steadyOf(result)
  const series = result.probes.series
  let dbQueryMs: number | null = statementMeanOf(series, w)
  if (dbQueryMs === null) {
    const top = result.probes.status.find(s => s.probe === 'pg')?.facts?.topQueries
    if (Array.isArray(top) && top.length) {
      const calls = top.reduce((a: number, q: any) => a + Number(q.calls ?? 0), 0)
      const total = top.reduce((a: number, q: any) => a + Number(q.totalMs ?? 0), 0)
      if (calls > 0) dbQueryMs = total / calls
    }
  }
  // the diagnosis's figure, as the checklist states it
  const cache = (result.diagnosis?.measures ?? diagnose(result).measures)?.cache
  const cacheHitRate = cache ? cache.rate : null
  const cap = result.diagnosis?.capacity
  return {
    p50Ms,
    p95Ms,
    dbQueryMs,
    cacheHitRate,
    costPerUser: result.cost ? result.cost.perUser : null,
    usersHeld: cap ? cap.maxUsers : result.meta.peakUsers ?? null,
    usersHeldFrom: cap ? 'capacity' : result.meta.peakUsers !== undefined ? 'peak' : undefined
  }
}
