/**
 * The figures that the diagnosis and the checklist (and compare) both state, computed once
 * and kept in the diagnosis (`measures`), so each number has one source: the cache hit rate
 * and the database connections over the steady state after warm-up, and the seconds each
 * probe had no data in that window.
 */
import { METRICS } from '../shared/metrics.js'
import type { Measures, Window } from '../shared/types.js'
import type { Grid } from './grid.js'
import { seriesIds, sumColumns, valuesIn } from './grid.js'
import type { DetectorContext } from './context.js'
import { appSessions } from './pg.js'
import { median, sum } from './stats.js'

export interface CacheMeasure { rate: number; hits: number; misses: number; expired: number; evicted: number; samples: number }

/** Redis hits and misses over a window (null when Redis was not probed or saw no lookup). */
export function cacheMeasure (grid: Grid, w: Window): CacheMeasure | null {
  const col = (metric: string): number[] => valuesIn(grid, sumColumns(grid, seriesIds(grid, 'redis', metric)), w)
  const hits = col(METRICS.redis.hitsPerS)
  if (!hits.length) return null
  const h = sum(hits)
  const m = sum(col(METRICS.redis.missesPerS))
  if (h + m === 0) return { rate: NaN, hits: 0, misses: 0, expired: 0, evicted: 0, samples: hits.length }
  return { rate: h / (h + m), hits: h, misses: m, expired: sum(col(METRICS.redis.expiredPerS)), evicted: sum(col(METRICS.redis.evictedPerS)), samples: hits.length }
}

/** seconds of the window in which each probe's series had no value (a gap) */
function gaps (grid: Grid, w: Window): Record<string, number> {
  const out: Record<string, number> = {}
  const probes = new Set([...grid.meta.values()].map(s => s.probe))
  for (const p of probes) {
    if (p === 'generator') continue
    const ids = [...grid.meta.values()].filter(s => s.probe === p).map(s => s.id)
    const col = sumColumns(grid, ids)
    const a = Math.max(0, w.from - grid.t[0]!)
    const b = Math.min(grid.t.length - 1, w.to - grid.t[0]!)
    let missing = 0
    for (let i = a; i <= b; i++) if (col[i] === null) missing++
    if (missing) out[p] = missing
  }
  return out
}

export function measures (ctx: DetectorContext): Measures {
  const out: Measures = { window: ctx.warm }
  const c = cacheMeasure(ctx.grid, ctx.warm)
  if (c && c.hits + c.misses > 0) out.cache = { rate: c.rate, hits: Math.round(c.hits), misses: Math.round(c.misses), expired: Math.round(c.expired), evicted: Math.round(c.evicted) }
  if (seriesIds(ctx.grid, 'pg', METRICS.pg.connections).length) {
    const s = appSessions(ctx)
    const all = valuesIn(ctx.grid, s.col, { from: ctx.grid.t[0]!, to: ctx.grid.t[ctx.grid.t.length - 1]! })
    const warm = valuesIn(ctx.grid, s.col, ctx.warm)
    if (all.length) out.dbConnections = { peak: Math.max(...all), typical: warm.length ? median(warm) : Math.max(...all), attribution: `${s.whose} sessions: ${s.how}` }
  }
  const g = gaps(ctx.grid, ctx.warm)
  if (Object.keys(g).length) out.gaps = g
  return out
}
