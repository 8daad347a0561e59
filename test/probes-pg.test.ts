/**
 * The PostgreSQL probe against the real server, through a TCP proxy so the connection can be
 * cut without touching the shared PostgreSQL: a transaction held open by a session with its
 * own application_name shows as `idle in transaction`, a session blocked on its row lock as a
 * Lock wait on `transactionid` and as the oldest query (with its text in the facts); every
 * session of the server is grouped by database, application and client address; statements
 * run under load give a mean query time and the top queries; the probe's own session is never counted; cutting the proxy gives a gap and the
 * probe reconnects when it is back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pg from 'pg'
import { PgProbe, statementsEveryFor, sumsEveryFor } from '../probes/pg.js'
import { ProbeScheduler } from '../probes/scheduler.js'
import { startTcpProxy } from './helpers/tcp-proxy.js'
import type { TcpProxy } from './helpers/tcp-proxy.js'
import { sleep } from './helpers/server.js'

const DB = 'loadlens_probes_test'
const ADMIN = 'postgres://postgres@127.0.0.1:5432/postgres'
const APP = 'loadlens-test-app'
const LATE = 'loadlens_probes_late'
let proxy: TcpProxy

beforeAll(async () => {
  const admin = new pg.Client(ADMIN)
  await admin.connect()
  const has = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DB])
  if (!has.rows.length) await admin.query(`CREATE DATABASE ${DB}`).catch(() => {})
  await admin.end()
  const c = new pg.Client(`postgres://postgres@127.0.0.1:5432/${DB}`)
  await c.connect()
  await c.query('CREATE TABLE IF NOT EXISTS probe_items (id int PRIMARY KEY, v text)')
  await c.query("INSERT INTO probe_items SELECT g, md5(g::text) FROM generate_series(1, 2000) g ON CONFLICT DO NOTHING")
  // a statement that works on the CPU and touches no table: a loop until the given time
  await c.query(`CREATE OR REPLACE FUNCTION loadlens_burn(until timestamptz) RETURNS bigint LANGUAGE plpgsql AS $$
    DECLARE n bigint := 0; BEGIN WHILE clock_timestamp() < until LOOP n := n + 1; END LOOP; RETURN n; END $$`)
  await c.end()
  proxy = await startTcpProxy(5432)
})

afterAll(async () => { await proxy?.close() })

/** creates a database of the tests when it is missing */
async function ensureDatabase (db: string): Promise<void> {
  const admin = new pg.Client(ADMIN)
  await admin.connect()
  const has = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [db])
  if (!has.rows.length) await admin.query(`CREATE DATABASE ${db}`).catch(() => {})
  await admin.end()
}

function app (name = APP): pg.Client {
  return new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:5432/${DB}`, application_name: name })
}

describe('pg probe', () => {
  it('sees idle in transaction, the oldest query, mean query time and top queries of the target only', async () => {
    const probe = new PgProbe({ url: `postgres://postgres:not-a-real-secret@127.0.0.1:${proxy.port}/${DB}`, application: APP, statementsEvery: 1 })
    expect(probe.target).not.toContain('not-a-real-secret')
    const s = new ProbeScheduler([probe], { intervalMs: 1000 })
    await s.start()
    const holder = app()
    const sleeper = app()
    const worker = app()
    const blocked = app()
    const burner = app()
    const other = app('someone-else')
    await Promise.all([holder.connect(), sleeper.connect(), worker.connect(), blocked.connect(), burner.connect(), other.connect()])
    // a database created after the probe started is named too
    const admin = new pg.Client(ADMIN)
    await admin.connect()
    await admin.query(`DROP DATABASE IF EXISTS ${LATE}`)
    await admin.query(`CREATE DATABASE ${LATE}`)
    await admin.end()
    const late = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:5432/${LATE}`, application_name: 'late-app' })
    await late.connect()
    try {
      const tStart = Math.floor(Date.now() / 1000)
      // another tenant's open transaction must not count (application filter)
      await other.query('BEGIN')
      await other.query('SELECT 1')
      await holder.query('BEGIN')
      await holder.query('SELECT count(*) FROM probe_items')
      // the holder locks a row; another session of the app waits for it until the commit
      await holder.query("UPDATE probe_items SET v = v WHERE id = 1")
      const waiting = blocked.query("UPDATE probe_items SET v = v WHERE id = 1")
      const sleeping = sleeper.query('SELECT pg_sleep(2.5) /* loadlens-test-sleep */')
      const burning = burner.query('SELECT loadlens_burn($1::timestamptz)', [new Date(Date.now() + 2500).toISOString()])
      const until = Date.now() + 3500
      let n = 0
      while (Date.now() < until) {
        await worker.query('SELECT v FROM probe_items WHERE id = $1', [1 + (n++ % 2000)])
        if (n % 20 === 0) await sleep(5)
      }
      await sleeping
      await burning
      await holder.query('COMMIT')
      await waiting
      await other.query('COMMIT')
      await sleep(1200)
      await s.stop()
      const series = new Map(s.series().map(x => [x.id, x.points]))
      const vals = (id: string): number[] => (series.get(id) ?? []).filter(([t, v]) => t >= tStart && v !== null).map(x => x[1]!)
      const idleTx = vals('pg.connections{state="idle in transaction"}')
      expect(Math.max(...idleTx)).toBe(1)
      expect(Math.max(...vals('pg.idle_in_xact_s'))).toBeGreaterThan(1)
      expect(Math.max(...vals('pg.oldest_query_s'))).toBeGreaterThan(1)
      expect(Math.max(...vals('pg.oldest_xact_s'))).toBeGreaterThan(1)
      // the row lock: a Lock wait, on the holder's transaction id
      expect(Math.max(...vals('pg.waiting{wait_event_type="Lock"}'))).toBe(1)
      expect(Math.max(...vals('pg.wait_events{wait_event="transactionid",wait_event_type="Lock"}'))).toBe(1)
      // five sessions of the app (the probe and someone-else are left out)
      const total = ['active', 'idle', 'idle in transaction', 'idle in transaction (aborted)', 'other']
        .map(state => series.get(`pg.connections{state="${state}"}`)!)
      const lastT = Math.max(...total[0]!.map(p => p[0]))
      const atEnd = total.map(pts => pts.find(p => p[0] === lastT)?.[1] ?? 0).reduce((a, b) => a! + b!, 0)
      expect(atEnd).toBe(5)
      expect(Math.max(...vals('pg.server_connections'))).toBeGreaterThanOrEqual(7)
      // the whole server by database, application and client address: the app's five, the other
      // tenant's one; the probe's own session is in no group
      expect(Math.max(...vals(`pg.sessions{application="${APP}",client="127.0.0.1",database="${DB}"}`))).toBe(5)
      expect(Math.max(...vals(`pg.sessions{application="someone-else",client="127.0.0.1",database="${DB}"}`))).toBe(1)
      expect([...series.keys()].some(id => id.startsWith('pg.sessions') && id.includes('loadlens-probe'))).toBe(false)
      expect(Math.max(...vals(`pg.sessions{application="late-app",client="127.0.0.1",database="${LATE}"}`))).toBe(1)
      expect([...series.keys()].some(id => id.startsWith('pg.sessions') && id.includes('database="oid '))).toBe(false)
      expect(Math.max(...vals('pg.commits_per_s'))).toBeGreaterThan(50)
      const mean = vals('pg.query_mean_ms')
      expect(mean.length).toBeGreaterThan(0)
      expect(Math.max(...vals('pg.calls_per_s'))).toBeGreaterThan(50)
      const st = s.status()[0]!
      expect(st.state).toBe('ok')
      const facts = st.facts as any
      expect(facts.pgStatStatements).toBe('available')
      expect(facts.maxConnections).toBeGreaterThan(0)
      // the blocked UPDATE started first and waited longest: it is the oldest running query
      expect(facts.oldestQuery.query).toContain('UPDATE probe_items')
      expect(facts.oldestQuery.ageS).toBeGreaterThan(2)
      expect(facts.topQueries.length).toBeGreaterThan(0)
      // the sleep or the app's lookups top the list; the probe's own statements never appear
      expect(facts.topQueries.some((q: any) => /probe_items|pg_sleep/.test(q.query))).toBe(true)
      expect(JSON.stringify(facts.topQueries)).not.toContain('loadlens-probe')
      // the app's primary-key lookups touch a few blocks a call (index and heap)
      const lookup = facts.topQueries.find((q: any) => q.query.startsWith('SELECT v FROM probe_items'))
      expect(lookup.blocksPerCall).toBeGreaterThanOrEqual(1)
      expect(lookup.blocksPerCall).toBeLessThan(10)
      // what each statement did while pg_stat_activity saw it run (1 s samples): the loop on the
      // CPU, the blocked UPDATE waiting for the row lock (its holder's transaction id), pg_sleep
      // on a timeout
      const seen = (re: RegExp): any => facts.topQueries.find((q: any) => re.test(q.query))?.seenActive
      expect(seen(/loadlens_burn/).onCpu).toBeGreaterThanOrEqual(2)
      expect(seen(/loadlens_burn/).waits).toEqual({})
      expect(seen(/^UPDATE probe_items/).waits['Lock:transactionid']).toBeGreaterThanOrEqual(2)
      expect(seen(/^UPDATE probe_items/).onCpu).toBeLessThanOrEqual(1)
      expect(seen(/pg_sleep/).waits['Timeout:PgSleep']).toBeGreaterThanOrEqual(1)
      expect(JSON.stringify(s.status())).not.toContain('not-a-real-secret')
    } finally {
      await Promise.all([holder, sleeper, worker, blocked, burner, other, late].map(c => c.end().catch(() => {})))
    }
  })

  it('a cut connection is a gap with the reason; the probe reconnects when it is back', async () => {
    const probe = new PgProbe({ url: `postgres://postgres@127.0.0.1:${proxy.port}/${DB}` })
    const s = new ProbeScheduler([probe], { intervalMs: 1000, maxBackoffMs: 1000 })
    await s.start()
    await sleep(1500)
    const tCut = Math.floor(Date.now() / 1000)
    await proxy.cut()
    await sleep(2500)
    await proxy.restore()
    await sleep(3000)
    await s.stop()
    const st = s.status()[0]!
    expect(st.gaps.length).toBeGreaterThanOrEqual(1)
    expect(st.gaps[0]!.from).toBeGreaterThanOrEqual(tCut - 1)
    expect(st.gaps[0]!.reason).toMatch(/ECONNREFUSED|terminated|Connection|ECONNRESET|closed|timed out/i)
    const pts = s.series().find(x => x.id === 'pg.server_connections')!.points
    expect(pts.some(([t, v]) => t >= st.gaps[0]!.from && t <= st.gaps[0]!.to && v === null)).toBe(true)
    expect(pts.some(([t, v]) => t > st.gaps[st.gaps.length - 1]!.to && v !== null)).toBe(true)
  })

  it('the probe\'s own statements are left out of the database\'s statement figures', async () => {
    // a database nobody else uses: every statement pg_stat_statements counts there after the
    // probe started is either the probe's or the app's below
    const db = 'loadlens_probes_quiet'
    await ensureDatabase(db)
    const probe = new PgProbe({ url: `postgres://postgres@127.0.0.1:5432/${db}`, statementsEvery: 1 })
    const s = new ProbeScheduler([probe], { intervalMs: 1000 })
    await s.start()
    await sleep(4200)
    const tApp = Math.floor(Date.now() / 1000)
    const c = new pg.Client(`postgres://postgres@127.0.0.1:5432/${db}`)
    await c.connect()
    for (let i = 0; i < 300; i++) await c.query('SELECT $1::int + 1 AS n', [i])
    await c.end()
    await sleep(2200)
    await s.stop()
    const calls = s.series().find(x => x.id === 'pg.calls_per_s')!.points
    // quiet: the probe's sample statements (one a second) count as nothing
    const quiet = calls.filter(([t, v]) => t < tApp - 1 && v !== null).map(p => p[1])
    expect(quiet.length).toBeGreaterThanOrEqual(2)
    expect(quiet.every(v => v === 0)).toBe(true)
    // the app's 300 statements (plus its connection's own few) are counted
    const busy = calls.filter(([t, v]) => t >= tApp && v !== null).reduce((a, p) => a + p[1]!, 0)
    // (rates: each interval's count over its measured length, a few ms over or under 1 s)
    expect(busy).toBeGreaterThan(295)
    expect(busy).toBeLessThan(310)
    const top = (s.status()[0]!.facts as any).topQueries as Array<{ query: string; calls: number }>
    expect(top.map(q => q.query).join('\n')).not.toContain('loadlens-probe')
    expect(top.find(q => q.query.includes('$1::int + $2'))?.calls).toBe(300)
    // a statement that reads no table touches no block
    expect((top.find(q => q.query.includes('$1::int + $2')) as any)?.blocksPerCall).toBe(0)
    // what the probe itself added to the database's statement time, in its facts
    const cost = (s.status()[0]!.facts as any).probeCost
    expect(cost.statementMs).toBeGreaterThan(0)
    expect(cost.databaseStatementMs).toBeGreaterThan(0)
    expect(cost.statementsEverySamples).toBe(1)
  })

  it('reads the sums as often as their measured cost allows, and at the moments the run asks for', async () => {
    const db = 'loadlens_probes_cadence'
    await ensureDatabase(db)
    const probe = new PgProbe({ url: `postgres://postgres@127.0.0.1:5432/${db}` })
    await probe.start()
    // samples back to back on a made-up clock, one "second" apart
    const t0 = Math.floor(Date.now() / 1000) * 1000
    const sumsAt: number[] = []
    const ac = new AbortController()
    try {
      for (let i = 0; i < 40; i++) {
        const r = await probe.sample(t0 + i * 1000, ac.signal)
        if (r.some(x => x.metric === 'calls_per_s')) sumsAt.push(i)
      }
      const cost = (probe.facts() as any).probeCost
      // measured from the probe's own statements: a sample with the sums against one without (on
      // a server with few statement entries the difference is within the noise, so it may be 0)
      expect(cost.sampleMs).toBeGreaterThan(0)
      expect(cost.sumsReadMs).toBeGreaterThanOrEqual(0)
      // (the facts round the two costs to the microsecond: the cadence from them may be off by a little)
      const every = sumsEveryFor(cost.sumsReadMs, cost.sampleMs, 5)
      expect(Math.abs(cost.statementsEverySamples - every)).toBeLessThanOrEqual(Math.max(1, every * 0.05))
      // reads before the cost was known were every 5th sample; after, the measured cadence
      expect(sumsAt.slice(0, 3)).toEqual([0, 5, 10])
      const last = sumsAt[sumsAt.length - 1]!
      // the run asks for the sums at two moments: the first sample from each reads them, whatever the cadence
      probe.readAt([t0 + (last + 1) * 1000 + 500, t0 + (last + 3) * 1000])
      const asked: number[] = []
      for (let i = last + 1; i <= last + 4; i++) {
        const r = await probe.sample(t0 + i * 1000, ac.signal)
        if (r.some(x => x.metric === 'calls_per_s')) asked.push(i)
      }
      expect(asked).toEqual(expect.arrayContaining([last + 2, last + 3]))
      // and no other sample read them, unless the cadence itself came round
      if (every > 4) expect(asked).toEqual([last + 2, last + 3])
    } finally {
      await probe.stop()
    }
  })

  it('reads what a backend keeps for its life once, and again for every row when one was not known', async () => {
    const db = 'loadlens_probes_lives'
    await ensureDatabase(db)
    const url = `postgres://postgres@127.0.0.1:5432/${db}`
    const a = new pg.Client({ connectionString: url, application_name: 'lives-a' })
    await a.connect()
    // a backend is "new" for 0 s: after the first (full) sample no row sends its life unless asked
    const probe = new PgProbe({ url, newBackendS: 0 })
    await probe.start()
    const ac = new AbortController()
    const idle = (r: Array<{ metric: string; labels?: Record<string, string>; value: number | null }>): number | null | undefined =>
      r.find(x => x.metric === 'connections' && x.labels?.state === 'idle')?.value
    let b: pg.Client | null = null
    try {
      const t0 = Date.now()
      expect(idle(await probe.sample(t0, ac.signal))).toBe(1)
      // the next samples send no life: the rows are known by pid
      expect(idle(await probe.sample(t0 + 1000, ac.signal))).toBe(1)
      expect((probe as any).fullNext).toBe(false)
      // a backend that shows after the full sample and is not new by the rule: not known, not
      // counted in this sample; the next sample reads every row's life and counts it
      b = new pg.Client({ connectionString: url, application_name: 'lives-b' })
      await b.connect()
      expect(idle(await probe.sample(t0 + 2000, ac.signal))).toBe(1)
      expect((probe as any).fullNext).toBe(true)
      expect(idle(await probe.sample(t0 + 3000, ac.signal))).toBe(2)
      expect((probe as any).fullNext).toBe(false)
      const lives = (probe as any).lives as Map<number, { datid: number; port: number; started: string }>
      const bPid = Number((await b.query('SELECT pg_backend_pid() AS p')).rows[0].p)
      expect(lives.get(bPid)?.datid).toBe(Number((await b.query('SELECT oid FROM pg_database WHERE datname = current_database()')).rows[0].oid))
      expect(lives.get(bPid)?.port).toBe((b as any).connection.stream.localPort)
      // a backend that ended is forgotten
      await a.end()
      await sleep(100)
      expect(idle(await probe.sample(t0 + 4000, ac.signal))).toBe(1)
      expect([...((probe as any).lives as Map<number, unknown>).keys()]).toContain(bPid)
      expect(((probe as any).lives as Map<number, unknown>).size).toBe(2) // b and the probe's own backend
    } finally {
      await probe.stop()
      await b?.end().catch(() => {})
      await a.end().catch(() => {})
    }
  })

  it('a monitoring role that may not see other roles\' sessions in full still counts them in their database', async () => {
    const db = 'loadlens_probes_limited'
    await ensureDatabase(db)
    const admin = new pg.Client(ADMIN)
    await admin.connect()
    await admin.query("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'loadlens_limited') THEN CREATE ROLE loadlens_limited LOGIN; END IF; END $$")
    await admin.query('REVOKE pg_read_all_stats FROM loadlens_limited').catch(() => {})
    await admin.end()
    // another role's session in the database, older than the probe's "new backend" window (0 s)
    const other = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:5432/${db}`, application_name: 'someone-else' })
    await other.connect()
    const probe = new PgProbe({ url: `postgres://loadlens_limited@127.0.0.1:5432/${db}`, newBackendS: 0, createExtension: false })
    await probe.start()
    const ac = new AbortController()
    const total = (r: Array<{ metric: string; value: number | null }>): number => r.filter(x => x.metric === 'connections').reduce((a, x) => a + (x.value ?? 0), 0)
    try {
      const t0 = Date.now()
      for (let i = 0; i < 3; i++) {
        // its state is hidden from this role (counted as "other"), its database is not
        expect(total(await probe.sample(t0 + i * 1000, ac.signal))).toBe(1)
        expect((probe as any).fullNext).toBe(false)
      }
      expect(probe.note()).toMatch(/not a superuser nor in pg_read_all_stats/)
    } finally {
      await probe.stop()
      await other.end()
    }
  })

  it('stretches the sums\' cadence to their cost', () => {
    // a read that costs half a sample: one in five samples adds a tenth
    expect(sumsEveryFor(0.05, 0.1, 5)).toBe(5)
    expect(sumsEveryFor(1, 0.1, 5)).toBe(100)
    expect(sumsEveryFor(4, 0.05, 5)).toBe(300)
    expect(sumsEveryFor(0, 0.1, 1)).toBe(1)
    expect(sumsEveryFor(1, 0, 5)).toBe(300)
  })

  it('reads a large pg_stat_statements less often', () => {
    expect(statementsEveryFor(84, 5)).toBe(5)
    expect(statementsEveryFor(2500, 5)).toBe(5)
    expect(statementsEveryFor(2501, 5)).toBe(6)
    expect(statementsEveryFor(5000, 5)).toBe(10)
    expect(statementsEveryFor(100_000, 5)).toBe(30)
    expect(statementsEveryFor(300, 1)).toBe(1)
    expect(statementsEveryFor(5000, 60)).toBe(60)
  })

  it('without pg_stat_statements (and not allowed to create it) the probe says how to enable it and samples the rest', async () => {
    const db = 'loadlens_probes_nopgss'
    await ensureDatabase(db)
    const c = new pg.Client(`postgres://postgres@127.0.0.1:5432/${db}`)
    await c.connect()
    await c.query('DROP EXTENSION IF EXISTS pg_stat_statements')
    await c.end()
    const probe = new PgProbe({ url: `postgres://postgres@127.0.0.1:5432/${db}`, createExtension: false })
    const s = new ProbeScheduler([probe], { intervalMs: 1000 })
    await s.start()
    await sleep(1300)
    await s.stop()
    const st = s.status()[0]!
    expect(st.state).toBe('degraded')
    expect(st.message).toMatch(/pg_stat_statements is not installed: run CREATE EXTENSION pg_stat_statements;/)
    expect((st.facts as any).pgStatStatements).toBe('missing')
    expect(s.series().some(x => x.id === 'pg.query_mean_ms')).toBe(false)
    expect(s.series().some(x => x.id === 'pg.server_connections')).toBe(true)
  })
})
