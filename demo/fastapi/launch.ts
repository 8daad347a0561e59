/**
 * startFastapiTarget(): the second demo target, in the seed's own stack, written the way
 * another team would: a FastAPI app on uvicorn with an asyncpg pool that opens all its
 * connections at start (min_size = max_size = 10), a connection per request through a
 * dependency, Redis as cache, quota counter and job store, and a Celery prefork worker whose
 * processes each keep their own PostgreSQL connection. It has its own database
 * (loadlens_fastapi), seeded once by the app's own seed script. Python comes from Debian
 * (/usr/bin/python3 with python3-fastapi, python3-uvicorn, python3-asyncpg,
 * python3-psycopg2, python3-redis, python3-celery).
 *
 * Variations a real deployment has (see FastapiVariant): a pool that grows instead of a fixed
 * one; pg_stat_statements absent, with the probe's role only in pg_monitor (so it may not
 * create the extension); the Celery broker on the cache's Redis server (the default, as in
 * many small deployments) or on one of its own.
 *
 * Redis servers are private redis-servers on free loopback ports (stopped with the target),
 * so their INFO counters hold only this target's traffic; without redis-server on the PATH
 * the cache is db 9 (and the broker db 10) of the Redis at LOADLENS_DEMO_REDIS/REDIS_URL.
 */
import { fileStamp } from '../../shared/files.js'
import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { HarnessError, UsageError } from '../../shared/errors.js'
import { freePort } from '../../shared/ports.js'
import { redactUrl } from '../../shared/redact.js'
import { redisServerAvailable, startPrivateBroker } from '../mluvme/broker.js'
import type { PrivateBroker } from '../mluvme/broker.js'
import { killGroup, stopChild, tail } from '../mluvme/children.js'
import { describeFaults, faultValue, parseFaults } from '../mluvme/faults.js'
import type { Faults } from '../mluvme/faults.js'
import { checkPostgres, checkRedis } from '../mluvme/services.js'
import { DEFAULT_PG_URL, resolveUrl, withPath } from '../mluvme/settings.js'
import { BROKER_ENV, DEFAULT_PYTHON, PG_ENV, REDIS_ENV } from '../mluvme/launch.js'
import type { DemoTarget } from '../mluvme/launch.js'

export const FASTAPI_DATABASE = 'loadlens_fastapi'
/** asyncpg's own default, and this app's: 10 connections, all opened at start */
export const FASTAPI_POOL_SIZE = 10
/** Celery prefork processes of the healthy worker */
export const FASTAPI_WORKER_CONCURRENCY = 8
/** the role the probe uses when pg_stat_statements is absent: pg_monitor only, may not create extensions */
export const MONITOR_ROLE = 'loadlens_monitor'
const FALLBACK_CACHE_DB = 9
const FALLBACK_BROKER_DB = 10

export interface FastapiVariant {
  /** 'fixed' (default): min_size = max_size, every connection opened at start; 'growing': min_size 1 */
  pool?: 'fixed' | 'growing'
  /** pg_stat_statements in the app's database (default true); false also gives the probe a pg_monitor-only role */
  pgStatStatements?: boolean
  /** 'shared' (default): the Celery broker on the cache's Redis server; 'separate': a server of its own */
  redis?: 'shared' | 'separate'
}

export interface FastapiTargetOptions {
  faults?: Faults | string | string[]
  variant?: FastapiVariant
  /** PostgreSQL server URL (default: LOADLENS_DEMO_PG, DATABASE_URL, postgres://postgres@127.0.0.1:5432/postgres) */
  pgUrl?: string
  database?: string
  python?: string
  logDir?: string
  env?: NodeJS.ProcessEnv
  quiet?: boolean
  stream?: NodeJS.WritableStream
  signal?: AbortSignal
  /** how long seeding, the API and the worker may take (default 180 s: the first start seeds 1.2 M rows) */
  readyTimeoutMs?: number
}

let launches = 0

/** the Python package of the app (kept as source beside the TypeScript) */
export function serviceDir (): string {
  const self = fileURLToPath(import.meta.url)
  if (self.endsWith('.ts')) return join(dirname(self), 'service')
  return resolve(dirname(self), '..', '..', '..', 'demo', 'fastapi', 'service')
}

/** Can this Python import what the app and the worker need? The reason when it cannot. */
export function fastapiImportable (python: string): { ok: boolean; reason?: string } {
  const r = spawnSync(python, ['-c', 'import fastapi, uvicorn, asyncpg, psycopg2, redis, celery, multipart'], { encoding: 'utf8', timeout: 30_000 })
  if (r.error) return { ok: false, reason: `${python}: ${(r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : r.error.message}` }
  if (r.status !== 0) return { ok: false, reason: r.stderr.trim().split('\n').pop() ?? `exit ${r.status}` }
  return { ok: true }
}

function aborted (signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new HarnessError('the demo target start was interrupted')
}

/** Creates the database when missing; switches pg_stat_statements on or off in it; makes the monitoring role. */
async function prepareDatabase (serverUrl: string, database: string, pgss: boolean): Promise<void> {
  const admin = new pg.Client({ connectionString: withPath(serverUrl, 'postgres'), application_name: 'loadlens-demo-setup' })
  admin.on('error', () => {})
  await admin.connect()
  try {
    await admin.query('SELECT pg_advisory_lock(8124006)')
    if ((await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])).rowCount === 0) {
      await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`)
    }
    if ((await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [MONITOR_ROLE])).rowCount === 0) {
      await admin.query(`CREATE ROLE ${MONITOR_ROLE} LOGIN IN ROLE pg_monitor`)
    }
    await admin.query('SELECT pg_advisory_unlock(8124006)')
  } finally {
    await admin.end().catch(() => {})
  }
  const db = new pg.Client({ connectionString: withPath(serverUrl, database), application_name: 'loadlens-demo-setup' })
  db.on('error', () => {})
  await db.connect()
  try {
    if (pgss) await db.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements').catch(() => {})
    else await db.query('DROP EXTENSION IF EXISTS pg_stat_statements')
  } finally {
    await db.end().catch(() => {})
  }
}

/** Runs the app's seed script; resolves when it is done, rejects with its last lines. */
function seed (python: string, env: NodeJS.ProcessEnv, logFile: string, timeoutMs: number, say: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const fd = openSync(logFile, 'a')
    const child = spawn(python, ['-m', 'mluv_api.seed'], { cwd: serviceDir(), env, stdio: ['ignore', 'pipe', fd] })
    closeSync(fd)
    child.stdout!.setEncoding('utf8')
    child.stdout!.on('data', (text: string) => { for (const line of text.trim().split('\n')) if (line) say(`  ${line}`) })
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new HarnessError(`seeding the FastAPI target's database took over ${timeoutMs / 1000} s (log: ${logFile})`)) }, timeoutMs)
    child.on('error', (err) => { clearTimeout(timer); reject(new HarnessError(`could not run the seed script: ${err.message}`)) })
    child.on('exit', (code) => {
      clearTimeout(timer)
      if (code === 0) resolve()
      else reject(new HarnessError(`the FastAPI target's seed failed (exit ${code}): ${tail(logFile, 3)} (log: ${logFile})`))
    })
  })
}

/** Waits for GET /health to answer 200. */
async function healthy (url: string, child: ChildProcess, logFile: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) throw new HarnessError(`the FastAPI app exited during start: ${tail(logFile)} (log: ${logFile})`)
    if (signal?.aborted) throw new HarnessError('the demo target start was interrupted')
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) })
      if (res.ok) return
    } catch {
      // not listening yet
    }
    await new Promise(r => setTimeout(r, 100))
  }
  throw new HarnessError(`the FastAPI app was not ready within ${timeoutMs / 1000} s: ${tail(logFile)} (log: ${logFile})`)
}

function fileReady (child: ChildProcess, file: string, logFile: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now()
    const poll = setInterval(() => {
      let err: string | undefined
      if (existsSync(file)) { clearInterval(poll); resolve(); return }
      if (child.exitCode !== null || child.signalCode !== null) err = `the Celery worker exited during start: ${tail(logFile)} (log: ${logFile})`
      else if (signal?.aborted) err = 'the demo target start was interrupted'
      else if (Date.now() - t0 > timeoutMs) err = `the Celery worker was not ready within ${timeoutMs / 1000} s: ${tail(logFile)} (log: ${logFile})`
      if (err) { clearInterval(poll); reject(new HarnessError(err)) }
    }, 100)
  })
}

export async function startFastapiTarget (o: FastapiTargetOptions = {}): Promise<DemoTarget> {
  const env = o.env ?? process.env
  const out = o.stream ?? process.stderr
  const say = (line: string): void => { if (!o.quiet) out.write(`${line}\n`) }
  const faults = typeof o.faults === 'string' || Array.isArray(o.faults) ? parseFaults(o.faults) : (o.faults ?? {})
  const variant: Required<FastapiVariant> = { pool: 'fixed', pgStatStatements: true, redis: 'shared', ...o.variant }
  const database = o.database ?? FASTAPI_DATABASE
  if (!/^[a-z_][a-z0-9_]*$/i.test(database)) throw new UsageError(`database: expected a plain database name (letters, digits, _), got "${database}"`)
  const python = o.python ?? env.LOADLENS_PYTHON ?? DEFAULT_PYTHON
  const can = fastapiImportable(python)
  if (!can.ok) {
    throw new HarnessError(`the FastAPI target needs ${python} with fastapi, uvicorn, asyncpg, psycopg2, redis, celery and multipart (${can.reason}); ` +
      'install python3-fastapi python3-uvicorn python3-asyncpg python3-psycopg2 python3-redis python3-celery python3-multipart, or set LOADLENS_PYTHON')
  }
  const pgServer = resolveUrl(o.pgUrl, env, PG_ENV, DEFAULT_PG_URL)
  try { new URL(pgServer.url) } catch { throw new UsageError(`${pgServer.source === 'option' ? 'PostgreSQL URL' : pgServer.source}: expected a URL, got "${redactUrl(pgServer.url)}"`) }
  await checkPostgres(pgServer, PG_ENV)
  const ownRedis = redisServerAvailable(env)
  aborted(o.signal)

  const n = ++launches
  const id = `${process.pid}-${n}`
  const logDir = resolve(o.logDir ?? mkdtempSync(join(tmpdir(), 'loadlens-demo-')))
  mkdirSync(logDir, { recursive: true })
  const stamp = fileStamp()
  const logFile = resolve(logDir, `fastapi-api-${stamp}-${id}.log`)
  const workerLogFile = resolve(logDir, `fastapi-worker-${stamp}-${id}.log`)
  const redisLogFile = resolve(logDir, `fastapi-redis-${stamp}-${id}.log`)
  const readyFile = resolve(logDir, `.fastapi-worker-ready-${id}`)
  rmSync(readyFile, { force: true })

  const children: ChildProcess[] = []
  const lastResort = (): void => { for (const c of children) killGroup(c, 'SIGKILL') }
  process.on('exit', lastResort)
  let api: ChildProcess | undefined
  let worker: ChildProcess | undefined
  const servers: PrivateBroker[] = []
  let stopped: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await stopChild(api, 8000)
      await stopChild(worker, 15_000)
      for (const s of servers) await stopChild(s.child, 5000)
      rmSync(readyFile, { force: true })
      process.off('exit', lastResort)
    })()
    return stopped
  }

  try {
    // Redis: private servers (cache, and the broker's when separate), else dbs of the shared one
    let redisUrl: string
    let brokerUrl: string
    if (ownRedis) {
      const cache = await startPrivateBroker({ env, logFile: redisLogFile, signal: o.signal })
      servers.push(cache)
      children.push(cache.child)
      redisUrl = cache.url
      if (variant.redis === 'separate') {
        const broker = await startPrivateBroker({ env, logFile: redisLogFile, signal: o.signal })
        servers.push(broker)
        children.push(broker.child)
        brokerUrl = broker.url
      } else brokerUrl = redisUrl
    } else {
      const shared = resolveUrl(undefined, env, REDIS_ENV, 'redis://127.0.0.1:6379')
      const u = new URL(shared.url)
      u.pathname = `/${FALLBACK_CACHE_DB}`
      redisUrl = u.toString()
      await checkRedis({ url: redisUrl, source: shared.source }, REDIS_ENV, 'cache')
      const b = new URL(resolveUrl(undefined, env, BROKER_ENV, shared.url).url)
      if (variant.redis === 'separate') b.pathname = `/${FALLBACK_BROKER_DB}`
      else b.pathname = `/${FALLBACK_CACHE_DB}`
      brokerUrl = b.toString()
      say('redis-server is not on the PATH: the cache and the broker use dbs of the Redis server you have, whose counters other clients share.')
    }
    aborted(o.signal)

    try {
      await prepareDatabase(pgServer.url, database, variant.pgStatStatements)
    } catch (err) {
      throw new HarnessError(`could not prepare the database ${database} on ${redactUrl(pgServer.url)}: ${(err as Error).message}`, { cause: err })
    }
    const dsn = withPath(pgServer.url, database)
    const probeUrl = variant.pgStatStatements ? dsn : monitorUrl(dsn)
    const queue = `voice-${id}`
    const backlogS = faultValue(faults, 'backlog')
    const concurrency = backlogS !== undefined ? 1 : FASTAPI_WORKER_CONCURRENCY
    const poolSize = faultValue(faults, 'pool') ?? FASTAPI_POOL_SIZE
    const appFaults: Record<string, number | true> = {}
    for (const [k, v] of Object.entries(faults)) appFaults[k] = faultValue(faults, k as keyof Faults) ?? v
    const childEnv: NodeJS.ProcessEnv = {
      ...env,
      PYTHONPATH: serviceDir(),
      PYTHONUNBUFFERED: '1',
      PYTHONDONTWRITEBYTECODE: '1',
      MLUV_DSN: dsn,
      MLUV_REDIS_URL: redisUrl,
      MLUV_BROKER_URL: brokerUrl,
      MLUV_QUEUE: queue,
      MLUV_POOL_MAX: String(poolSize),
      MLUV_POOL_MIN: variant.pool === 'fixed' ? String(poolSize) : '1',
      MLUV_SEARCH_PATH: faults['slow-query'] !== undefined ? 'noidx,public' : '',
      MLUV_FAULTS: JSON.stringify(appFaults),
      MLUV_TASK_SECONDS: backlogS === undefined ? '' : String(backlogS),
      MLUV_PARENT_PID: String(process.pid)
    }
    const timeoutMs = o.readyTimeoutMs ?? 180_000
    await seed(python, { ...childEnv, MLUV_SEARCH_PATH: '' }, logFile, timeoutMs, say)
    aborted(o.signal)

    const port = await freePort()
    const url = `http://127.0.0.1:${port}`
    const apiFd = openSync(logFile, 'a')
    api = spawn(python, ['-m', 'uvicorn', 'mluv_api.main:app', '--host', '127.0.0.1', '--port', String(port), '--no-access-log', '--log-level', 'warning'], {
      cwd: serviceDir(), env: { ...childEnv, MLUV_LOG_FILE: logFile }, stdio: ['ignore', apiFd, apiFd], detached: true
    })
    closeSync(apiFd)
    children.push(api)
    const workerName = `fastapi-${id}@${hostname()}`
    const wFd = openSync(workerLogFile, 'a')
    worker = spawn(python, ['-m', 'celery', '-A', 'mluv_api.worker', 'worker', '-n', workerName, '-Q', queue,
      '--pool', 'prefork', '--concurrency', String(concurrency), '--prefetch-multiplier', '1',
      '--without-gossip', '--without-mingle', '--task-events', '--loglevel', 'INFO'], {
      cwd: serviceDir(), env: { ...childEnv, MLUV_LOG_FILE: workerLogFile, MLUV_READY_FILE: readyFile }, stdio: ['ignore', wFd, wFd], detached: true
    })
    closeSync(wFd)
    children.push(worker)
    await Promise.all([
      healthy(url, api, logFile, timeoutMs, o.signal),
      fileReady(worker, readyFile, workerLogFile, timeoutMs, o.signal)
    ])
    const target: DemoTarget = {
      kind: 'fastapi',
      url,
      metricsUrl: undefined,
      apiPid: api.pid!,
      workerPid: worker.pid,
      pgUrl: dsn,
      probePgUrl: probeUrl,
      database,
      poolSize,
      redisUrl,
      brokerUrl,
      brokerPid: variant.redis === 'separate' && servers[1] ? servers[1].pid : undefined,
      celery: true,
      celeryQueue: queue,
      workerName,
      workerConcurrency: concurrency,
      logFile,
      workerLogFile,
      faults,
      variant,
      stop
    }
    banner(target, variant, say)
    return target
  } catch (err) {
    await stop()
    throw err
  }
}

/** The same server and database, as the pg_monitor-only role. */
function monitorUrl (dsn: string): string {
  const u = new URL(dsn)
  u.username = MONITOR_ROLE
  u.password = ''
  return u.toString()
}

function banner (t: DemoTarget, v: Required<FastapiVariant>, say: (line: string) => void): void {
  const faults = describeFaults(t.faults)
  say(`demo target: Mluv.Me-like FastAPI app (uvicorn pid ${t.apiPid}) on ${t.url}`)
  say(`  PostgreSQL  ${redactUrl(t.pgUrl)}  asyncpg pool ${v.pool === 'fixed' ? `of ${t.poolSize}, all opened at start` : `growing to ${t.poolSize}`}; pg_stat_statements ${v.pgStatStatements ? 'on' : `off (probe role ${MONITOR_ROLE}, pg_monitor only)`}`)
  say(`  Redis       cache and job store ${redactUrl(t.redisUrl)}; broker ${v.redis === 'shared' ? 'on the same server' : redactUrl(t.brokerUrl!)}`)
  say(`  Celery      worker ${t.workerName} (pid ${t.workerPid}, prefork, concurrency ${t.workerConcurrency}), queue ${t.celeryQueue}`)
  say(`  log         ${t.logFile}`)
  say(`  faults      ${faults.length ? faults.join('; ') : 'none (healthy)'}`)
}

/** Parses `--variant pool=growing,pgss=off,redis=separate` (each key optional). */
export function parseVariant (text: string | undefined, flag = '--variant'): FastapiVariant {
  const out: FastapiVariant = {}
  if (text === undefined) return out
  const allowed: Record<string, string[]> = { pool: ['fixed', 'growing'], pgss: ['on', 'off'], redis: ['shared', 'separate'] }
  for (const item of text.split(',').map(x => x.trim()).filter(Boolean)) {
    const [key, value, extra] = item.split('=')
    const values = allowed[key!]
    if (!values || value === undefined || extra !== undefined || !values.includes(value)) {
      throw new UsageError(`${flag}: "${item}": expected ${Object.entries(allowed).map(([k, v]) => `${k}=${v.join('|')}`).join(', ')}`)
    }
    if (key === 'pool') out.pool = value as 'fixed' | 'growing'
    else if (key === 'pgss') out.pgStatStatements = value === 'on'
    else out.redis = value as 'shared' | 'separate'
  }
  return out
}
