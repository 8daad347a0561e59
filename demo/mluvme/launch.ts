/**
 * startDemoTarget(): the Mluv.Me-like demo target as a library call. Checks that PostgreSQL
 * and Redis answer, makes the demo database (once), starts the API as a separate process on
 * a free loopback port and a real Celery worker (Debian's python3-celery) when /usr/bin/python3
 * can import it, waits until both are ready, and returns where everything is plus stop().
 *
 * The worker's broker, unless one is given, is a private redis-server on a free loopback port
 * (broker.ts), so the cache's Redis server counts only the cache's lookups; without
 * redis-server on the PATH it is a db of 12-15 on the cache's server.
 *
 * Children run in their own process group (a terminal Ctrl-C reaches only the parent, which
 * stops them in order); each also stops itself when the parent disappears (the API on its IPC
 * channel closing, the worker when its parent pid changes, the broker's redis-server through
 * the sh that runs it), and a last-resort exit hook kills what is left.
 */
import { fileStamp } from '../../shared/files.js'
import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, statSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { SettingError, MissingDependencyError, DemoStartError } from '../../shared/errors.js'
import { redactUrl } from '../../shared/redact.js'
import { redisServerAvailable, startPrivateBroker } from './broker.js'
import { killGroup, stopChild, tail } from './children.js'
import type { PrivateBroker } from './broker.js'
import { describeFaults, faultValue, parseFaults } from './faults.js'
import type { Faults } from './faults.js'
import { ensureDemoDatabase } from './schema.js'
import { checkPostgres, checkRedis } from './services.js'
import {
  API_APPLICATION, BROKER_REDIS_DB, CACHE_REDIS_DB, DEFAULT_PG_URL, DEFAULT_REDIS_URL, DEMO_DATABASE, HEALTHY_CACHE_TTL_S,
  HEALTHY_POOL_SIZE, WORKER_APPLICATION, redisWithDefaultDb, resolveUrl, withPath
} from './settings.js'
import type { TargetConfig } from './settings.js'

export const PG_ENV = ['LOADLENS_DEMO_PG', 'DATABASE_URL']
export const REDIS_ENV = ['LOADLENS_DEMO_REDIS', 'REDIS_URL']
export const BROKER_ENV = ['LOADLENS_DEMO_BROKER', 'CELERY_BROKER_URL']
export const DEFAULT_PYTHON = '/usr/bin/python3'
/**
 * Celery worker threads of the healthy target (the tasks mostly wait, like calls to an AI
 * provider: 0.3-0.7 s each). 24 threads finish about 48 tasks a second, enough for 100 users
 * of the Mluv.Me scenario (about 14 voice messages a second at 50 users); with 8, a queue
 * stood at about 20 tasks from 50 users on and the voice flow took 2.3 s instead of 0.66 s.
 */
export const WORKER_CONCURRENCY = 24

export interface DemoTargetOptions {
  /** faults to switch on: parsed values, or `--fault` strings ("pool", "leak=256,cpu") */
  faults?: Faults | string | string[]
  /** PostgreSQL server URL (default: LOADLENS_DEMO_PG, DATABASE_URL, postgres://postgres@127.0.0.1:5432/postgres) */
  pgUrl?: string
  /** the demo's database on that server (default loadlens_demo) */
  database?: string
  /** the Redis cache (default: LOADLENS_DEMO_REDIS, REDIS_URL, redis://127.0.0.1:6379/11) */
  redisUrl?: string
  /** the Celery broker (default: LOADLENS_DEMO_BROKER, CELERY_BROKER_URL, else a private redis-server, see
   *  privateBroker) */
  brokerUrl?: string
  /** a broker not given runs on a private redis-server on a free loopback port (default true, when redis-server
   *  is on the PATH); false, or without redis-server: the first of dbs 12-15 of the cache's server that no other
   *  running demo holds */
  privateBroker?: boolean
  /** a real Celery worker: 'auto' (default) when /usr/bin/python3 imports celery; true requires it; false never */
  celery?: boolean | 'auto'
  /** the Python with celery, redis and psycopg2 (default LOADLENS_PYTHON or /usr/bin/python3) */
  python?: string
  /** where the API's and the worker's logs go (default: a new temporary directory) */
  logDir?: string
  /** environment to read URLs from (default process.env) */
  env?: NodeJS.ProcessEnv
  /** print nothing */
  quiet?: boolean
  /** where the banner and progress go (default stderr) */
  stream?: NodeJS.WritableStream
  /** aborts the start (children started so far are stopped) */
  signal?: AbortSignal
  /** how long the API and the worker may take to be ready (default 60 s; the first start seeds the database) */
  readyTimeoutMs?: number
}

export interface DemoTarget {
  /** which target: the express one (demo/mluvme), the FastAPI one (demo/fastapi) or the sync one (demo/sync) */
  kind: 'express' | 'fastapi' | 'sync'
  /** the API's base URL, e.g. http://127.0.0.1:41234 */
  url: string
  /** /metrics of the API (Prometheus text), when it has one */
  metricsUrl?: string
  apiPid: number
  workerPid?: number
  /** the demo database's URL (password kept: do not print it, use redactUrl) */
  pgUrl: string
  /** the URL the pg probe uses (default pgUrl; another role when the variant asks for one) */
  probePgUrl?: string
  database: string
  /** PostgreSQL application_name of the API's sessions, when it sets one */
  applicationName?: string
  /** PostgreSQL application_name of the worker's sessions, when it sets one */
  workerApplicationName?: string
  /** the API's PostgreSQL pool size */
  poolSize?: number
  /** the deployment variation it runs (FastAPI target) */
  variant?: Record<string, unknown>
  redisUrl: string
  brokerUrl?: string
  /** the pid of the broker's private redis-server (none: the broker was given, or shares the cache's server) */
  brokerPid?: number
  /** the private broker's output */
  brokerLogFile?: string
  /** a real Celery worker runs (false: jobs are processed inside the API process) */
  celery: boolean
  /** the broker queue the API publishes to (unique to this target) */
  celeryQueue: string
  /** the worker's node name, as `celery inspect` shows it */
  workerName?: string
  workerConcurrency: number
  /** the API's log (Python-logging-style lines) */
  logFile: string
  workerLogFile?: string
  faults: Faults
  /** stops everything it started; safe to call more than once */
  stop (): Promise<void>
}

let launches = 0

function here (): string {
  return fileURLToPath(import.meta.url)
}

/** The built API entry (dist/demo/mluvme/server.js), or the TypeScript source through tsx when dist is missing or older. */
function serverEntry (): { args: string[] } {
  const self = here()
  if (self.endsWith('.js')) return { args: [join(dirname(self), 'server.js')] }
  const srcDir = dirname(self)
  const built = resolve(srcDir, '..', '..', 'dist', 'demo', 'mluvme', 'server.js')
  if (existsSync(built)) {
    const builtAt = statSync(built).mtimeMs
    const newest = Math.max(...readdirSync(srcDir).filter(f => f.endsWith('.ts')).map(f => statSync(join(srcDir, f)).mtimeMs))
    if (builtAt >= newest) return { args: [built] }
  }
  return { args: ['--import', 'tsx', join(srcDir, 'server.ts')] }
}

/** The folder of the Celery tasks module (kept as Python source next to the TypeScript). */
export function workerDir (): string {
  const self = here()
  if (self.endsWith('.ts')) return join(dirname(self), 'worker')
  return resolve(dirname(self), '..', '..', '..', 'demo', 'mluvme', 'worker')
}

/** Can this Python import what the worker needs? Returns the reason when it cannot. */
export function celeryImportable (python: string): { ok: boolean; reason?: string } {
  const r = spawnSync(python, ['-c', 'import celery, redis, psycopg2'], { encoding: 'utf8', timeout: 20_000 })
  if (r.error) return { ok: false, reason: `${python}: ${(r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : r.error.message}` }
  if (r.status !== 0) return { ok: false, reason: (r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`) }
  return { ok: true }
}

function aborted (signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new DemoStartError('the demo target start was interrupted')
}

export async function startDemoTarget (o: DemoTargetOptions = {}): Promise<DemoTarget> {
  const env = o.env ?? process.env
  const out = o.stream ?? process.stderr
  const say = (line: string): void => { if (!o.quiet) out.write(`${line}\n`) }
  const faults = typeof o.faults === 'string' || Array.isArray(o.faults) ? parseFaults(o.faults) : (o.faults ?? {})
  const database = o.database ?? DEMO_DATABASE
  if (!/^[a-z_][a-z0-9_]*$/i.test(database)) throw new SettingError(`database: expected a plain database name (letters, digits, _), got "${database}"`)

  const pgServer = resolveUrl(o.pgUrl, env, PG_ENV, DEFAULT_PG_URL)
  const redis = resolveUrl(o.redisUrl, env, REDIS_ENV, DEFAULT_REDIS_URL)
  for (const [r, what] of [[pgServer, 'PostgreSQL URL'], [redis, 'Redis URL']] as const) {
    try { new URL(r.url) } catch { throw new SettingError(`${r.source === 'option' ? what : r.source}: expected a URL, got "${redactUrl(r.url)}"`) }
  }
  redis.url = redisWithDefaultDb(redis.url, CACHE_REDIS_DB)
  const brokerDefault = new URL(redis.url)
  brokerDefault.pathname = `/${BROKER_REDIS_DB}`
  const broker = resolveUrl(o.brokerUrl, env, BROKER_ENV, brokerDefault.toString())
  broker.url = redisWithDefaultDb(broker.url, BROKER_REDIS_DB)

  await checkPostgres(pgServer, PG_ENV)
  await checkRedis(redis, REDIS_ENV, 'cache')
  aborted(o.signal)

  // Celery when the Python can import it (or when asked for)
  const python = o.python ?? env.LOADLENS_PYTHON ?? DEFAULT_PYTHON
  let celery = false
  if (o.celery !== false) {
    const can = celeryImportable(python)
    if (can.ok) celery = true
    else if (o.celery === true) throw new MissingDependencyError(`Celery: ${python} cannot import celery, redis and psycopg2 (${can.reason}); install python3-celery python3-redis python3-psycopg2, or set LOADLENS_PYTHON`)
    else say(`Celery is not installed for ${python} (${can.reason}): voice jobs are processed inside the API process, and the Celery probe reports "not configured". Install python3-celery python3-redis python3-psycopg2 for a real worker.`)
  }
  // a broker of its own unless one was given
  let privateBroker = celery && broker.source === 'default' && o.privateBroker !== false
  if (privateBroker && !redisServerAvailable(env)) {
    privateBroker = false
    say('redis-server is not on the PATH: the Celery broker shares the cache\'s Redis server (a db of 12-15), whose hit rate then also counts the worker\'s own broker lookups. Install redis-server for a broker of its own.')
  }
  if (celery && !privateBroker) await checkRedis(broker, BROKER_ENV, 'Celery broker')
  aborted(o.signal)

  try {
    await ensureDemoDatabase(pgServer.url, database, say)
  } catch (err) {
    throw new DemoStartError(`could not prepare the demo database ${database} on ${redactUrl(pgServer.url)}: ${(err as Error).message}`, { cause: err })
  }
  aborted(o.signal)

  const n = ++launches
  const id = `${process.pid}-${n}`
  // a broker chosen by default on the cache's server: a db of its own among BROKER_DBS, so that
  // two demos on one Redis do not answer each other's Celery remote-control broadcasts
  const lease = celery && broker.source === 'default' && !privateBroker ? await leaseBrokerDb(broker.url, `${hostname()}:${id}`) : undefined
  if (lease) broker.url = lease.url
  if (celery && !privateBroker) await sweepStale(broker.url)
  const queue = `mluvme-${id}`
  const workerName = celery ? `mluvme-${id}@${hostname()}` : undefined
  const backlogS = faultValue(faults, 'backlog')
  const concurrency = backlogS !== undefined ? 1 : WORKER_CONCURRENCY
  const searchPath = faults['slow-query'] !== undefined ? 'noindex,public' : undefined
  const pgUrl = withPath(pgServer.url, database)
  // absolute: the worker runs in its own folder and must find the same files
  const logDir = resolve(o.logDir ?? mkdtempSync(join(tmpdir(), 'loadlens-demo-')))
  mkdirSync(logDir, { recursive: true })
  const stamp = fileStamp()
  const logFile = resolve(logDir, `mluvme-api-${stamp}-${id}.log`)
  const workerLogFile = celery ? resolve(logDir, `mluvme-worker-${stamp}-${id}.log`) : undefined
  const readyFile = resolve(logDir, `.worker-ready-${id}`)
  rmSync(readyFile, { force: true })
  const brokerLogFile = privateBroker ? resolve(logDir, `mluvme-broker-${stamp}-${id}.log`) : undefined

  const children: ChildProcess[] = []
  const lastResort = (): void => { for (const c of children) killGroup(c, 'SIGKILL') }
  process.on('exit', lastResort)

  let brokerServer: PrivateBroker | undefined
  let api: ChildProcess | undefined
  let worker: ChildProcess | undefined
  let stopped: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await stopChild(api, 8000)
      await stopChild(worker, 15_000)
      rmSync(readyFile, { force: true })
      // a private broker goes away with its server
      if (celery && !privateBroker) await cleanBroker(broker.url, queue, workerName!)
      await lease?.release()
      await stopChild(brokerServer?.child, 5000)
      process.off('exit', lastResort)
    })()
    return stopped
  }

  if (privateBroker) {
    try {
      brokerServer = await startPrivateBroker({ env, logFile: brokerLogFile!, signal: o.signal, readyTimeoutMs: o.readyTimeoutMs })
      children.push(brokerServer.child)
      broker.url = brokerServer.url
      aborted(o.signal)
    } catch (err) {
      await stop()
      throw err
    }
  }

  const config: TargetConfig = {
    port: 0,
    host: '127.0.0.1',
    pgUrl,
    poolSize: HEALTHY_POOL_SIZE,
    searchPath,
    redisUrl: redis.url,
    cacheTtlS: HEALTHY_CACHE_TTL_S,
    jobs: celery ? 'celery' : 'in-process',
    brokerUrl: celery ? broker.url : undefined,
    queue,
    workerConcurrency: concurrency,
    taskSeconds: backlogS,
    faults
  }

  try {
    const logFd = openSync(logFile, 'a')
    const entry = serverEntry()
    // a small young generation: the API's memory settles within seconds of load, so a leak stands out
    api = spawn(process.execPath, ['--max-semi-space-size=1', ...entry.args], {
      env: { ...env, MLUVME_CONFIG: JSON.stringify(config) },
      stdio: ['ignore', logFd, logFd, 'ipc'],
      detached: true
    })
    closeSync(logFd)
    children.push(api)

    if (celery) {
      const wfd = openSync(workerLogFile!, 'a')
      const dir = workerDir()
      worker = spawn(python, [
        '-m', 'celery', '-A', 'mluvme_tasks', 'worker',
        '-n', workerName!, '-Q', queue, '--pool', 'threads', '--concurrency', String(concurrency),
        '--prefetch-multiplier', '1', '--without-gossip', '--without-mingle', '--task-events', '--loglevel', 'INFO'
      ], {
        cwd: dir,
        env: {
          ...env,
          PYTHONPATH: dir,
          PYTHONUNBUFFERED: '1',
          PYTHONDONTWRITEBYTECODE: '1',
          MLUVME_BROKER_URL: broker.url,
          MLUVME_PG_DSN: pgUrl,
          MLUVME_QUEUE: queue,
          MLUVME_APPLICATION: WORKER_APPLICATION,
          MLUVME_SEARCH_PATH: searchPath ?? '',
          MLUVME_TASK_SECONDS: backlogS === undefined ? '' : String(backlogS),
          MLUVME_POOL_SIZE: String(concurrency + 1),
          MLUVME_READY_FILE: readyFile,
          MLUVME_PARENT_PID: String(process.pid)
        },
        stdio: ['ignore', wfd, wfd],
        detached: true
      })
      closeSync(wfd)
      children.push(worker)
    }

    const timeoutMs = o.readyTimeoutMs ?? 60_000
    const [port] = await Promise.all([
      apiReady(api, logFile, timeoutMs, o.signal),
      worker ? workerReady(worker, readyFile, workerLogFile!, timeoutMs, o.signal) : Promise.resolve()
    ])
    const url = `http://127.0.0.1:${port}`
    const target: DemoTarget = {
      kind: 'express',
      url,
      metricsUrl: `${url}/metrics`,
      apiPid: api.pid!,
      workerPid: worker?.pid,
      pgUrl,
      database,
      applicationName: API_APPLICATION,
      workerApplicationName: WORKER_APPLICATION,
      poolSize: faultValue(faults, 'pool') ?? HEALTHY_POOL_SIZE,
      redisUrl: redis.url,
      brokerUrl: celery ? broker.url : undefined,
      brokerPid: brokerServer?.pid,
      brokerLogFile,
      celery,
      celeryQueue: queue,
      workerName,
      workerConcurrency: concurrency,
      logFile,
      workerLogFile,
      faults,
      stop
    }
    banner(target, say)
    return target
  } catch (err) {
    await stop()
    throw err
  }
}

function apiReady (api: ChildProcess, logFile: string, timeoutMs: number, signal?: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const done = (fn: () => void): void => { clearTimeout(timer); signal?.removeEventListener('abort', onAbort); api.off('message', onMessage); api.off('exit', onExit); fn() }
    const onMessage = (m: { type?: string; port?: number; message?: string }): void => {
      if (m?.type === 'ready' && typeof m.port === 'number') done(() => resolve(m.port!))
      else if (m?.type === 'error') done(() => reject(new DemoStartError(`the demo API could not start: ${m.message ?? 'unknown error'} (log: ${logFile})`)))
    }
    const onExit = (code: number | null): void => done(() => reject(new DemoStartError(`the demo API exited during start (code ${code}): ${tail(logFile)} (log: ${logFile})`)))
    const onAbort = (): void => done(() => reject(new DemoStartError('the demo target start was interrupted')))
    const timer = setTimeout(() => done(() => reject(new DemoStartError(`the demo API was not ready within ${timeoutMs / 1000} s (log: ${logFile})`))), timeoutMs)
    api.on('message', onMessage)
    api.once('exit', onExit)
    signal?.addEventListener('abort', onAbort)
  })
}

function workerReady (worker: ChildProcess, readyFile: string, logFile: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now()
    const onExit = (code: number | null): void => { clearInterval(poll); reject(new DemoStartError(`the Celery worker exited during start (code ${code}): ${tail(logFile)} (log: ${logFile})`)) }
    const poll = setInterval(() => {
      if (existsSync(readyFile)) { clearInterval(poll); worker.off('exit', onExit); resolve(); return }
      if (signal?.aborted) { clearInterval(poll); worker.off('exit', onExit); reject(new DemoStartError('the demo target start was interrupted')); return }
      if (Date.now() - t0 > timeoutMs) { clearInterval(poll); worker.off('exit', onExit); reject(new DemoStartError(`the Celery worker was not ready within ${timeoutMs / 1000} s: ${tail(logFile)} (log: ${logFile})`)) }
    }, 100)
    worker.once('exit', onExit)
  })
}

/** The broker dbs a demo whose broker URL was not given may take, the first free one first. */
export const BROKER_DBS = [BROKER_REDIS_DB, 13, 14, 15]
const LEASE_KEY = '_loadlens.demo.lease'
const LEASE_S = 30

/** Takes the first broker db no running demo holds (a key with a TTL, refreshed while the demo runs). */
async function leaseBrokerDb (url: string, owner: string): Promise<{ url: string; release (): Promise<void> }> {
  for (const db of BROKER_DBS) {
    const u = new URL(url)
    u.pathname = `/${db}`
    const r = new Redis(u.toString(), { connectTimeout: 2000, maxRetriesPerRequest: 1 })
    r.on('error', () => {})
    if (await r.set(LEASE_KEY, owner, 'EX', LEASE_S, 'NX').catch(() => null) === 'OK') {
      const keep = setInterval(() => {
        r.get(LEASE_KEY).then(v => v === owner ? r.expire(LEASE_KEY, LEASE_S) : undefined).catch(() => {})
      }, LEASE_S * 1000 / 3)
      keep.unref()
      return {
        url: u.toString(),
        async release () {
          clearInterval(keep)
          try { if (await r.get(LEASE_KEY) === owner) await r.del(LEASE_KEY) } catch {}
          r.disconnect()
        }
      }
    }
    r.disconnect()
  }
  // every db is taken: share the first
  const u = new URL(url)
  u.pathname = `/${BROKER_DBS[0]}`
  return { url: u.toString(), async release () {} }
}

function processAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Removes from the broker what demos of this host left when their launcher died without stopping them. */
async function sweepStale (brokerUrl: string): Promise<void> {
  const r = new Redis(brokerUrl, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null })
  r.on('error', () => {})
  try {
    await r.connect()
    const pidbox = '_kombu.binding.celery.pidbox'
    for (const member of await r.smembers(pidbox)) {
      const m = /(mluvme-(\d+)-\d+)@([^\x06]+)\.celery\.pidbox/.exec(member)
      if (!m || m[3] !== hostname() || processAlive(Number(m[2]))) continue
      await r.srem(pidbox, member)
      await r.del(m[1]!, `_kombu.binding.${m[1]}`, `${m[1]}@${m[3]}.celery.pidbox`)
    }
  } catch {
    // nothing to sweep
  } finally {
    r.disconnect()
  }
}

/** Removes what this target left on the broker: its queue, its binding, its pidbox binding. */
async function cleanBroker (brokerUrl: string, queue: string, workerName: string): Promise<void> {
  const r = new Redis(brokerUrl, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null })
  r.on('error', () => {})
  try {
    await r.connect()
    await r.del(queue, `_kombu.binding.${queue}`)
    const pidbox = '_kombu.binding.celery.pidbox'
    const members = await r.smembers(pidbox)
    const mine = members.filter(m => m.includes(`${workerName}.celery.pidbox`))
    if (mine.length) await r.srem(pidbox, ...mine)
    await r.del(`${workerName}.celery.pidbox`)
  } catch {
    // the broker is gone: nothing left to clean
  } finally {
    r.disconnect()
  }
}

function banner (t: DemoTarget, say: (line: string) => void): void {
  const faults = describeFaults(t.faults)
  say(`demo target: Mluv.Me-like API (pid ${t.apiPid}) on ${t.url}`)
  say(`  PostgreSQL  ${redactUrl(t.pgUrl)}  application_name ${t.applicationName}, pool ${faultValue(t.faults, 'pool') ?? HEALTHY_POOL_SIZE}`)
  say(`  Redis cache ${redactUrl(t.redisUrl)}  TTL ${faultValue(t.faults, 'cache-ttl') ?? HEALTHY_CACHE_TTL_S} s`)
  if (t.celery) say(`  Celery      worker ${t.workerName} (pid ${t.workerPid}, concurrency ${t.workerConcurrency}), broker ${redactUrl(t.brokerUrl!)}, queue ${t.celeryQueue}`)
  else say('  Celery      not configured: voice jobs run inside the API process')
  if (t.brokerPid !== undefined) say(`  broker      private redis-server (pid ${t.brokerPid}) on ${new URL(t.brokerUrl!).host}, so the cache's Redis server counts only cache lookups`)
  say(`  log         ${t.logFile}`)
  say(`  faults      ${faults.length ? faults.join('; ') : 'none (healthy)'}`)
}
