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
 * The start itself (database, seed, Redis, the API and the worker) is demo/python-target.ts.
 */
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { redactUrl } from '../../shared/redact.js'
import { MONITOR_ROLE, startPythonTarget } from '../python-target.js'
import type { PythonTargetOptions, PythonTargetSpec, PythonVariant } from '../python-target.js'
import { faultValue } from '../mluvme/faults.js'
import type { DemoTarget } from '../mluvme/launch.js'

export { MONITOR_ROLE, parseVariant } from '../python-target.js'

export const FASTAPI_DATABASE = 'loadlens_fastapi'
/** asyncpg's own default, and this app's: 10 connections, all opened at start */
export const FASTAPI_POOL_SIZE = 10
/** Celery prefork processes of the healthy worker */
export const FASTAPI_WORKER_CONCURRENCY = 8

export type FastapiVariant = PythonVariant
export type FastapiTargetOptions = PythonTargetOptions

/** the Python package of the app (kept as source beside the TypeScript) */
export function serviceDir (): string {
  const self = fileURLToPath(import.meta.url)
  if (self.endsWith('.ts')) return join(dirname(self), 'service')
  return resolve(dirname(self), '..', '..', '..', 'demo', 'fastapi', 'service')
}

const IMPORTS = ['fastapi', 'uvicorn', 'asyncpg', 'psycopg2', 'redis', 'celery', 'multipart']

export const FASTAPI_SPEC: PythonTargetSpec = {
  kind: 'fastapi',
  appLabel: 'the FastAPI app',
  serviceDir: serviceDir(),
  imports: IMPORTS,
  packages: ['python3-fastapi', 'python3-uvicorn', 'python3-asyncpg', 'python3-psycopg2', 'python3-redis', 'python3-celery', 'python3-multipart'],
  database: FASTAPI_DATABASE,
  seedModule: 'mluv_api.seed',
  env: (s) => {
    const poolSize = faultValue(s.faults, 'pool') ?? FASTAPI_POOL_SIZE
    return {
      MLUV_DSN: s.dsn,
      MLUV_REDIS_URL: s.redisUrl,
      MLUV_BROKER_URL: s.brokerUrl,
      MLUV_QUEUE: s.queue,
      MLUV_POOL_MAX: String(poolSize),
      MLUV_POOL_MIN: s.variant.pool === 'fixed' ? String(poolSize) : '1',
      MLUV_SEARCH_PATH: s.faults['slow-query'] !== undefined ? 'noidx,public' : '',
      MLUV_FAULTS: JSON.stringify(s.faultValues),
      MLUV_TASK_SECONDS: s.backlogS === undefined ? '' : String(s.backlogS),
      MLUV_PARENT_PID: String(s.parentPid)
    }
  },
  logFileEnv: 'MLUV_LOG_FILE',
  readyFileEnv: 'MLUV_READY_FILE',
  apiArgs: (port) => ['-m', 'uvicorn', 'mluv_api.main:app', '--host', '127.0.0.1', '--port', String(port), '--no-access-log', '--log-level', 'warning'],
  workerArgs: (name, queue, concurrency) => ['-m', 'celery', '-A', 'mluv_api.worker', 'worker', '-n', name, '-Q', queue,
    '--pool', 'prefork', '--concurrency', String(concurrency), '--prefetch-multiplier', '1',
    '--without-gossip', '--without-mingle', '--task-events', '--loglevel', 'INFO'],
  poolSize: (s) => faultValue(s.faults, 'pool') ?? FASTAPI_POOL_SIZE,
  workerConcurrency: (s) => s.backlogS !== undefined ? 1 : FASTAPI_WORKER_CONCURRENCY,
  redisDbs: { cache: 0, broker: 0 },
  fallbackDbs: { cache: 9, broker: 10 },
  banner: (t: DemoTarget, s, say) => {
    const v = s.variant
    say(`demo target: Mluv.Me-like FastAPI app (uvicorn pid ${t.apiPid}) on ${t.url}`)
    say(`  PostgreSQL  ${redactUrl(t.pgUrl)}  asyncpg pool ${v.pool === 'fixed' ? `of ${t.poolSize}, all opened at start` : `growing to ${t.poolSize}`}; pg_stat_statements ${v.pgStatStatements ? 'on' : `off (probe role ${MONITOR_ROLE}, pg_monitor only)`}`)
    say(`  Redis       cache and job store ${redactUrl(t.redisUrl)}; broker ${v.redis === 'shared' ? 'on the same server' : redactUrl(t.brokerUrl!)}`)
    say(`  Celery      worker ${t.workerName} (pid ${t.workerPid}, prefork, concurrency ${t.workerConcurrency}), queue ${t.celeryQueue}`)
  }
}

export function startFastapiTarget (o: FastapiTargetOptions = {}): Promise<DemoTarget> {
  return startPythonTarget(FASTAPI_SPEC, o)
}
