/**
 * slow-query on synthetic series and facts: from pg_stat_statements (the statement that
 * dominates the database time, told from one that waited), and without it, from what
 * pg_stat_activity showed running (the statement's sightings and ages) and the per-table
 * sequential-scan counters, naming the table, the index to add and the request names slow
 * enough to run it.
 */
import { describe, expect, it } from 'vitest'
import type { SyntheticOptions, SyntheticSeries } from '../helpers/synthetic.js'
import { ramp } from '../helpers/synthetic.js'
import { RAMP, SECONDS, healthy, ids, run, withPgFacts, withSeries } from '../helpers/healthy.js'

const lookup = { query: 'SELECT * FROM users WHERE id = $1', calls: 900, meanMs: 0.2, totalMs: 180, blocksPerCall: 3 }

describe('slow query from pg_stat_statements', () => {
  it('names the statement that dominates the database time', () => {
    const o = withPgFacts(healthy(), { topQueries: [{ query: 'SELECT count(*), avg(score) FROM messages WHERE user_id = $1', calls: 300, meanMs: 48, totalMs: 14400 }, lookup] })
    const f = run(o).findings[0]!
    expect(f.id).toBe('slow-query')
    expect(f.title).toMatch(/^A slow query \(48 ms per call\): SELECT count\(\*\), avg\(score\) FROM messages/)
    expect(f.recommendations[0]).toMatch(/CREATE INDEX ON messages \(user_id\)/)
    expect(f.unmeasured!.join(' ')).toMatch(/no table of the statement was seen read by large sequential scans/)
  })
  it('a statement that touched few blocks per call waited rather than executed: not a slow query', () => {
    // an UPDATE by primary key that waits for other writers' commits: 21 ms a call, 6 blocks
    const waiting = { query: 'UPDATE users SET last_seen_at = now() WHERE id = $1', calls: 300, meanMs: 21, totalMs: 6300, blocksPerCall: 6 }
    expect(ids(withPgFacts(healthy(), { topQueries: [waiting, lookup] }))).not.toContain('slow-query')
    // the same time spent scanning thousands of blocks a call is slow execution
    expect(ids(withPgFacts(healthy(), { topQueries: [{ ...waiting, query: 'SELECT count(*) FROM messages WHERE user_id = $1', blocksPerCall: 2400 }] }))).toContain('slow-query')
    // and a high mean statement time made by the waiting statement is not either
    const mean = withPgFacts(withSeries(healthy(), [{ probe: 'pg', metric: 'query_mean_ms', unit: 'ms', value: () => 15 }]), { topQueries: [waiting] })
    expect(ids(mean)).not.toContain('slow-query')
  })
  it('what pg_stat_activity saw a statement doing decides, when it saw it often enough', () => {
    // a function that burns CPU on a few rows: few blocks a call, yet seen on the CPU
    const burning = { query: 'SELECT score_pronunciation($1)', calls: 120, meanMs: 40, totalMs: 4800, blocksPerCall: 4, seenActive: { samples: 12, onCpu: 10, waits: { 'LWLock:BufferContent': 2 } } }
    const d = run(withPgFacts(healthy(), { topQueries: [burning, lookup] }))
    const f = d.findings.find(x => x.id === 'slow-query')!
    expect(f.title).toMatch(/score_pronunciation/)
    expect(f.evidence.facts.join(' ')).toMatch(/saw it running in 12 samples: on the CPU in 10, waiting on LWLock:BufferContent in 2/)
    // reading data files is the statement's own work too
    expect(ids(withPgFacts(healthy(), { topQueries: [{ ...burning, seenActive: { samples: 6, onCpu: 1, waits: { 'IO:DataFileRead': 5 } } }, lookup] }))).toContain('slow-query')
    // many blocks, but seen waiting for a row lock or a WAL flush: it waited
    expect(ids(withPgFacts(healthy(), { topQueries: [{ ...burning, blocksPerCall: 900, seenActive: { samples: 10, onCpu: 2, waits: { 'Lock:transactionid': 6, 'IO:WALSync': 2 } } }, lookup] }))).not.toContain('slow-query')
    // seen in fewer than 3 samples: the blocks per call decide
    expect(ids(withPgFacts(healthy(), { topQueries: [{ ...burning, seenActive: { samples: 2, onCpu: 2, waits: {} } }, lookup] }))).not.toContain('slow-query')
  })
  it('a slow statement the app\'s sessions never ran, that no request name is slow enough to run, is the workers\': noted, not a finding', () => {
    // a worker's nightly-style aggregate: 60 ms a call, 14 s in all, never seen in the app's sessions
    const workers = { query: 'SELECT learner_id, count(*) FROM voice_messages GROUP BY 1', calls: 240, meanMs: 60, totalMs: 14400, blocksPerCall: 9000, seenActive: { samples: 0, onCpu: 0, waits: {} } }
    const d = run(withPgFacts(healthy(), { topQueries: [workers, lookup] }))
    expect(d.findings.map(f => f.id)).toEqual([])
    expect(d.notes?.map(n => n.id)).toEqual(['slow-query'])
    expect(d.notes![0]!.text).toMatch(/^a slow statement \(60 ms a call, pg_stat_statements\) ran outside the app's sessions .* the workers' or another client's: SELECT learner_id/)
    // the same statement seen in the app's sessions is the app's
    expect(ids(withPgFacts(healthy(), { topQueries: [{ ...workers, seenActive: { samples: 9, onCpu: 9, waits: {} } }, lookup] }))).toContain('slow-query')
    // ... and so is one a request name is slow enough to run (its median at least half the statement's time), when the requests slowed
    expect(ids(withPgFacts({ ...healthy(), p50: (i) => (i < RAMP ? 5 : 45), p95: (i) => (i < RAMP ? 10 : 90) }, { topQueries: [workers, lookup] }))).toContain('slow-query')
    // a name slow by design beside it, the requests not slowed: never seen in the app's sessions, not shown to be the app's: noted
    const beside = run(withPgFacts({ ...healthy(), p50: () => 45, p95: () => 90 }, { topQueries: [workers, lookup] }))
    expect(beside.findings.map(f => f.id)).toEqual([])
    expect(beside.notes![0]!.text).toMatch(/^a slow statement \(60 ms a call, 14 s in all, pg_stat_statements\) was never seen in the app's sessions, and the app's requests did not slow: not shown to be the app's/)
  })
})

/** Without pg_stat_statements: the stats statement seen running in most samples, ~120 ms into its run, and its table scanned. */
function scanWithoutStatements (o: SyntheticOptions, ageS = 0.12, every = 1): SyntheticOptions {
  const series: SyntheticSeries[] = [
    { probe: 'pg', metric: 'statement_active', labels: { statement: 's1' }, value: (i) => (i % every === 0 && i >= 2 ? 1 + (i % 2) : 0) },
    { probe: 'pg', metric: 'statement_age_s', labels: { statement: 's1' }, value: (i) => (i % every === 0 && i >= 2 ? ageS * (0.8 + (i % 5) / 10) : null) },
    { probe: 'pg', metric: 'statement_active', labels: { statement: 's2' }, value: (i) => (i % 7 === 0 ? 1 : 0) },
    { probe: 'pg', metric: 'statement_age_s', labels: { statement: 's2' }, value: (i) => (i % 7 === 0 ? 0.0004 : null) }
  ]
  const rows = [
    { type: 'GET', name: '/users/[id]/stats', rps: (i: number) => ramp(20, RAMP)(i), p50: () => 260, p95: () => 540 },
    { type: 'GET', name: '/users/[id]', rps: (i: number) => ramp(20, RAMP)(i) * 3, p50: () => 2, p95: () => 5 }
  ]
  const base = withSeries({ ...o, rows }, [...series, ...(o.series ?? []).filter(s => s.metric === 'query_mean_ms').map(s => ({ ...s, value: () => null }))])
  return withPgFacts(base, {
    pgStatStatements: 'missing',
    topQueries: [],
    activitySamples: SECONDS,
    activeStatements: [
      { id: 's1', query: 'SELECT count(*) AS messages, coalesce(sum(word_count), ?) FROM voice_messages WHERE learner_id = $1', samples: 60, instances: 90, ageMedianMs: 120, ageP90Ms: 200, ageMaxMs: 400, onCpu: 30, waits: { 'IO:DataFileRead': 30, 'IPC:ExecuteGather': 30 } },
      { id: 's2', query: 'SELECT id, level FROM learners WHERE id = $1', samples: 10, instances: 10, ageMedianMs: 0.4, ageP90Ms: 0.6, ageMaxMs: 1, onCpu: 10, waits: {} }
    ],
    tables: [
      { table: 'public.voice_messages', seqScans: 1400, seqTupRead: 1400 * 1.2e6, idxScans: 30, idxTupFetch: 400, liveTuples: 1.2e6, seconds: SECONDS },
      { table: 'public.learners', seqScans: 2, seqTupRead: 60, idxScans: 3000, idxTupFetch: 3000, liveTuples: 30000, seconds: SECONDS }
    ]
  })
}

describe('slow query without pg_stat_statements', () => {
  it('finds it in pg_stat_activity, names the table it scans, the index and the request names that run it', () => {
    const d = run(scanWithoutStatements(healthy()))
    const f = d.findings[0]!
    expect(f.id).toBe('slow-query')
    expect(f.title).toMatch(/^A slow query scans public\.voice_messages \(2\d\d ms per call, estimated\): SELECT count/)
    const facts = f.evidence.facts.join('\n')
    expect(facts).toMatch(/pg_stat_activity saw it running in \d+ of \d+ steady-state samples/)
    expect(facts).toMatch(/public\.voice_messages was read by 1400 sequential scans of about 1200000 rows each/)
    expect(facts).toMatch(/request names slow enough to run it: GET \/users\/\[id\]\/stats \(p50 26\d ms/)
    expect(facts).not.toMatch(/GET \/users\/\[id\] \(/)
    expect(f.recommendations[0]).toBe('Add an index for the statement\'s filter: CREATE INDEX ON public.voice_messages (learner_id); then check the plan with EXPLAIN (ANALYZE, BUFFERS).')
    expect(f.unmeasured!.join(' ')).toMatch(/pg_stat_statements is not installed in this database: the statement's time is estimated/)
  })
  it('a fast statement seen now and then is not slow, nor is a slow one seen in few samples', () => {
    expect(ids(scanWithoutStatements(healthy(), 0.003))).not.toContain('slow-query')
    expect(ids(scanWithoutStatements(healthy(), 0.12, 9))).not.toContain('slow-query')
  })
  it('a statement seen mostly waiting on a lock is not slow execution', () => {
    const o = scanWithoutStatements(healthy())
    const pg = o.facts!.pg as any
    pg.activeStatements[0].waits = { 'Lock:transactionid': 80 }
    pg.activeStatements[0].onCpu = 10
    expect(ids(o)).not.toContain('slow-query')
    // a parallel scan's leader waits for its workers: that is the statement's own work
    pg.activeStatements[0].waits = { 'IPC:ExecuteGather': 80 }
    expect(ids(o)).toContain('slow-query')
  })
})
