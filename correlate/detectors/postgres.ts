/**
 * PostgreSQL detectors: the app's connection pool saturated, connections near the limit or
 * growing, transactions left open, slow queries and lock waits. They read the pg probe's
 * series (pg.connections{state}, pg.server_connections, pg.waiting{wait_event_type},
 * pg.oldest_query_s, pg.idle_in_xact_s, pg.query_mean_ms) and its facts.
 */
import type { Finding, SeenActive } from '../../shared/types.js'
import { METRICS } from '../../shared/metrics.js'
import { seriesIds, sumColumns, valuesIn, pointsIn } from '../grid.js'
import type { Column } from '../grid.js'
import { median, quantile, shareOf, trend, spearman, pairs } from '../stats.js'
import { at, latencyElevation, round } from '../context.js'
import type { Detector, DetectorContext } from '../context.js'

const M = METRICS.pg
/** fewest samples a PostgreSQL detector needs in its window */
const MIN_SAMPLES = 8
/** connections count as pinned when this share of samples sit at the median count */
const PINNED_SHARE = 0.8
/** the database counts as busy when its mean query time is above this (ms) */
const DB_BUSY_MS = 10
/** idle in transaction: seen in this share of samples ... */
const IDLE_TX_SHARE = 0.3
/** ... and sessions sat idle in transaction at least this long (s, median of samples) */
const IDLE_TX_AGE_S = 0.02
/** a query is long-running from this age (s) ... */
const LONG_QUERY_S = 1
/** ... seen in at least this many samples */
const LONG_QUERY_SAMPLES = 3
/** pg.query_mean_ms comes every few seconds: fewest points for a typical mean */
const MIN_MEAN_POINTS = 3
/** the seed's target for mean query time (ms) */
const QUERY_MEAN_LIMIT_MS = 10
/** a slow statement must take at least this share of the database time */
const SLOW_QUERY_TIME_SHARE = 0.2
/**
 * A statement whose calls touched fewer blocks than this (8 kB each: shared, local and temp,
 * hit or read) did little work: when such calls still take >= the limit, they waited (a row
 * lock held by another transaction, its commit's flush to a busy disk) rather than executed,
 * and an index or a rewrite would not help. The seed's missing index touches thousands.
 */
const WAITING_BLOCKS_PER_CALL = 50
/**
 * pg_stat_activity samples of a statement running (pg probe, PostgreSQL 14+) that decide
 * whether it executed or waited; with fewer, the blocks it touched decide
 */
const MIN_SEEN_SAMPLES = 3

/** wait events ("type:event") that are a statement's own work: reading and writing table, index and temp data */
const WORKING_WAIT = /^IO:(DataFile|BufFile|Relation|Slru)/i

/**
 * The statement's time went to waiting (row locks, LWLocks, a commit's WAL flush, ...) rather
 * than to its own execution: decided by what pg_stat_activity saw it doing when it was seen
 * running often enough (working = on the CPU or reading/writing data files; waiting = any
 * other wait event, in the majority of samples), else by the blocks each call touched (a
 * statement that burns CPU on a few rows is told apart only by the samples).
 */
function waited (q: TopQuery): boolean {
  const seen = q.seenActive
  if (seen && seen.samples >= MIN_SEEN_SAMPLES) {
    const working = seen.onCpu + Object.entries(seen.waits).filter(([w]) => WORKING_WAIT.test(w)).reduce((a, [, n]) => a + n, 0)
    return 2 * working < seen.samples
  }
  return q.blocksPerCall !== undefined && q.blocksPerCall < WAITING_BLOCKS_PER_CALL
}

/** "pg_stat_activity saw it running in 12 samples: on the CPU in 9, waiting on IO:DataFileRead in 3" */
function seenText (seen: SeenActive): string {
  const waits = Object.entries(seen.waits).sort((a, b) => b[1] - a[1]).map(([w, n]) => `waiting on ${w} in ${n}`)
  return `pg_stat_activity saw it running in ${seen.samples} samples: ${[`on the CPU in ${seen.onCpu}`, ...waits].join(', ')}`
}

/** server connections near max_connections from this share */
const NEAR_MAX_SHARE = 0.9

function connectionsColumn (ctx: DetectorContext): { ids: string[]; col: Column } {
  const ids = seriesIds(ctx.grid, 'pg', M.connections)
  return { ids, col: sumColumns(ctx.grid, ids) }
}

function stateColumn (ctx: DetectorContext, state: string): Column {
  return sumColumns(ctx.grid, seriesIds(ctx.grid, 'pg', M.connections, { state }))
}

function noPg (ctx: DetectorContext): string | null {
  if (seriesIds(ctx.grid, 'pg', M.connections).length === 0) return 'no PostgreSQL series (run with --pg URL)'
  return null
}

interface TopQuery { query: string; calls: number; meanMs: number; totalMs: number; blocksPerCall?: number; seenActive?: SeenActive }

function seenActive (raw: any): SeenActive | undefined {
  if (!raw || typeof raw !== 'object' || !Number.isFinite(Number(raw.samples))) return undefined
  const waits: Record<string, number> = {}
  for (const [k, v] of Object.entries(raw.waits ?? {})) if (Number.isFinite(Number(v))) waits[k] = Number(v)
  return { samples: Number(raw.samples), onCpu: Number(raw.onCpu ?? 0), waits }
}

function topQueries (ctx: DetectorContext): TopQuery[] {
  const raw = ctx.facts.pg?.topQueries
  if (!Array.isArray(raw)) return []
  return raw.map((q: any) => ({
    query: String(q.query ?? q.text ?? ''),
    calls: Number(q.calls ?? 0),
    meanMs: Number(q.meanMs ?? q.mean_ms ?? q.meanExecMs ?? 0),
    totalMs: Number(q.totalMs ?? q.total_ms ?? q.totalExecMs ?? 0),
    blocksPerCall: q.blocksPerCall === undefined || q.blocksPerCall === null ? undefined : Number(q.blocksPerCall),
    seenActive: seenActive(q.seenActive)
  })).filter(q => q.query && q.calls > 0)
}

function shortQuery (q: string, max = 120): string {
  const one = q.replace(/\s+/g, ' ').trim()
  return one.length > max ? `${one.slice(0, max - 1)}…` : one
}

export const poolSaturation: Detector = {
  id: 'pool-saturation',
  kind: 'cause',
  run (ctx) {
    const missing = noPg(ctx)
    if (missing) return { skipped: missing }
    const { ids, col } = connectionsColumn(ctx)
    const conns = valuesIn(ctx.grid, col, ctx.warm)
    if (conns.length < MIN_SAMPLES) return { skipped: `only ${conns.length} PostgreSQL samples in the steady state (need ${MIN_SAMPLES})` }
    const pool = Math.round(median(conns))
    const pinned = shareOf(conns, v => Math.abs(v - pool) <= 0.5)
    const peakUsers = Math.max(...valuesIn(ctx.grid, ctx.grid.users, ctx.steady))
    if (pool < 1 || pinned < PINNED_SHARE) return []
    if (pool >= peakUsers) return [] // as many connections as users: the pool cannot be what they wait for
    const lat = latencyElevation(ctx)
    if (!lat.elevated) return []
    const p95 = lat.p95 ?? 0
    const base = lat.baseP95
    const limit = ctx.expect.p95
    // the database itself must not be the slow part
    const mean = valuesIn(ctx.grid, sumColumns(ctx.grid, seriesIds(ctx.grid, 'pg', M.queryMeanMs)), ctx.warm)
    const dbMean = mean.length ? median(mean) : null
    if (dbMean !== null && dbMean >= DB_BUSY_MS) return []
    const lock = valuesIn(ctx.grid, sumColumns(ctx.grid, seriesIds(ctx.grid, 'pg', M.waiting, { wait_event_type: 'Lock' })), ctx.warm)
    if (lock.length && shareOf(lock, v => v >= 1) > 0.2) return []
    // while users grew, the connections stopped at the pool size
    const up = ctx.phases.find(p => p.kind === 'ramp-up')
    let rampFact: string | null = null
    let confidence = 0.6
    if (up) {
      const i0 = up.from - ctx.grid.t[0]!
      const i1 = up.to - ctx.grid.t[0]!
      for (let i = i0; i <= i1; i++) {
        if ((col[i] ?? 0) >= pool) {
          const u = ctx.grid.users[i]!
          if (u < peakUsers) {
            rampFact = `the connections reached ${pool} at ${at(ctx, ctx.grid.t[i]!)} with ${u} users and stayed there while users grew to ${peakUsers}`
            confidence += 0.15
          }
          break
        }
      }
    }
    const users = pairs(ctx.grid.users, ctx.grid.p50)
    const r = spearman(users.x, users.y)
    if (r >= 0.5) confidence += 0.1
    if (dbMean !== null) confidence += 0.1
    if (limit !== undefined && p95 >= limit) confidence += 0.05
    const facts = [
      `the target held ${pool} PostgreSQL connections in ${round(pinned * 100, 0)}% of the steady-state samples while up to ${peakUsers} users sent requests`,
      `latency rose: ${lat.why} (typical p95 ${round(p95, 0)} ms in the steady state${limit !== undefined ? `, limit ${limit} ms` : ''})`
    ]
    if (rampFact) facts.push(rampFact)
    if (dbMean !== null) facts.push(`the database answered in ${round(dbMean, 2)} ms per statement on average, so requests wait for a connection, not for the database`)
    return [{
      id: 'pool-saturation',
      severity: limit !== undefined && p95 >= limit ? 'critical' : 'warning',
      title: `The app's pool of ${pool} PostgreSQL connections is saturated`,
      cause: `Requests queue for one of ${pool} pooled connections: the connection count is pinned at ${pool} while latency rises with load and the database itself is not busy.`,
      evidence: {
        series: [...ids, ...seriesIds(ctx.grid, 'pg', M.queryMeanMs)],
        window: ctx.warm,
        values: { 'pool size': pool, 'pinned share': round(pinned, 2), 'p95 ms': round(p95, 0), ...(base !== null ? { 'p95 ms at low load': round(base, 0) } : {}), ...(dbMean !== null ? { 'db mean query ms': round(dbMean, 2) } : {}), 'r(users, p50)': round(r, 2), ...(lat.p50 !== null ? { 'p50 ms': round(lat.p50, 0) } : {}) },
        facts
      },
      confidence: Math.min(0.95, confidence),
      recommendations: [
        `Enlarge the pool beyond ${pool} connections (the seed's backend defaults to 20) and keep pool size x app processes under PostgreSQL's max_connections.`,
        'Check that nothing holds a pooled connection while doing other work (HTTP calls, file I/O) and that every connection is released.',
        'If many app processes each need a pool, put PgBouncer (transaction pooling) in front of PostgreSQL.'
      ]
    }]
  }
}

export const dbConnections: Detector = {
  id: 'db-connections',
  kind: 'cause',
  run (ctx) {
    const missing = noPg(ctx)
    if (missing) return { skipped: missing }
    const out: Finding[] = []
    const { ids, col } = connectionsColumn(ctx)
    const all = valuesIn(ctx.grid, col, { from: ctx.grid.t[0]!, to: ctx.grid.t[ctx.grid.t.length - 1]! })
    const max = all.length ? Math.max(...all) : 0
    const maxConnections = Number(ctx.facts.pg?.maxConnections ?? ctx.facts.pg?.max_connections ?? NaN)
    const serverIds = seriesIds(ctx.grid, 'pg', M.serverConnections)
    const server = valuesIn(ctx.grid, sumColumns(ctx.grid, serverIds), { from: ctx.grid.t[0]!, to: ctx.grid.t[ctx.grid.t.length - 1]! })
    if (Number.isFinite(maxConnections) && server.length) {
      const peak = Math.max(...server)
      if (peak >= NEAR_MAX_SHARE * maxConnections) {
        out.push({
          id: 'db-connection-limit',
          severity: 'critical',
          title: `PostgreSQL is near its connection limit (${peak} of max_connections ${maxConnections})`,
          cause: 'New connections will be refused ("too many clients already") once every slot is taken.',
          evidence: { series: serverIds, window: ctx.steady, values: { 'peak connections': peak, max_connections: maxConnections }, facts: [`the server held up to ${peak} client connections; max_connections is ${maxConnections}`] },
          confidence: 0.9,
          recommendations: ['Lower the pool size per app process or the number of processes, or put PgBouncer in front of PostgreSQL.', 'Raise max_connections only with the memory to back it (each connection costs work_mem and a backend process).']
        })
      }
    }
    const limit = ctx.expect.dbConnectionsMax
    if (limit !== undefined && max >= limit) {
      out.push({
        id: 'db-connections-over-limit',
        severity: 'critical',
        title: `The target used ${max} PostgreSQL connections, over the profile's limit of ${limit}`,
        cause: `The profile requires fewer than ${limit} database connections.`,
        evidence: { series: ids, window: ctx.steady, values: { 'peak connections': max, limit }, facts: [`peak of ${max} connections for the target`] },
        confidence: 0.95,
        recommendations: ['Size the pool (per process) so that the total stays under the limit; check for connections that are never returned.']
      })
    }
    const { x, y } = pointsIn(ctx.grid, col, ctx.warm)
    if (y.length >= MIN_SAMPLES * 2) {
      const tr = trend(x, y)
      const growth = tr.slope * (x[x.length - 1]! - x[0]!)
      if (tr.slope > 0 && tr.p < 0.01 && tr.tau >= 0.5 && growth >= Math.max(3, 0.25 * Math.max(1, y[0]!))) {
        out.push({
          id: 'db-connections-growing',
          severity: 'warning',
          title: `PostgreSQL connections keep growing through the steady state (+${round(tr.slope * 60, 1)} per minute)`,
          cause: 'Under constant load the connection count should settle; steady growth points to connections opened and not returned (a connection leak) or a pool without a cap.',
          evidence: { series: ids, window: ctx.warm, values: { 'slope per min': round(tr.slope * 60, 2), tau: round(tr.tau, 2), 'p-value': round(tr.p, 4), 'from': y[0]!, 'to': y[y.length - 1]! }, facts: [`connections went from ${y[0]} to ${y[y.length - 1]} under constant load (Theil-Sen slope ${round(tr.slope * 60, 1)}/min, Kendall tau ${round(tr.tau, 2)})`] },
          confidence: Math.min(0.9, 0.5 + tr.tau / 2),
          recommendations: ['Check that every pooled connection is released (finally blocks, error paths) and that the pool has a maximum size.', "Check Celery task clean-up: tasks that open connections must close them (the seed's memory-leak advice applies to connections too)."]
        })
      }
    }
    return out
  }
}

export const idleInTransaction: Detector = {
  id: 'idle-in-transaction',
  kind: 'cause',
  run (ctx) {
    const missing = noPg(ctx)
    if (missing) return { skipped: missing }
    const idle = stateColumn(ctx, 'idle in transaction')
    const aborted = stateColumn(ctx, 'idle in transaction (aborted)')
    const combined: Column = idle.map((v, i) => (v === null && aborted[i] === null ? null : (v ?? 0) + (aborted[i] ?? 0)))
    const values = valuesIn(ctx.grid, combined, ctx.steady)
    if (values.length < MIN_SAMPLES) return { skipped: `only ${values.length} PostgreSQL samples in the steady state` }
    const seen = shareOf(values, v => v >= 1)
    if (seen < IDLE_TX_SHARE) return []
    const ageIds = seriesIds(ctx.grid, 'pg', M.idleInXactS)
    const ages = valuesIn(ctx.grid, sumColumns(ctx.grid, ageIds), ctx.steady).filter(v => v > 0)
    const medianAge = ages.length ? median(ages) : null
    if (medianAge !== null && medianAge < IDLE_TX_AGE_S) return []
    const typical = round(quantile(values, 0.5), 1)
    const peak = Math.max(...values)
    const { col } = connectionsColumn(ctx)
    const conns = valuesIn(ctx.grid, col, ctx.steady)
    const share = conns.length ? quantile(values, 0.5) / Math.max(1, median(conns)) : 0
    const maxAge = ages.length ? Math.max(...ages) : null
    return [{
      id: 'idle-in-transaction',
      severity: share >= 0.3 || (maxAge ?? 0) >= 10 ? 'critical' : 'warning',
      title: `Transactions are held open while the app does other work (${typical} sessions idle in transaction, up to ${peak})`,
      cause: 'Sessions sit "idle in transaction": the app began a transaction and holds its connection (and its locks) while doing something else, so the pool runs dry and other requests wait.',
      evidence: {
        series: [...seriesIds(ctx.grid, 'pg', M.connections, { state: 'idle in transaction' }), ...ageIds],
        window: ctx.steady,
        values: { 'share of samples': round(seen, 2), 'typical sessions': typical, 'peak sessions': peak, ...(medianAge !== null ? { 'median idle age s': round(medianAge, 3) } : {}), ...(maxAge !== null ? { 'max idle age s': round(maxAge, 2) } : {}), 'share of the connections': round(share, 2) },
        facts: [
          `idle-in-transaction sessions were present in ${round(seen * 100, 0)}% of the steady-state samples (typically ${typical}, at most ${peak})`,
          ...(medianAge !== null ? [`a session typically sat idle in its transaction for ${round(medianAge * 1000, 0)} ms before the next statement`] : [])
        ]
      },
      confidence: Math.min(0.95, 0.6 + seen / 2),
      recommendations: [
        'Do not await external calls (HTTP, queues, sleeps) inside a transaction: commit first, or do the slow work before BEGIN.',
        "Set idle_in_transaction_session_timeout (e.g. '5s') so a stuck transaction cannot hold a connection and its locks forever.",
        'Check error paths: a transaction must be rolled back and its connection released when a request fails.'
      ]
    }]
  }
}

export const slowQueries: Detector = {
  id: 'slow-query',
  kind: 'cause',
  run (ctx) {
    const missing = noPg(ctx)
    if (missing) return { skipped: missing }
    const out: Finding[] = []
    const whole = { from: ctx.grid.t[0]!, to: ctx.grid.t[ctx.grid.t.length - 1]! }
    const limit = ctx.expect.dbQueryMeanMs ?? QUERY_MEAN_LIMIT_MS
    const meanIds = seriesIds(ctx.grid, 'pg', M.queryMeanMs)
    const means = valuesIn(ctx.grid, sumColumns(ctx.grid, meanIds), ctx.warm)
    const typicalMean = means.length >= MIN_MEAN_POINTS ? median(means) : null
    const top = topQueries(ctx)
    const totalTime = top.reduce((a, q) => a + q.totalMs, 0)
    const slowTop = top.filter(q => q.meanMs >= limit && q.calls >= 5 && totalTime > 0 && q.totalMs / totalTime >= SLOW_QUERY_TIME_SHARE && !waited(q))
      .sort((a, b) => b.totalMs - a.totalMs)
    const heaviest = [...top].sort((a, b) => b.totalMs - a.totalMs)[0]
    // a high mean that the waiting statement makes is not slow execution either
    const meanSlow = typicalMean !== null && typicalMean >= limit && !(heaviest !== undefined && waited(heaviest))
    if (meanSlow || slowTop.length) {
      const q = slowTop[0] ?? heaviest
      const facts: string[] = []
      if (typicalMean !== null) facts.push(`mean statement time ${round(typicalMean, 2)} ms in the steady state (target < ${limit} ms)`)
      if (q) facts.push(`the top statement by total time averaged ${round(q.meanMs, 1)} ms over ${q.calls} calls (${round((q.totalMs / Math.max(1, totalTime)) * 100, 0)}% of the database time): ${shortQuery(q.query)}`)
      if (q?.seenActive && q.seenActive.samples > 0) facts.push(seenText(q.seenActive))
      out.push({
        id: 'slow-query',
        severity: (typicalMean ?? 0) >= 5 * limit || (q?.meanMs ?? 0) >= 10 * limit ? 'critical' : 'warning',
        title: q ? `A slow query dominates the database time (${round(q.meanMs, 1)} ms per call): ${shortQuery(q.query, 60)}` : `Database queries are slow (mean ${round(typicalMean!, 1)} ms, target < ${limit} ms)`,
        cause: 'Requests spend their time waiting for PostgreSQL to execute a statement.',
        evidence: { series: meanIds, window: ctx.warm, values: { ...(typicalMean !== null ? { 'mean query ms': round(typicalMean, 2) } : {}), ...(q ? { 'top query mean ms': round(q.meanMs, 2), 'top query calls': q.calls } : {}), 'limit ms': limit }, facts },
        confidence: slowTop.length ? 0.85 : 0.7,
        recommendations: [
          'Run EXPLAIN (ANALYZE, BUFFERS) on the statement; a sequential scan over a large table usually means a missing index (the seed: "optimise queries, add indexes").',
          'Add the index the WHERE/JOIN columns need, or cache the result (check the cache hit rate).'
        ]
      })
    }
    // long-running statements seen by pg_stat_activity, with or without pg_stat_statements
    const oldIds = seriesIds(ctx.grid, 'pg', M.oldestQueryS)
    const ages = valuesIn(ctx.grid, sumColumns(ctx.grid, oldIds), whole)
    const longSamples = ages.filter(a => a >= LONG_QUERY_S).length
    if (longSamples >= LONG_QUERY_SAMPLES && !out.length) {
      const text = ctx.facts.pg?.oldestQuery ?? ctx.facts.pg?.longestQuery
      out.push({
        id: 'slow-query',
        severity: 'warning',
        title: `Queries run for ${round(Math.max(...ages), 1)} s or more`,
        cause: 'pg_stat_activity shows statements running for over a second while the load runs.',
        evidence: { series: oldIds, window: whole, values: { 'samples over 1 s': longSamples, 'longest s': round(Math.max(...ages), 2) }, facts: [`${longSamples} samples saw a statement older than ${LONG_QUERY_S} s${text ? `: ${shortQuery(String(typeof text === 'object' ? (text as any).query ?? JSON.stringify(text) : text))}` : ''}`] },
        confidence: 0.7,
        recommendations: ['EXPLAIN ANALYZE the long statement; add indexes or split the work.', "Set statement_timeout for the app's role so one slow statement cannot hold a connection for long."]
      })
    }
    const lockIds = seriesIds(ctx.grid, 'pg', M.waiting, { wait_event_type: 'Lock' })
    const locks = valuesIn(ctx.grid, sumColumns(ctx.grid, lockIds), ctx.steady)
    const lockShare = shareOf(locks, v => v >= 1)
    if (locks.filter(v => v >= 1).length >= LONG_QUERY_SAMPLES && lockShare >= 0.1) {
      const events = lockEvents(ctx)
      const top = events[0]
      out.push({
        id: 'lock-waits',
        severity: lockShare >= 0.3 ? 'critical' : 'warning',
        title: `Sessions wait on locks (${round(lockShare * 100, 0)}% of samples, up to ${Math.max(...locks)} at once${top ? `, mostly ${top.event}` : ''})`,
        cause: `Active sessions wait for ${top ? LOCK_MEANING[top.event] ?? `"${top.event}" locks` : 'row or table locks'} held by other transactions.`,
        evidence: {
          series: [...lockIds, ...events.map(e => e.id)],
          window: ctx.steady,
          values: { 'share of samples': round(lockShare, 2), 'peak waiting': Math.max(...locks) },
          facts: [`sessions waited on Lock events in ${round(lockShare * 100, 0)}% of the steady-state samples`,
            ...events.map(e => `${e.event}: waiting in ${e.samples} samples, up to ${e.peak} at once`)]
        },
        confidence: 0.8,
        recommendations: ['Keep transactions short and touch rows in a consistent order.', 'Look for transactions left open (idle in transaction) and for UPDATEs of hot rows (counters) that serialize requests.']
      })
    }
    return out
  }
}

/** what each Lock wait_event means, for the finding's cause */
const LOCK_MEANING: Record<string, string> = {
  transactionid: 'row locks (another transaction updated or deleted the same rows and has not committed)',
  tuple: 'row locks (several sessions queue for the same row)',
  relation: 'table locks (a DDL statement, LOCK TABLE or VACUUM FULL on a table the requests use)',
  advisory: 'advisory locks taken by the application',
  extend: 'relation extension locks (many sessions inserting into one table at once)'
}

/** The Lock wait events of the steady state (pg.wait_events), the most frequent first. */
function lockEvents (ctx: DetectorContext): Array<{ id: string; event: string; samples: number; peak: number }> {
  const out: Array<{ id: string; event: string; samples: number; peak: number }> = []
  for (const id of seriesIds(ctx.grid, 'pg', M.waitEvents, { wait_event_type: 'Lock' })) {
    const v = valuesIn(ctx.grid, ctx.grid.series.get(id)!, ctx.steady)
    const samples = v.filter(x => x >= 1).length
    if (samples > 0) out.push({ id, event: ctx.grid.meta.get(id)?.labels?.wait_event ?? id, samples, peak: Math.max(...v) })
  }
  return out.sort((a, b) => b.samples - a.samples || b.peak - a.peak)
}
