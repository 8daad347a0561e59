/**
 * The cache detector: Redis keyspace hit rate over the steady state under the target (85 %,
 * the seed's), evictions, entries expiring before they are read again, and misses that track
 * database load.
 */
import { METRICS } from '../../shared/metrics.js'
import { seriesIds, sumColumns, valuesIn } from '../grid.js'
import { pearson, sum } from '../stats.js'
import { pct, round } from '../context.js'
import type { Detector } from '../context.js'

const M = METRICS.redis
/** the seed's target */
const HIT_RATE_MIN = 0.85
/** fewest lookups in the window for a hit rate to mean anything */
const MIN_LOOKUPS = 50
/** fewest seconds with samples */
const MIN_SAMPLES = 8

export const cacheHitRate: Detector = {
  id: 'cache-hit-rate',
  kind: 'cause',
  run (ctx) {
    const hitIds = seriesIds(ctx.grid, 'redis', M.hitsPerS)
    const missIds = seriesIds(ctx.grid, 'redis', M.missesPerS)
    if (!hitIds.length || !missIds.length) return { skipped: 'no Redis series (run with --redis URL)' }
    const hitsCol = sumColumns(ctx.grid, hitIds)
    const missCol = sumColumns(ctx.grid, missIds)
    const hits = valuesIn(ctx.grid, hitsCol, ctx.warm)
    const misses = valuesIn(ctx.grid, missCol, ctx.warm)
    if (hits.length < MIN_SAMPLES) return { skipped: `only ${hits.length} Redis samples in the steady state` }
    const h = sum(hits)
    const m = sum(misses)
    const lookups = h + m
    if (lookups < MIN_LOOKUPS) return { skipped: `only ${round(lookups, 0)} cache lookups in the steady state (need ${MIN_LOOKUPS})` }
    const rate = h / lookups
    const min = ctx.expect.cacheHitRateMin ?? HIT_RATE_MIN
    if (rate >= min) return []
    const facts = [`${round(h, 0)} hits and ${round(m, 0)} misses in the steady state: hit rate ${pct(rate)} (target > ${pct(min)})`]
    const values: Record<string, number> = { 'hit rate': round(rate, 3), target: min, hits: round(h, 0), misses: round(m, 0) }
    const recs: string[] = []
    const expired = sum(valuesIn(ctx.grid, sumColumns(ctx.grid, seriesIds(ctx.grid, 'redis', M.expiredPerS)), ctx.warm))
    const evicted = sum(valuesIn(ctx.grid, sumColumns(ctx.grid, seriesIds(ctx.grid, 'redis', M.evictedPerS)), ctx.warm))
    let title = `The Redis cache hit rate is ${pct(rate)}, under the ${pct(min)} target`
    if (m > 0 && expired >= 0.2 * m) {
      title = `Cache entries expire before they are read again (hit rate ${pct(rate)})`
      facts.push(`${round(expired, 0)} keys expired in the window, ${round((expired / m) * 100, 0)}% of the misses: the TTL is shorter than the time between reads`)
      values['expired keys'] = round(expired, 0)
      recs.push('Check the cache TTL: it should be longer than the typical time between two reads of the same key.')
    }
    if (evicted > 0) {
      facts.push(`${round(evicted, 0)} keys were evicted: Redis hit maxmemory`)
      values['evicted keys'] = round(evicted, 0)
      recs.push('Redis evicts keys: raise maxmemory or cache less per key.')
    }
    if (h === 0 || rate < 0.05) {
      title = `The cache is not serving reads (hit rate ${pct(rate)}): every lookup misses`
      recs.push('Check that the app writes to the cache after a miss (cache-aside) and that it reads the same key it writes.')
    }
    const dbIds = seriesIds(ctx.grid, 'pg', METRICS.pg.callsPerS).concat(seriesIds(ctx.grid, 'pg', METRICS.pg.commitsPerS))
    if (dbIds.length) {
      const db = sumColumns(ctx.grid, dbIds)
      const xs: number[] = []
      const ys: number[] = []
      for (let i = 0; i < db.length; i++) if (db[i] !== null && missCol[i] !== null) { xs.push(missCol[i]!); ys.push(db[i]!) }
      const r = pearson(xs, ys)
      if (xs.length >= MIN_SAMPLES && r >= 0.6) {
        facts.push(`misses track the database load (r = ${round(r, 2)}): each miss becomes a query`)
        values['r(misses, db load)'] = round(r, 2)
      }
    }
    recs.push('Cache the hot reads (profile, stats, saved words) with a TTL that matches how often they change, and invalidate on write instead of expiring early.')
    return [{
      id: 'cache-hit-rate',
      severity: rate < 0.5 ? 'critical' : 'warning',
      title,
      cause: 'Reads that should come from Redis go to the database instead, adding query load and latency.',
      evidence: { series: [...seriesIds(ctx.grid, 'redis', M.hitRate), ...missIds], window: ctx.warm, values, facts },
      confidence: lookups >= 10 * MIN_LOOKUPS ? 0.9 : 0.75,
      recommendations: recs
    }]
  }
}
