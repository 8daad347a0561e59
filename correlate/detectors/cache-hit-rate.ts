/**
 * The cache misses: Redis keyspace hit rate over the steady state (after warm-up) under the
 * target (`expect.cacheHitRateMin`, default 85 %, the checklist's). It names entries that expire
 * before they are read again (expired keys >= 20 % of the misses), evictions, a cache that
 * serves nothing (under 5 %), and misses that track the database's load (r >= 0.6).
 *
 * INFO's counters are the whole server's: when the Celery broker lives on the same server
 * (Redis used as cache and broker), the broker's lookups count too; the Celery probe's own
 * are left out (probes/lookup-ledger.ts), and so are the misses on Celery's keys where the
 * server gives key-miss events (probes/redis-key-misses.ts); otherwise the finding says so.
 *
 * Tuning cases (test/fixtures/cases, tuning set): the cache-off and 1 s TTL faults at 0-54 %
 * hit rate over the steady state; every other tuning case at 97-100 %: the checklist's 85 %
 * sits between them. A cache whose hit rate is still rising through the window (filling:
 * measures.ts cacheWarming) is noted, not found: its settled rate was not measured.
 */
import { METRICS } from '../../shared/metrics.js'
import { seriesIds, sumColumns } from '../grid.js'
import { pearson } from '../stats.js'
import { confidenceWith, pct, round } from '../context.js'
import type { Detector } from '../context.js'
import { asImpact, latencyView } from '../latency.js'
import { impact, impactFact } from '../impact.js'
import { EXPIRED_SHARE, HIT_RATE_TARGET, cacheMeasure, cacheWarming } from '../measures.js'

const M = METRICS.redis
/** the checklist's target */
export const HIT_RATE_MIN = HIT_RATE_TARGET
/** fewest lookups in the window for a hit rate to mean anything */
const MIN_LOOKUPS = 50
/** fewest seconds with samples */
const MIN_SAMPLES = 8
/** misses track the database load from this correlation */
const DB_TRACK_R = 0.6

export const cacheHitRate: Detector = {
  order: 100,
  id: 'cache-hit-rate',
  findings: ['cache-hit-rate'],
  kind: 'cause',
  checklist: 'cache',
  needs: '--redis (the cache\'s server; a broker on a server of its own keeps the counters clean)',
  run (ctx) {
    if (!seriesIds(ctx.grid, 'redis', M.hitsPerS).length) return { skipped: 'no Redis series (run with --redis URL)' }
    const c = cacheMeasure(ctx.grid, ctx.warm)
    if (!c || c.samples < MIN_SAMPLES) return { skipped: `only ${c?.samples ?? 0} Redis samples in the steady state` }
    const lookups = c.hits + c.misses
    if (lookups < MIN_LOOKUPS) return { skipped: `only ${round(lookups, 0)} cache lookups in the steady state (need ${MIN_LOOKUPS})` }
    const min = ctx.expect.cacheHitRateMin ?? HIT_RATE_MIN
    if (c.rate >= min) return []
    // a cache still filling has not shown its hit rate yet: said, not found
    const warming = cacheWarming(ctx.grid, ctx.warm, c, min)
    if (warming && warming.lastRate >= min) {
      return { noted: `The cache was still filling and reached its target by the end: its hit rate rose from ${pct(warming.firstRate)} to ${pct(warming.lastRate)} through the steady state (${pct(c.rate)} over the window, under the ${pct(min)} target only because of its fill).` }
    }
    if (warming) {
      return { noted: `The cache was still filling: its hit rate rose from ${pct(warming.firstRate)} to ${pct(warming.lastRate)} through the steady state, with nothing evicted and few keys expired, so the run ended before it settled (${pct(c.rate)} over the window). Whether it settles above ${pct(min)} was not measured: run longer, or warm the cache before measuring.` }
    }
    const facts = [`${round(c.hits, 0)} hits and ${round(c.misses, 0)} misses in the steady state: hit rate ${pct(c.rate)} (target > ${pct(min)})`]
    const values: Record<string, number> = { 'hit rate': round(c.rate, 3), target: min, hits: round(c.hits, 0), misses: round(c.misses, 0), 'expired keys': round(c.expired, 0) }
    const recs: string[] = []
    let title = `The Redis cache hit rate is ${pct(c.rate)}, under the ${pct(min)} target`
    if (c.misses > 0 && c.expired >= EXPIRED_SHARE * c.misses) {
      title = `Cache entries expire before they are read again (hit rate ${pct(c.rate)})`
      facts.push(`${round(c.expired, 0)} keys expired in the window, ${round((c.expired / c.misses) * 100, 0)}% of the misses: the TTL is shorter than the time between reads`)
      recs.push('Lengthen the cache TTL: it should be longer than the typical time between two reads of the same key (invalidate on write instead of expiring early).')
    }
    if (c.evicted > 0) {
      facts.push(`${round(c.evicted, 0)} keys were evicted: Redis hit maxmemory`)
      values['evicted keys'] = round(c.evicted, 0)
      recs.push('Redis evicts keys: raise maxmemory or cache less per key.')
    }
    if (c.hits === 0 || c.rate < 0.05) {
      title = `The cache is not serving reads (hit rate ${pct(c.rate)}): every lookup misses`
      recs.push('Check that the app writes to the cache after a miss (cache-aside), with a TTL, and reads the same key it writes.')
    }
    const dbIds = seriesIds(ctx.grid, 'pg', METRICS.pg.callsPerS).concat(seriesIds(ctx.grid, 'pg', METRICS.pg.commitsPerS))
    if (dbIds.length) {
      const db = sumColumns(ctx.grid, dbIds)
      const missCol = sumColumns(ctx.grid, seriesIds(ctx.grid, 'redis', M.missesPerS))
      const xs: number[] = []
      const ys: number[] = []
      for (let i = 0; i < db.length; i++) if (db[i] !== null && missCol[i] !== null) { xs.push(missCol[i]!); ys.push(db[i]!) }
      const r = pearson(xs, ys)
      if (xs.length >= MIN_SAMPLES && r >= DB_TRACK_R) {
        facts.push(`misses track the database load (r = ${round(r, 2)}): each miss becomes a query`)
        values['r(misses, db load)'] = round(r, 2)
      }
    }
    recs.push('Cache the hot reads with a TTL that matches how often they change.')
    const unmeasured: string[] = []
    const byKey = ctx.facts.redis?.keyMisses === 'by key'
    if (byKey && ctx.facts.redis?.celeryMissesLeftOut) facts.push(`${round(ctx.facts.redis.celeryMissesLeftOut, 0)} misses on Celery's keys over the run (its result backend, its queues) are left out: told apart by Redis key-miss events`)
    if (ctx.facts.redis?.sharedWithBroker && !byKey) unmeasured.push('this Redis server is also the Celery broker: its counters include the workers\' and producers\' broker lookups (a result backend polled for unfinished tasks misses), so the cache\'s own hit rate was not measured apart')
    const crossed = ctx.expect.cacheHitRateMin !== undefined ? [`hit rate ${pct(c.rate)} under the profile's ${pct(ctx.expect.cacheHitRateMin)}`] : []
    const rows = asImpact(latencyView(ctx).slowed)
    const imp = impact(ctx, ctx.warm, rows, crossed)
    facts.push(impactFact(imp))
    return [{
      id: 'cache-hit-rate',
      severity: imp.severity,
      title,
      cause: 'Reads that should come from the cache miss it and go to the backing store instead, adding database load and latency.',
      evidence: { series: [...seriesIds(ctx.grid, 'redis', M.hitRate), ...seriesIds(ctx.grid, 'redis', M.missesPerS), ...seriesIds(ctx.grid, 'redis', M.expiredPerS)], window: ctx.warm, values, facts, rows },
      confidence: confidenceWith(lookups >= 10 * MIN_LOOKUPS ? 0.9 : 0.75, unmeasured, 0.05),
      recommendations: recs,
      unmeasured
    }]
  }
}
