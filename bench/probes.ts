/**
 * `npm run bench -- probes`: what the probes cost.
 *   1. Each probe alone against a quiet system for 10 samples at 1 s: wall time per sample
 *      (mean, max) and this process's CPU time per sample, against the interval.
 *   2. PostgreSQL, while the Mluv.Me scenario's development profile (10 users, 2 minutes) runs
 *      against the demo target with every probe on at 1 s: the share of the database's
 *      statement execution time (pg_stat_statements) the probe's own statements add, and the
 *      share of the PostgreSQL server's CPU time its backend takes, over the whole run and in
 *      steady state, next to two reference clients that run, once a second, only a prepared
 *      `SELECT 1` (the floor of any SQL sampler at 1 s) or only a count of
 *      pg_stat_get_activity() (the floor of reading pg_stat_activity every second). Target:
 *      under 1 % of the database's load.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { startDemoTarget } from '../demo/mluvme/launch.js'
import { demoProbeOptions } from '../app/demo.js'
import { runTest } from '../app/run.js'
import { bundledScenario } from '../scenarios/load.js'
import { buildProbes, resolveProbeOptions } from '../app/probes.js'
import type { ProbeOptions } from '../app/probes.js'
import { ProbeScheduler } from '../probes/scheduler.js'
import { PROBE_APPLICATION_NAME } from '../probes/pg.js'

const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms))

function verdict (ok: boolean): string {
  return ok ? 'MET' : 'NOT MET'
}

/** one probe alone, 10 samples at 1 s: wall and CPU time per sample */
async function costAlone (name: string, options: ProbeOptions): Promise<void> {
  const probes = (await buildProbes(resolveProbeOptions({ host: false, ...options }, {}))).filter(p => p.name === name)
  if (probes.length === 0) {
    console.log(`${name.padEnd(10)} not configured on this machine (the demo target has no such service here)`)
    return
  }
  const s = new ProbeScheduler(probes, { intervalMs: 1000 })
  const report = await s.start()
  if (report.failed.length) {
    console.log(`${name.padEnd(10)} could not start: ${report.failed[0]!.reason}`)
    await s.stop()
    return
  }
  await sleep(1500)
  const cpu0 = process.cpuUsage()
  const n0 = s.status()[0]!.samples
  await sleep(10_000)
  const cpu = process.cpuUsage(cpu0)
  const st = s.status()[0]!
  await s.stop()
  const samples = Math.max(1, st.samples - n0)
  const cpuMs = (cpu.user + cpu.system) / 1000 / samples
  console.log(`${name.padEnd(10)} ${String(st.samples).padStart(3)} samples  wall mean ${st.meanSampleMs?.toFixed(1)} ms, max ${st.maxSampleMs?.toFixed(1)} ms  ` +
    `CPU ${cpuMs.toFixed(2)} ms per sample (${((cpuMs / 1000) * 100).toFixed(2)} % of one core at 1 s)  skipped ${st.skippedTicks}, gaps ${st.gaps.length}`)
}

interface Totals { calls: number; ms: number }

async function statementTotals (url: string, database: string): Promise<{ probe: Totals; other: Totals; entries: number }> {
  const c = new pg.Client({ connectionString: url, application_name: 'loadlens-bench' })
  await c.connect()
  try {
    const r = await c.query(`SELECT (query LIKE '%loadlens-probe%') AS probe, sum(calls)::float8 AS calls, sum(total_exec_time)::float8 AS ms
      FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = $1) AND query NOT LIKE $2 GROUP BY 1`, [database, `%${FLOOR_MARK}%`])
    const entries = Number((await c.query('SELECT count(*) AS n FROM pg_stat_statements(false)')).rows[0].n)
    const out = { probe: { calls: 0, ms: 0 }, other: { calls: 0, ms: 0 }, entries }
    for (const row of r.rows) out[row.probe ? 'probe' : 'other'] = { calls: row.calls, ms: row.ms }
    return out
  } finally {
    await c.end()
  }
}

/** pids of this machine's PostgreSQL server processes (postmaster and backends) */
function postgresPids (): number[] {
  const out: number[] = []
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() === 'postgres') out.push(Number(d))
    } catch {}
  }
  return out
}

/**
 * CPU time a process has run, us, from /proc/PID/schedstat: nanoseconds where bench/helpers.ts's
 * processCpuUs has 10 ms ticks, but of the main thread only, which is all of a PostgreSQL
 * process (processCpuUs counts every thread, as the node processes it measures need); 0 when gone
 */
function schedCpuUs (pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1000
  } catch {
    return 0
  }
}

/** a backend's CPU readings, one a second: (ms since start, CPU us) */
type CpuSeries = Array<[number, number]>

/**
 * CPU us a second a backend used in steady state: the mean of its per-second deltas with the
 * first and last two left out (the probe's start-up, connection set-up, and its final read of
 * the top queries' texts fall there)
 */
function steadyUsPerSecond (series: CpuSeries): number | null {
  const rates: number[] = []
  for (let i = 1; i < series.length; i++) {
    const [t0, u0] = series[i - 1]!
    const [t1, u1] = series[i]!
    if (t1 > t0) rates.push((u1 - u0) / ((t1 - t0) / 1000))
  }
  const mid = rates.slice(2, -2)
  return mid.length ? mid.reduce((a, b) => a + b, 0) / mid.length : null
}

/**
 * The bench's reference clients, each on its own connection (named by application_name), each
 * running one prepared statement once a second: what any SQL sampler at 1 s costs the server at
 * least (a bare SELECT 1), and what reading pg_stat_activity once a second costs at least (the
 * function behind the view, nothing computed from its rows)
 */
const REFERENCES = [
  { name: 'loadlens-bench-floor-select1', what: 'a bare prepared SELECT 1', text: 'SELECT /* loadlens-bench-floor-select1 */ 1' },
  { name: 'loadlens-bench-floor-activity', what: 'a bare prepared SELECT count(*) FROM pg_stat_get_activity(NULL)', text: 'SELECT /* loadlens-bench-floor-activity */ count(*) FROM pg_stat_get_activity(NULL)' }
] as const
const FLOOR_MARK = 'loadlens-bench-floor'

/**
 * The PostgreSQL server's CPU time while a run goes on, from /proc (the server is local): every
 * postgres process polled each second (a backend that exits keeps its last reading), with the
 * probe's own backends (application_name loadlens-probe) and the backends of the REFERENCES
 * clients apart from the rest.
 */
class PgServerCpu {
  private readonly first = new Map<number, number>()
  private readonly last = new Map<number, number>()
  private readonly series = new Map<number, CpuSeries>()
  private readonly probePids = new Set<number>()
  /** each reference client's backend pid, in REFERENCES' order */
  private readonly floorPids: number[] = []
  private timer: NodeJS.Timeout | undefined
  private floorTimer: NodeJS.Timeout | undefined
  private client: pg.Client | undefined
  private readonly floors: pg.Client[] = []
  private t0 = 0
  constructor (private readonly url: string) {}

  async start (): Promise<void> {
    this.client = new pg.Client({ connectionString: this.url, application_name: 'loadlens-bench' })
    await this.client.connect()
    const statements: pg.QueryConfig[] = []
    for (const ref of REFERENCES) {
      const c = new pg.Client({ connectionString: this.url, application_name: ref.name })
      await c.connect()
      this.floorPids.push(Number((await c.query('SELECT pg_backend_pid() AS p')).rows[0].p))
      const statement = { name: 'reference', text: ref.text }
      await c.query(statement)
      this.floors.push(c)
      statements.push(statement)
    }
    this.floorTimer = setInterval(() => { this.floors.forEach((c, i) => { c.query(statements[i]!).catch(() => {}) }) }, 1000)
    this.t0 = Date.now()
    for (const pid of postgresPids()) this.first.set(pid, schedCpuUs(pid))
    this.timer = setInterval(() => { this.poll().catch(() => {}) }, 1000)
  }

  private async poll (): Promise<void> {
    const t = Date.now() - this.t0
    for (const pid of postgresPids()) {
      const us = schedCpuUs(pid)
      if (!this.first.has(pid)) this.first.set(pid, 0) // born during the run
      if (us > 0) {
        this.last.set(pid, us)
        if (this.probePids.has(pid) || this.floorPids.includes(pid)) {
          const s = this.series.get(pid) ?? []
          s.push([t, us])
          this.series.set(pid, s)
        }
      }
    }
    const r = await this.client!.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [PROBE_APPLICATION_NAME])
    for (const row of r.rows) this.probePids.add(Number(row.pid))
  }

  /**
   * CPU ms over the run of the probe's backends and of every other postgres process (the
   * bench's own backend and the reference clients' left out), the run's seconds, and the
   * steady CPU us a second of the probe and of each reference client
   */
  async stop (): Promise<{ probeMs: number; otherMs: number; seconds: number; probeSteadyUs: number | null; floorSteadyUs: Array<number | null> }> {
    clearInterval(this.floorTimer)
    await this.poll()
    clearInterval(this.timer)
    const seconds = (Date.now() - this.t0) / 1000
    const own = Number((await this.client!.query('SELECT pg_backend_pid() AS p')).rows[0].p)
    await this.client!.end()
    for (const c of this.floors) await c.end()
    let probeMs = 0
    let otherMs = 0
    for (const [pid, end] of this.last) {
      if (pid === own) continue
      const used = Math.max(0, end - (this.first.get(pid) ?? 0)) / 1000
      if (this.probePids.has(pid)) probeMs += used
      else if (this.floorPids.includes(pid)) continue
      else otherMs += used
    }
    const probeSeries = [...this.probePids].map(pid => this.series.get(pid) ?? []).sort((a, b) => b.length - a.length)[0] ?? []
    return {
      probeMs,
      otherMs,
      seconds,
      probeSteadyUs: steadyUsPerSecond(probeSeries),
      floorSteadyUs: this.floorPids.map(pid => steadyUsPerSecond(this.series.get(pid) ?? []))
    }
  }
}

export async function probes (): Promise<void> {
  console.log('\n## probes: cost per sample, each probe alone, 1 s interval, 10 s')
  const dir = mkdtempSync(join(tmpdir(), 'loadlens-bench-probes-'))
  const target = await startDemoTarget({ quiet: true, logDir: dir })
  try {
    const all = demoProbeOptions(target)
    for (const name of ['pg', 'redis', 'celery', 'target', 'logs', 'metrics', 'generator']) await costAlone(name, all)
    await costAlone('host', { host: true })

    console.log('\n## probes: PostgreSQL load added by the probe, Mluv.Me development profile as the seed defines it (10 users, 2 minutes) against the demo target, every probe on')
    // pg_stat_statements must exist in the demo database before the baseline (the probe creates it when it may)
    const warm = new ProbeScheduler((await buildProbes(resolveProbeOptions({ pg: all.pg, pgDatabase: all.pgDatabase, host: false }, {}))).filter(p => p.name === 'pg'))
    await warm.start()
    await warm.stop()
    let before: Awaited<ReturnType<typeof statementTotals>>
    try {
      before = await statementTotals(target.pgUrl, target.database)
    } catch (err) {
      console.log(`cannot measure: pg_stat_statements is not readable (${(err as Error).message}); preload it as .ci/run does (shared_preload_libraries = 'pg_stat_statements', then restart PostgreSQL)`)
      return
    }
    const cpu = new PgServerCpu(target.pgUrl)
    await cpu.start()
    const outcome = await runTest({
      scenario: bundledScenario('mluvme'),
      host: target.url,
      profile: 'development',
      quiet: true,
      handleSignals: false,
      json: join(dir, 'result.json'),
      probes: all
    })
    const serverCpu = await cpu.stop()
    const secs = serverCpu.seconds
    const after = await statementTotals(target.pgUrl, target.database)
    const probe = { calls: after.probe.calls - before.probe.calls, ms: after.probe.ms - before.probe.ms }
    const other = { calls: after.other.calls - before.other.calls, ms: after.other.ms - before.other.ms }
    const shareMs = probe.ms / Math.max(1e-9, probe.ms + other.ms)
    const shareCalls = probe.calls / Math.max(1, probe.calls + other.calls)
    const requests = outcome.result.totals.overall.requests
    const pct = (x: number): string => `${(x * 100).toFixed(2)} %`
    console.log(`the app: ${other.calls.toFixed(0)} statements, ${other.ms.toFixed(0)} ms of execution (${requests} requests in ${secs.toFixed(0)} s)`)
    console.log(`the probe: ${probe.calls.toFixed(0)} statements, ${probe.ms.toFixed(1)} ms of execution`)
    console.log(`pg_stat_statements execution time: probe share ${pct(shareMs)}; share of statements ${pct(shareCalls)}; ` +
      `the probe adds ${(probe.ms / secs).toFixed(3)} ms of execution a second, the app's statements averaged ${(other.ms / Math.max(1, other.calls)).toFixed(3)} ms ` +
      `(execution time includes lock waits, so this share moves with the app's contention); pg_stat_statements held ${after.entries} entries (a read of its sums scans them all)`)
    // the server's CPU: what the probe takes from the database, lock waits and I/O waits aside
    const otherUs = serverCpu.otherMs * 1000 / secs
    const shareCpu = serverCpu.probeMs / Math.max(1e-9, serverCpu.probeMs + serverCpu.otherMs)
    console.log(`PostgreSQL server CPU (every postgres process, from /proc/PID/schedstat): the database's own work ${serverCpu.otherMs.toFixed(0)} ms (${(otherUs / 1000).toFixed(1)} ms a second)`)
    console.log(`  the probe's backend, whole run (start-up and the final read of the top queries' texts included): ${serverCpu.probeMs.toFixed(1)} ms, share ${pct(shareCpu)} (target < 1 %: ${verdict(shareCpu < 0.01)})`)
    const steady = serverCpu.probeSteadyUs
    if (steady !== null) console.log(`  the probe's backend, steady state: ${steady.toFixed(0)} us a second, share ${pct(steady / (steady + otherUs))}`)
    REFERENCES.forEach((ref, i) => {
      const floor = serverCpu.floorSteadyUs[i]
      if (floor === null || floor === undefined) return
      console.log(`  reference: ${ref.what} once a second from its own connection costs its backend ${floor.toFixed(0)} us a second, share ${pct(floor / (floor + otherUs))}` +
        (steady === null ? '' : `; the probe costs ${(steady / Math.max(1, floor)).toFixed(2)}x that`))
    })
    const selfCost = (outcome.result.probes.status.find(st => st.probe === 'pg')?.facts as any)?.probeCost
    if (selfCost) console.log(`the pg probe's own account (facts.probeCost): ${selfCost.statementMs} ms of its statements against ${selfCost.databaseStatementMs} ms of the database's, share ${selfCost.share === null ? '-' : (selfCost.share * 100).toFixed(2) + ' %'}`)
    if (selfCost?.sumsReadMs !== undefined) console.log(`  a read of pg_stat_statements' sums added ${selfCost.sumsReadMs} ms of execution to a sample of ${selfCost.sampleMs} ms: read every ${selfCost.statementsEverySamples} samples, and at the run's planned steady state after warm-up and before its end`)
    for (const st of outcome.result.probes.status) {
      if (st.state === 'not configured') continue
      console.log(`  ${st.probe.padEnd(10)} ${st.state.padEnd(9)} ${st.samples} samples, mean ${st.meanSampleMs ?? '-'} ms, max ${st.maxSampleMs ?? '-'} ms, skipped ${st.skippedTicks}, gaps ${st.gaps.length}`)
    }
  } finally {
    await target.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
