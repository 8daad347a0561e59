/**
 * The pg probe's table counters, read through the pg_stat_get_* functions on a cached list of
 * the database's tables and indexes, against the real server: the run's deltas are those
 * pg_stat_user_tables shows for the same interval (sequential scans and their rows, index
 * scans and their fetches), and a table created during the run joins at the next catalog
 * read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pg from 'pg'
import { TableActivity } from '../probes/pg-tables.js'
import { sleep } from './helpers/server.js'

const DB = 'loadlens_probe_tables'
const URL_DB = `postgres://postgres@127.0.0.1:5432/${DB}`
let c: pg.Client

/** pg_stat_user_tables as the view shows it */
async function view (): Promise<Map<string, { seq: number; seqRead: number; idx: number; idxFetch: number }>> {
  const r = await c.query("SELECT schemaname || '.' || relname AS t, seq_scan, seq_tup_read, coalesce(idx_scan, 0) AS idx, coalesce(idx_tup_fetch, 0) AS fetch FROM pg_stat_user_tables")
  return new Map(r.rows.map(x => [x.t, { seq: Number(x.seq_scan), seqRead: Number(x.seq_tup_read), idx: Number(x.idx), idxFetch: Number(x.fetch) }]))
}

/**
 * Runs statements on a connection of their own and closes it: a backend flushes its pending
 * statistics when it exits (while it lives, it may hold them back up to 10 s)
 */
async function work (...sql: string[]): Promise<void> {
  const w = new pg.Client(URL_DB)
  await w.connect()
  for (const q of sql) await w.query(q)
  await w.end()
  await sleep(400)
}

beforeAll(async () => {
  const admin = new pg.Client('postgres://postgres@127.0.0.1:5432/postgres')
  await admin.connect()
  await admin.query(`DROP DATABASE IF EXISTS ${DB}`)
  await admin.query(`CREATE DATABASE ${DB}`)
  await admin.end()
  await work('CREATE TABLE items (id int PRIMARY KEY, owner int, v text)', 'CREATE INDEX items_owner ON items (owner)',
    'CREATE TABLE plain (id int, v text)', "INSERT INTO items SELECT g, g % 100, md5(g::text) FROM generate_series(1, 5000) g",
    "INSERT INTO plain SELECT g, 'x' FROM generate_series(1, 800) g", 'ANALYZE')
  c = new pg.Client(URL_DB)
  await c.connect()
}, 60_000)

afterAll(async () => { await c?.end() })

describe('pg probe: table counters', () => {
  it('gives the deltas pg_stat_user_tables shows, and picks up a table created during the run', async () => {
    const probe = new pg.Client({ connectionString: URL_DB, application_name: 'loadlens-probe' })
    await probe.connect()
    try {
      const tables = new TableActivity()
      const before = await view()
      const first = await tables.read(probe, Date.now())
      // the first read also read the catalog: two statements
      expect(first.statements).toBe(2)
      const times = (n: number, q: string): string[] => Array.from({ length: n }, () => q)
      await work('SET enable_seqscan = off', ...times(7, 'SELECT count(*) FROM items WHERE owner = 3'), ...times(4, 'SELECT * FROM items WHERE id = 7'),
        'RESET enable_seqscan', ...times(3, "SELECT count(*) FROM plain WHERE v = 'y'"),
        'CREATE TABLE later (id int)', 'INSERT INTO later SELECT generate_series(1, 50)', ...times(2, 'SELECT count(*) FROM later'))
      const after = await view()
      const second = await tables.read(probe, Date.now())
      expect(second.statements).toBe(1)
      const facts = tables.facts()
      for (const name of ['public.items', 'public.plain']) {
        const f = facts.find(x => x.table === name)!
        expect(f, name).toBeDefined()
        const a = after.get(name)!
        const b = before.get(name)!
        expect(f.seqScans, `${name} seq scans`).toBe(a.seq - b.seq)
        expect(f.seqTupRead, `${name} seq rows`).toBe(a.seqRead - b.seqRead)
        expect(f.idxScans, `${name} index scans`).toBe(a.idx - b.idx)
        expect(f.idxTupFetch, `${name} index fetches`).toBe(a.idxFetch - b.idxFetch)
      }
      // what the statements above did: 11 index scans of items, 3 sequential scans of 800 rows each of plain
      expect(facts.find(x => x.table === 'public.items')!.idxScans).toBeGreaterThanOrEqual(11)
      expect(facts.find(x => x.table === 'public.plain')).toMatchObject({ seqScans: 3, seqTupRead: 2400, idxScans: 0 })
      // not in the cached catalog yet
      expect(facts.find(x => x.table === 'public.later')).toBeUndefined()
      // the catalog is read again within 6 reads: the new table joins, with every scan since its creation
      let reads = 0
      let statements = 0
      for (; reads < 6; reads++) statements += (await tables.read(probe, Date.now())).statements
      expect(statements).toBe(reads + 1)
      await work('SELECT count(*) FROM later', 'SELECT count(*) FROM later')
      await tables.read(probe, Date.now())
      const later = tables.facts().find(x => x.table === 'public.later')
      expect(later).toMatchObject({ seqScans: 4, seqTupRead: 200 })
    } finally {
      await probe.end()
    }
  }, 60_000)
})
