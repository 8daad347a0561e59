/**
 * What the demo targets written in Python share: start one from its spec. Each target is its
 * own Python package (the app, its Celery worker and its seed script, written as its own team
 * would), with its own database on the demo's PostgreSQL server and private redis-servers on
 * free loopback ports (stopped with the target), so their INFO counters hold only this
 * target's traffic; without redis-server on the PATH, dbs of the Redis server the user has.
 * Python comes from Debian (/usr/bin/python3, or LOADLENS_PYTHON).
 *
 * Variations a real deployment has (PythonVariant): a pool that grows instead of a fixed one
 * (where the target's pool can grow); pg_stat_statements absent, with the probe's role only in
 * pg_monitor (so it may not create the extension); the Celery broker on the cache's Redis
 * server or on one of its own.
 */
import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import pg from 'pg'
import { SettingError, MissingDependencyError, DemoStartError } from '../shared/errors.js'
import { fileStamp } from '../shared/files.js'
import { freePort } from '../shared/ports.js'
import { redactUrl } from '../shared/redact.js'
import { redisServerAvailable, startPrivateBroker } from './mluvme/broker.js'
import type { PrivateBroker } from './mluvme/broker.js'
import { killGroup, stopChild, tail } from './mluvme/children.js'
import { describeFaults, faultValue, parseFaults } from './mluvme/faults.js'
import type { Faults } from './mluvme/faults.js'
import { checkPostgres, checkRedis } from './mluvme/services.js'
import { DEFAULT_PG_URL, resolveUrl, withPath } from './mluvme/settings.js'
import { BROKER_ENV, DEFAULT_PYTHON, PG_ENV, REDIS_ENV } from './mluvme/launch.js'
import type { DemoTarget, DemoTargetOptions } from './mluvme/launch.js'

/** the role the probe uses when pg_stat_statements is absent: pg_monitor only, may not create extensions */
export const MONITOR_ROLE = 'loadlens_monitor'

export interface PythonVariant {
  /** 'fixed' (default): every connection opened at start; 'growing': the pool opens them as needed */
  pool?: 'fixed' | 'growing'
  /** pg_stat_statements in the app's database (default true); false also gives the probe a pg_monitor-only role */
  pgStatStatements?: boolean
  /** 'shared' (default): the Celery broker on the cache's Redis server; 'separate': a server of its own */
  redis?: 'shared' | 'separate'
}

/** What a target's app and worker are given, in the launcher's words; the spec names them in the app's. */
export interface PythonTargetSettings {
  dsn: string
  redisUrl: string
  brokerUrl: string
  queue: string
  faults: Faults
  /** fault values with their defaults filled in */
  faultValues: Record<string, number | true>
  variant: Required<PythonVariant>
  /** the task time of the backlog fault, if on */
  backlogS?: number
  parentPid: number
}

export interface PythonTargetSpec {
  kind: DemoTarget['kind']
  /** how messages name the app: "the FastAPI app" */
  appLabel: string
  serviceDir: string
  /** what the app and the worker import, and the Debian packages that provide it */
  imports: string[]
  packages: string[]
  database: string
  seedModule: string
  /** the app's and the worker's environment (each target names its own variables) */
  env: (s: PythonTargetSettings) => NodeJS.ProcessEnv
  /** the variables that carry the log file and the worker's ready file */
  logFileEnv: string
  readyFileEnv: string
  apiArgs: (port: number) => string[]
  workerArgs: (name: string, queue: string, concurrency: number) => string[]
  /** the API's PostgreSQL connections in all (all its processes) */
  poolSize: (s: PythonTargetSettings) => number
  workerConcurrency: (s: PythonTargetSettings) => number
  /** the Redis databases of the cache and the broker when they share a server */
  redisDbs: { cache: number; broker: number }
  /** when redis-server is missing: dbs of the user's Redis server */
  fallbackDbs: { cache: number; broker: number }
  banner: (t: DemoTarget, s: PythonTargetSettings, say: (line: string) => void) => void
}

/** The same start options as the express target's, less what only it has (its Redis URLs, the in-process worker). */
export interface PythonTargetOptions extends Pick<DemoTargetOptions, 'pgUrl' | 'database' | 'python' | 'logDir' | 'env' | 'quiet' | 'stream' | 'signal'> {
  faults?: Faults | string | string[]
  variant?: PythonVariant
  /** how long seeding, the API and the worker may take (default 180 s: the first start seeds a million rows) */
  readyTimeoutMs?: number
}

let launches = 0

/** Can this Python import what the app and the worker need? The reason when it cannot. */
export function importable (python: string, modules: string[]): { ok: boolean; reason?: string } {
  const r = spawnSync(python, ['-c', `import ${modules.join(', ')}`], { encoding: 'utf8', timeout: 30_000 })
  if (r.error) return { ok: false, reason: `${python}: ${(r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : r.error.message}` }
  if (r.status !== 0) return { ok: false, reason: r.stderr.trim().split('\n').pop() ?? `exit ${r.status}` }
  return { ok: true }
}

function aborted (signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new DemoStartError('the demo target start was interrupted')
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
function seed (spec: PythonTargetSpec, python: string, env: NodeJS.ProcessEnv, logFile: string, timeoutMs: number, say: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const fd = openSync(logFile, 'a')
    const child = spawn(python, ['-m', spec.seedModule], { cwd: spec.serviceDir, env, stdio: ['ignore', 'pipe', fd] })
    closeSync(fd)
    child.stdout!.setEncoding('utf8')
    child.stdout!.on('data', (text: string) => { for (const line of text.trim().split('\n')) if (line) say(`  ${line}`) })
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new DemoStartError(`seeding ${spec.appLabel}'s database took over ${timeoutMs / 1000} s (log: ${logFile})`)) }, timeoutMs)
    child.on('error', (err) => { clearTimeout(timer); reject(new DemoStartError(`could not run the seed script: ${err.message}`)) })
    child.on('exit', (code) => {
      clearTimeout(timer)
      if (code === 0) resolve()
      else reject(new DemoStartError(`${spec.appLabel}'s seed failed (exit ${code}): ${tail(logFile, 3)} (log: ${logFile})`))
    })
  })
}

/** Waits for GET /health to answer 200. */
async function healthy (spec: PythonTargetSpec, url: string, child: ChildProcess, logFile: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) throw new DemoStartError(`${spec.appLabel} exited during start: ${tail(logFile)} (log: ${logFile})`)
    if (signal?.aborted) throw new DemoStartError('the demo target start was interrupted')
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) })
      if (res.ok) return
    } catch {
      // not listening yet
    }
    await new Promise(r => setTimeout(r, 100))
  }
  throw new DemoStartError(`${spec.appLabel} was not ready within ${timeoutMs / 1000} s: ${tail(logFile)} (log: ${logFile})`)
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
      if (err) { clearInterval(poll); reject(new DemoStartError(err)) }
    }, 100)
  })
}

/** a Redis URL with its database number set */
function withDb (url: string, db: number): string {
  const u = new URL(url)
  u.pathname = `/${db}`
  return u.toString()
}

export async function startPythonTarget (spec: PythonTargetSpec, o: PythonTargetOptions = {}): Promise<DemoTarget> {
  const env = o.env ?? process.env
  const out = o.stream ?? process.stderr
  const say = (line: string): void => { if (!o.quiet) out.write(`${line}\n`) }
  const faults = typeof o.faults === 'string' || Array.isArray(o.faults) ? parseFaults(o.faults) : (o.faults ?? {})
  const variant: Required<PythonVariant> = { pool: 'fixed', pgStatStatements: true, redis: 'shared', ...o.variant }
  const database = o.database ?? spec.database
  if (!/^[a-z_][a-z0-9_]*$/i.test(database)) throw new SettingError(`database: expected a plain database name (letters, digits, _), got "${database}"`)
  const python = o.python ?? env.LOADLENS_PYTHON ?? DEFAULT_PYTHON
  const can = importable(python, spec.imports)
  if (!can.ok) {
    throw new MissingDependencyError(`${spec.appLabel} needs ${python} with ${spec.imports.join(', ')} (${can.reason}); install ${spec.packages.join(' ')}, or set LOADLENS_PYTHON`)
  }
  const pgServer = resolveUrl(o.pgUrl, env, PG_ENV, DEFAULT_PG_URL)
  try { new URL(pgServer.url) } catch { throw new SettingError(`${pgServer.source === 'option' ? 'PostgreSQL URL' : pgServer.source}: expected a URL, got "${redactUrl(pgServer.url)}"`) }
  await checkPostgres(pgServer, PG_ENV)
  const ownRedis = redisServerAvailable(env)
  aborted(o.signal)

  const n = ++launches
  const id = `${process.pid}-${n}`
  const logDir = resolve(o.logDir ?? mkdtempSync(join(tmpdir(), 'loadlens-demo-')))
  mkdirSync(logDir, { recursive: true })
  const stamp = fileStamp()
  const logFile = resolve(logDir, `${spec.kind}-api-${stamp}-${id}.log`)
  const workerLogFile = resolve(logDir, `${spec.kind}-worker-${stamp}-${id}.log`)
  const redisLogFile = resolve(logDir, `${spec.kind}-redis-${stamp}-${id}.log`)
  const readyFile = resolve(logDir, `.${spec.kind}-worker-ready-${id}`)
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
      redisUrl = withDb(cache.url, spec.redisDbs.cache)
      if (variant.redis === 'separate') {
        const broker = await startPrivateBroker({ env, logFile: redisLogFile, signal: o.signal })
        servers.push(broker)
        children.push(broker.child)
        brokerUrl = withDb(broker.url, 0)
      } else brokerUrl = withDb(cache.url, spec.redisDbs.broker)
    } else {
      const shared = resolveUrl(undefined, env, REDIS_ENV, 'redis://127.0.0.1:6379')
      redisUrl = withDb(shared.url, spec.fallbackDbs.cache)
      await checkRedis({ url: redisUrl, source: shared.source }, REDIS_ENV, 'cache')
      const b = resolveUrl(undefined, env, BROKER_ENV, shared.url).url
      brokerUrl = withDb(b, variant.redis === 'separate' ? spec.fallbackDbs.broker : spec.fallbackDbs.cache)
      say('redis-server is not on the PATH: the cache and the broker use dbs of the Redis server you have, whose counters other clients share.')
    }
    aborted(o.signal)

    try {
      await prepareDatabase(pgServer.url, database, variant.pgStatStatements)
    } catch (err) {
      throw new DemoStartError(`could not prepare the database ${database} on ${redactUrl(pgServer.url)}: ${(err as Error).message}`, { cause: err })
    }
    const dsn = withPath(pgServer.url, database)
    const probeUrl = variant.pgStatStatements ? dsn : monitorUrl(dsn)
    const queue = `${spec.kind}-${id}`
    const backlogS = faultValue(faults, 'backlog')
    const faultValues: Record<string, number | true> = {}
    for (const [k, v] of Object.entries(faults)) faultValues[k] = faultValue(faults, k as keyof Faults) ?? v
    const settings: PythonTargetSettings = { dsn, redisUrl, brokerUrl, queue, faults, faultValues, variant, backlogS, parentPid: process.pid }
    const childEnv: NodeJS.ProcessEnv = { ...env, PYTHONPATH: spec.serviceDir, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1', ...spec.env(settings) }
    const timeoutMs = o.readyTimeoutMs ?? 180_000
    await seed(spec, python, childEnv, logFile, timeoutMs, say)
    aborted(o.signal)

    const port = await freePort()
    const url = `http://127.0.0.1:${port}`
    const apiFd = openSync(logFile, 'a')
    api = spawn(python, spec.apiArgs(port), { cwd: spec.serviceDir, env: { ...childEnv, [spec.logFileEnv]: logFile }, stdio: ['ignore', apiFd, apiFd], detached: true })
    closeSync(apiFd)
    children.push(api)
    const workerName = `${spec.kind}-${id}@${hostname()}`
    const concurrency = spec.workerConcurrency(settings)
    const wFd = openSync(workerLogFile, 'a')
    worker = spawn(python, spec.workerArgs(workerName, queue, concurrency), {
      cwd: spec.serviceDir, env: { ...childEnv, [spec.logFileEnv]: workerLogFile, [spec.readyFileEnv]: readyFile }, stdio: ['ignore', wFd, wFd], detached: true
    })
    closeSync(wFd)
    children.push(worker)
    await Promise.all([
      healthy(spec, url, api, logFile, timeoutMs, o.signal),
      fileReady(worker, readyFile, workerLogFile, timeoutMs, o.signal)
    ])
    const target: DemoTarget = {
      kind: spec.kind,
      url,
      metricsUrl: undefined,
      apiPid: api.pid!,
      workerPid: worker.pid,
      pgUrl: dsn,
      probePgUrl: probeUrl,
      database,
      poolSize: spec.poolSize(settings),
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
    spec.banner(target, settings, say)
    say(`  log         ${target.logFile}`)
    const described = describeFaults(faults)
    say(`  faults      ${described.length ? described.join('; ') : 'none (healthy)'}`)
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

/** Parses `--variant pool=growing,pgss=off,redis=separate` (each key optional). */
export function parseVariant (text: string | undefined, flag = '--variant'): PythonVariant {
  const out: PythonVariant = {}
  if (text === undefined) return out
  const allowed: Record<string, string[]> = { pool: ['fixed', 'growing'], pgss: ['on', 'off'], redis: ['shared', 'separate'] }
  for (const item of text.split(',').map(x => x.trim()).filter(Boolean)) {
    const [key, value, extra] = item.split('=')
    const values = allowed[key!]
    if (!values || value === undefined || extra !== undefined || !values.includes(value)) {
      throw new SettingError(`${flag}: "${item}": expected ${Object.entries(allowed).map(([k, v]) => `${k}=${v.join('|')}`).join(', ')}`)
    }
    if (key === 'pool') out.pool = value as 'fixed' | 'growing'
    else if (key === 'pgss') out.pgStatStatements = value === 'on'
    else out.redis = value as 'shared' | 'separate'
  }
  return out
}
