/**
 * A slow query: requests spend their time waiting for PostgreSQL to execute a statement,
 * typically a sequential scan where an index is missing. Three sources, any of which may be
 * missing:
 *   1. pg_stat_statements (when installed): the mean statement time of the steady state, and
 *      the top statements by total time, each with what pg_stat_activity saw it doing;
 *   2. pg_stat_activity samples (no extension needed): the target's statements seen running,
 *      per statement (pg.statement_active, pg.statement_age_s): how often, how old, on the
 *      CPU or waiting. A snapshot catches a statement of steady length at a uniformly spread
 *      point of its run, so the ages seen average half its duration;
 *   3. pg_stat_user_tables deltas: tables read by sequential scans, rows per scan and per
 *      second, against index scans.
 * A statement is slow when it takes >= the limit (expect.dbQueryMeanMs, default 10 ms, the
 * checklist's target) per call and executes rather than waits: a statement mostly waiting on row
 * locks, LWLocks or a WAL flush is not slow execution, and an index would not help it.
 * Activity path: seen running in >= MIN_SIGHTINGS samples and >= SIGHTED_SHARE of them (it
 * holds a session a fifth of the time or more), estimated duration >= the limit.
 * The finding names the statement, the table it scans and the request names that can run it
 * (their median latency is at least half the statement's duration), and suggests the index
 * from the table and the columns of the statement's WHERE clause.
 */
import { METRICS } from '../../shared/metrics.js'
import type { Finding, PgActiveStatement, PgTableActivity, PgTopQuery, RowImpact, SeenActive } from '../../shared/types.js'
import { seriesIds, valuesIn } from '../grid.js'
import { median } from '../stats.js'
import { confidenceWith, round } from '../context.js'
import type { Detector, DetectorContext } from '../context.js'
import { asImpact, latencyView } from '../latency.js'
import { impact, impactFact } from '../impact.js'
import { appSessions, hasStatements, noPg, statementMean } from '../pg.js'
import { sameTable, statementTables, whereColumns } from '../sql.js'

const M = METRICS.pg
/** the checklist's target for the mean statement time (ms) */
const QUERY_MEAN_LIMIT_MS = 10
/** a slow statement of pg_stat_statements must take at least this share of the database time */
const SLOW_QUERY_TIME_SHARE = 0.2
/** ... over at least this many calls */
const MIN_CALLS = 5
/**
 * A statement whose calls touched fewer blocks than this (8 kB each) did little work: when
 * such calls still take >= the limit, they waited (a row lock, a commit's flush to a busy
 * disk) rather than executed
 */
const WAITING_BLOCKS_PER_CALL = 50
/** pg_stat_activity samples of a statement that decide whether it executed or waited */
const MIN_SEEN_SAMPLES = 3
/** activity path: seen running in at least this many samples ... */
const MIN_SIGHTINGS = 5
/** ... and this share of the samples */
const SIGHTED_SHARE = 0.2
/** a table scanned sequentially reads at least this many rows a scan to count as large */
const LARGE_SCAN_ROWS = 10_000
/**
 * wait events that are a statement's own work: reading and writing table, index and temp
 * data, and a parallel query's leader waiting for its workers to scan (the work is theirs)
 */
const WORKING_WAIT = /^(IO:(DataFile|BufFile|Relation|Slru)|IPC:(ExecuteGather|BgWorkerShutdown|BgWorkerStartup|ParallelFinish|ParallelBitmapScan|MessageQueue))/i

/** mostly on the CPU or reading data (executing), from what pg_stat_activity saw */
function executing (onCpu: number, waits: Record<string, number>): { executing: boolean; seen: number } {
  const working = onCpu + Object.entries(waits).filter(([w]) => WORKING_WAIT.test(w)).reduce((a, [, n]) => a + n, 0)
  const seen = onCpu + Object.values(waits).reduce((a, n) => a + n, 0)
  return { executing: 2 * working >= seen, seen }
}

/** the statement's time went to waiting rather than executing */
function waited (q: PgTopQuery): boolean {
  const seen = q.seenActive
  if (seen && seen.samples >= MIN_SEEN_SAMPLES) return !executing(seen.onCpu, seen.waits).executing
  return q.blocksPerCall !== undefined && q.blocksPerCall < WAITING_BLOCKS_PER_CALL
}

/** "on the CPU in 9, waiting on IO:DataFileRead in 3" */
function seenText (onCpu: number, waits: Record<string, number>): string {
  return [`on the CPU in ${onCpu}`, ...Object.entries(waits).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([w, n]) => `waiting on ${w} in ${n}`)].join(', ')
}

function short (q: string, max = 120): string {
  const one = q.replace(/\s+/g, ' ').trim()
  return one.length > max ? `${one.slice(0, max - 1)}…` : one
}

interface Slow {
  /** pg_stat_statements only: the samples in which the app's sessions were seen running it, and how many its total time would give */
  seenByApp?: number
  expectedSightings: number
  query: string
  /** per call, ms: exact (pg_stat_statements) or estimated from the ages seen */
  durationMs: number
  exact: boolean
  facts: string[]
  values: Record<string, number | string>
  series: string[]
}

/** the slow statement pg_stat_statements shows, if any */
function fromStatements (ctx: DetectorContext, limit: number): { slow: Slow | null; typicalMean: number | null } {
  const typicalMean = statementMean(ctx, ctx.warm)
  const top = ctx.facts.pg?.topQueries ?? []
  const total = top.reduce((a, q) => a + q.totalMs, 0)
  const slowTop = top.filter(q => q.meanMs >= limit && q.calls >= MIN_CALLS && total > 0 && q.totalMs / total >= SLOW_QUERY_TIME_SHARE && !waited(q)).sort((a, b) => b.totalMs - a.totalMs)
  const heaviest = [...top].sort((a, b) => b.totalMs - a.totalMs)[0]
  // a high mean that a waiting statement makes is not slow execution either
  const meanSlow = typicalMean !== null && typicalMean >= limit && !(heaviest !== undefined && waited(heaviest))
  const q = slowTop[0] ?? (meanSlow ? heaviest : undefined)
  if (!q && !meanSlow) return { slow: null, typicalMean }
  const facts: string[] = []
  if (typicalMean !== null) facts.push(`mean statement time ${round(typicalMean, 2)} ms in the steady state (pg_stat_statements; target < ${limit} ms)`)
  if (q) facts.push(`the top statement by total time averaged ${round(q.meanMs, 1)} ms over ${q.calls} calls (${round((q.totalMs / Math.max(1, total)) * 100, 0)}% of the database time): ${short(q.query)}`)
  const seen: SeenActive | undefined = q?.seenActive
  if (seen && seen.samples > 0) facts.push(`pg_stat_activity saw it running in ${seen.samples} samples: ${seenText(seen.onCpu, seen.waits)}`)
  return {
    typicalMean,
    slow: {
      seenByApp: q?.seenActive?.samples,
      // a statement running T seconds in all is caught by about T of the 1 s samples
      expectedSightings: q ? q.totalMs / 1000 : 0,
      query: q?.query ?? '',
      durationMs: q?.meanMs ?? typicalMean!,
      exact: true,
      facts,
      values: { ...(typicalMean !== null ? { 'mean statement ms': round(typicalMean, 2) } : {}), ...(q ? { 'statement mean ms': round(q.meanMs, 2), calls: q.calls } : {}) },
      series: seriesIds(ctx.grid, 'pg', M.queryMeanMs)
    }
  }
}

/** the slow statement the pg_stat_activity samples show, if any */
function fromActivity (ctx: DetectorContext, limit: number): Slow | null {
  const statements = ctx.facts.pg?.activeStatements ?? []
  const sampled = valuesIn(ctx.grid, ctx.grid.series.get(seriesIds(ctx.grid, 'pg', M.connections)[0] ?? '') ?? [], ctx.warm).length
  if (!statements.length || !sampled) return null
  let best: { s: PgActiveStatement; sightings: number; durationMs: number; ids: string[] } | null = null
  for (const s of statements) {
    if (s.id === '(other)') continue
    const activeId = seriesIds(ctx.grid, 'pg', M.statementActive, { statement: s.id })[0]
    const ageId = seriesIds(ctx.grid, 'pg', M.statementAgeS, { statement: s.id })[0]
    if (!activeId || !ageId) continue
    const sightings = valuesIn(ctx.grid, ctx.grid.series.get(activeId)!, ctx.warm).filter(v => v >= 1).length
    const ages = valuesIn(ctx.grid, ctx.grid.series.get(ageId)!, ctx.warm)
    if (sightings < MIN_SIGHTINGS || sightings < SIGHTED_SHARE * sampled || !ages.length) continue
    const durationMs = 2 * median(ages) * 1000
    if (durationMs < limit || !executing(s.onCpu, s.waits).executing) continue
    if (!best || sightings * durationMs > best.sightings * best.durationMs) best = { s, sightings, durationMs, ids: [activeId, ageId] }
  }
  if (!best) return null
  const { s, sightings, durationMs } = best
  return {
    expectedSightings: sightings,
    query: s.query,
    durationMs,
    exact: false,
    facts: [
      `pg_stat_activity saw it running in ${sightings} of ${sampled} steady-state samples, typically ${round(durationMs / 2, 0)} ms into its run (about ${round(durationMs, 0)} ms a call); over the run it was ${seenText(s.onCpu, s.waits)}: ${short(s.query)}`
    ],
    values: { 'samples seen running': sightings, 'estimated ms per call': round(durationMs, 0) },
    series: best.ids
  }
}

/** the table the statement reads with sequential scans (the most rows read), if the counters show one */
function scannedTable (ctx: DetectorContext, query: string): PgTableActivity | null {
  const tables = (ctx.facts.pg?.tables ?? []).filter(t => t.seqScans > 0 && t.seqTupRead / t.seqScans >= LARGE_SCAN_ROWS)
  const named = statementTables(query)
  const match = tables.filter(t => named.some(n => sameTable(n, t.table))).sort((a, b) => b.seqTupRead - a.seqTupRead)[0]
  return match ?? null
}

export const slowQuery: Detector = {
  order: 20,
  id: 'slow-query',
  findings: ['slow-query'],
  kind: 'cause',
  // a statement that executes (sequential scans on the CPU) also keeps the connections busy and
  // the host's CPUs (tuning case: express, no index, 50 users: the host at 99 % beside the scan)
  explains: ['pool-saturation', 'host-cpu'],
  explainsFailures: ['timeout'],
  checklist: 'database',
  needs: '--pg; pg_stat_statements for exact statement times (without it, pg_stat_activity samples estimate them)',
  run (ctx) {
    const missing = noPg(ctx)
    if (missing) return { skipped: missing }
    const limit = ctx.expect.dbQueryMeanMs ?? QUERY_MEAN_LIMIT_MS
    const pgss = fromStatements(ctx, limit)
    const activity = fromActivity(ctx, limit)
    const slow = pgss.slow ?? activity
    if (!slow) return []
    const facts = [...slow.facts]
    if (pgss.slow && activity && activity.query !== slow.query) facts.push(...activity.facts)
    const table = slow.query ? scannedTable(ctx, slow.query) : null
    const values: Record<string, number | string> = { ...slow.values, 'limit ms': limit }
    if (table) {
      const perS = table.seqTupRead / Math.max(1, table.seconds)
      facts.push(`${table.table} was read by ${table.seqScans} sequential scans of about ${round(table.seqTupRead / table.seqScans, 0)} rows each (${round(perS, 0)} rows a second; ${table.idxScans} index scans) over the run, a table of ${table.liveTuples} rows`)
      values['seq scans'] = table.seqScans
      values['rows per seq scan'] = round(table.seqTupRead / table.seqScans, 0)
    }
    // the request names that can run it: their median is at least half the statement's duration
    const lat = latencyView(ctx)
    const running = lat.rows.filter(r => !r.flow && r.p50Ms >= 0.5 * slow.durationMs).sort((a, b) => b.p50Ms - a.p50Ms).slice(0, 3)
    // whose statement: pg_stat_statements counts every client of the database. One that the
    // app's own sessions were never seen running, long enough to have been seen, and that no
    // request name is slow enough to run, is the workers' (or a cron job's): not the requests'
    const s0 = appSessions(ctx)
    const seenByApp = pgss.slow ? pgss.slow.seenByApp : undefined
    if (s0.attributed && pgss.slow && !activity && seenByApp === 0 && pgss.slow.expectedSightings >= MIN_SEEN_SAMPLES && running.length === 0) {
      return { noted: `a slow statement (${round(slow.durationMs, 0)} ms a call, pg_stat_statements) ran outside the app's sessions (pg_stat_activity never saw the app run it in ${round(pgss.slow.expectedSightings, 0)} s of its time) and no request name is slow enough to run it: the workers' or another client's: ${short(slow.query)}` }
    }
    // ... and one the app's sessions were never seen running, however briefly it ran (case
    // flask-cron-report-50u, seen: a cron job's 71 ms report, 1.7 s in all, beside an endpoint
    // slow by design),
    // while the app's requests did not slow and no limit was crossed, is not shown to be the
    // app's, nor to have hurt it: said, not found (a cron job's report, an admin's query)
    if (s0.attributed && pgss.slow && !activity && seenByApp === 0 && !lat.raised) {
      return { noted: `a slow statement (${round(slow.durationMs, 0)} ms a call, ${pgss.slow.expectedSightings < 10 ? round(pgss.slow.expectedSightings, 1) : round(pgss.slow.expectedSightings, 0)} s in all, pg_stat_statements) was never seen in the app's sessions, and the app's requests did not slow: not shown to be the app's (another client of the database, a cron job, an admin, or a rare request): ${short(slow.query)}` }
    }
    const rows: RowImpact[] = asImpact(running)
    if (running.length) facts.push(`request names slow enough to run it: ${running.map(r => `${r.key} (p50 ${round(r.p50Ms, 0)} ms${r.slowed ? `, up from ${round(r.lowP50Ms!, 0)} ms at low load` : ''})`).join(', ')}`)
    const crossed = ctx.expect.dbQueryMeanMs !== undefined && pgss.typicalMean !== null && pgss.typicalMean >= ctx.expect.dbQueryMeanMs ? [`mean statement time ${round(pgss.typicalMean, 1)} ms over the profile's ${ctx.expect.dbQueryMeanMs} ms`] : []
    const imp = impact(ctx, ctx.warm, rows, crossed)
    facts.push(impactFact(imp))
    const unmeasured: string[] = []
    if (!hasStatements(ctx.facts.pg)) unmeasured.push('pg_stat_statements is not installed in this database: the statement\'s time is estimated from pg_stat_activity samples, not measured per call')
    if (s0.caveat) unmeasured.push(s0.caveat)
    if (!table && slow.query) unmeasured.push('no table of the statement was seen read by large sequential scans (pg_stat_user_tables of the probe\'s database)')
    const cols = slow.query ? whereColumns(slow.query) : []
    const tableName = table?.table ?? statementTables(slow.query)[0]
    const recs = [
      tableName && cols.length
        ? `Add an index for the statement's filter: CREATE INDEX ON ${tableName} (${cols.slice(0, 3).join(', ')}); then check the plan with EXPLAIN (ANALYZE, BUFFERS).`
        : 'Run EXPLAIN (ANALYZE, BUFFERS) on the statement; a sequential scan over a large table usually means a missing index on the columns it filters by.',
      'Cache the result if it is read far more often than it changes.'
    ]
    const f: Finding = {
      id: 'slow-query',
      severity: imp.severity,
      title: slow.query
        ? `A slow query${table ? ` scans ${table.table}` : ''} (${round(slow.durationMs, 0)} ms per call${slow.exact ? '' : ', estimated'}): ${short(slow.query, 60)}`
        : `Database statements are slow (mean ${round(slow.durationMs, 1)} ms, target < ${limit} ms)`,
      cause: 'Requests spend their time waiting for PostgreSQL to execute a statement.',
      evidence: { series: slow.series, window: ctx.warm, values, facts, rows },
      confidence: confidenceWith(slow.exact ? 0.85 : table ? 0.8 : 0.7, unmeasured, 0.05),
      recommendations: recs,
      unmeasured
    }
    return [f]
  }
}
