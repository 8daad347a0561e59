/**
 * The pg probe tells whose sessions are whose on a shared database, against the real server
 * and real processes: an "app" process holding a pool of 3, a "worker" process (its command
 * line names celery) holding 2, and this test's own client, all without an application_name.
 * The app's 3 are the target's pg.connections; the worker's and the others' are counted apart.
 * Without the app's processes the probe counts the whole database and says why. It also
 * samples the app's running statements from pg_stat_activity (no pg_stat_statements needed)
 * and the tables' sequential scans.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pg from 'pg'
import { PgProbe } from '../probes/pg.js'
import { ProcessRoles } from '../probes/process-roles.js'
import { ProbeScheduler } from '../probes/scheduler.js'
import { sleep } from './helpers/server.js'

const DB = 'loadlens_probes_owners'
const URL_DB = `postgres://postgres@127.0.0.1:5432/${DB}`
const children: ChildProcess[] = []

/** A child process that opens `n` connections, then runs `work` on the first one every `pauseMs` until killed; resolves when connected. */
function holder (n: number, argv0: string, work = 'SELECT 1', pauseMs = 50): Promise<ChildProcess> {
  const script = `
    const pg = require(${JSON.stringify(require.resolve('pg'))})
    ;(async () => {
      const cs = []
      for (let i = 0; i < ${n}; i++) { const c = new pg.Client(${JSON.stringify(URL_DB)}); await c.connect(); cs.push(c) }
      process.stdout.write('ready\\n')
      for (;;) { await cs[0].query(${JSON.stringify(work)}); await new Promise(r => setTimeout(r, ${pauseMs})) }
    })().catch(e => { console.error(e); process.exit(1) })`
  const child = spawn(process.execPath, ['-e', script, argv0], { stdio: ['ignore', 'pipe', 'inherit'] })
  children.push(child)
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve(child))
    child.once('exit', code => reject(new Error(`holder exited ${code}`)))
  })
}

beforeAll(async () => {
  const admin = new pg.Client('postgres://postgres@127.0.0.1:5432/postgres')
  await admin.connect()
  if (!(await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DB])).rowCount) await admin.query(`CREATE DATABASE ${DB}`)
  await admin.end()
  const c = new pg.Client(URL_DB)
  await c.connect()
  await c.query('CREATE TABLE IF NOT EXISTS big_items (id int, owner int, v text)')
  if (Number((await c.query('SELECT count(*) AS n FROM big_items')).rows[0].n) < 300_000) {
    await c.query('TRUNCATE big_items')
    await c.query("INSERT INTO big_items SELECT g, g % 5000, md5(g::text) FROM generate_series(1, 300000) g")
    await c.query('ANALYZE big_items')
  }
  await c.end()
}, 60_000)

afterAll(() => { for (const c of children) c.kill('SIGKILL') })

describe('pg probe: whose sessions are whose', () => {
  it('counts the app\'s sessions by its processes\' sockets, the worker\'s and the others\' apart, and samples what the app runs', async () => {
    // the app scans a table without an index on owner: a statement that runs for a while, again and again
    const appProc = await holder(3, 'app-server', 'SELECT count(*) FROM big_items WHERE owner = 42', 2)
    const workerProc = await holder(2, 'celery-worker-like')
    // (node -e ignores argv0 in the command line: mark the worker by its pid, as the Celery probe does)
    const roles = new ProcessRoles(true)
    roles.setTarget([appProc.pid!])
    roles.addWorkers([workerProc.pid!])
    const mine = new pg.Client(URL_DB)
    await mine.connect()
    const probe = new PgProbe({ url: URL_DB, roles })
    const s = new ProbeScheduler([probe], { intervalMs: 1000 })
    await s.start()
    await sleep(6500)
    await s.stop()
    await mine.end()
    const series = new Map(s.series().map(x => [x.id, x.points.map(p => p[1]).filter((v): v is number => v !== null)]))
    const sum = (prefix: string): number[] => {
      const cols = [...series].filter(([id]) => id.startsWith(prefix)).map(([, v]) => v)
      return cols[0]!.map((_, i) => cols.reduce((a, c) => a + (c[i] ?? 0), 0))
    }
    // the app's 3, in every sample
    expect(new Set(sum('pg.connections{').slice(1))).toEqual(new Set([3]))
    expect(Math.max(...series.get('pg.owner_sessions{owner="app"}')!)).toBe(3)
    expect(Math.max(...series.get('pg.owner_sessions{owner="workers"}')!)).toBe(2)
    expect(Math.max(...series.get('pg.owner_sessions{owner="other"}')!)).toBeGreaterThanOrEqual(1)
    const facts = s.status()[0]!.facts as any
    expect(facts.attribution.method).toBe('processes')
    expect(facts.attribution.owners.app.peakSessions).toBe(3)
    expect(facts.attribution.owners.other.processes.join(' ')).toMatch(/node|vitest/)
    // the app's scan, seen running in pg_stat_activity with its age
    const scan = facts.activeStatements.find((x: any) => /FROM big_items WHERE owner = \?/.test(x.query))
    expect(scan).toBeTruthy()
    expect(scan.samples).toBeGreaterThanOrEqual(2)
    expect(scan.ageMaxMs).toBeGreaterThan(1)
    expect(series.get(`pg.statement_active{statement="${scan.id}"}`)!.some(v => v >= 1)).toBe(true)
    // and the table's sequential scans, in the counters
    const t = facts.tables.find((x: any) => x.table === 'public.big_items')
    expect(t.seqScans).toBeGreaterThan(5)
    // (a parallel scan counts a scan for the leader and one for each worker)
    expect(t.seqTupRead / t.seqScans).toBeGreaterThan(50_000)
  }, 60_000)

  it('without the target\'s processes, counts every session of the database and says why', async () => {
    const probe = new PgProbe({ url: URL_DB })
    const s = new ProbeScheduler([probe], { intervalMs: 1000 })
    await s.start()
    await sleep(2200)
    await s.stop()
    const facts = s.status()[0]!.facts as any
    expect(facts.attribution.method).toBe('database')
    expect(facts.attribution.detail).toMatch(/the target's processes are not known \(give --target-pid/)
    expect(s.series().some(x => x.id.startsWith('pg.owner_sessions'))).toBe(false)
    const conns = s.series().filter(x => x.id.startsWith('pg.connections'))
    const last = conns.reduce((a, x) => a + (x.points[x.points.length - 1]![1] ?? 0), 0)
    // the app's 3 and the worker's 2 (still running) are all counted
    expect(last).toBeGreaterThanOrEqual(5)
  }, 30_000)
})
