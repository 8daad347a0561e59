/**
 * startSyncTarget(): the third demo target, written after the diagnosis's thresholds were
 * chosen and never tuned on (every case of it is held out). The seed's stack again, designed
 * the way a third team would:
 *   - FastAPI with plain (sync) handlers, run in Starlette's thread pool, served by
 *     `uvicorn --workers 2`: two processes, so the target is a process tree;
 *   - psycopg2 connections, a fixed pool of 4 per process (8 in all), opened at start, behind
 *     a blocking queue; reads take a connection only on a cache miss, the upload holds one for
 *     the whole request (across the object-storage PUT);
 *   - Redis on one server for the cache (db 0), the Celery broker (db 1) and the Celery result
 *     backend (db 2): the job endpoint asks the result backend (AsyncResult), whose lookups miss
 *     until the task finishes;
 *   - a Celery worker with a thread pool (6 threads), a connection per thread;
 *   - its own schema and seed (accounts, recordings, vocabulary) in the database loadlens_sync.
 * The faults mean the same as for the other targets; the pool fault's value is the pool in all
 * (2: one connection per process).
 */
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { redactUrl } from '../../shared/redact.js'
import { MONITOR_ROLE, startPythonTarget } from '../python-target.js'
import type { PythonTargetOptions, PythonTargetSettings, PythonTargetSpec } from '../python-target.js'
import { faultValue } from '../mluvme/faults.js'
import type { DemoTarget } from '../mluvme/launch.js'

export const SYNC_DATABASE = 'loadlens_sync'
/** API processes (uvicorn --workers) */
export const SYNC_PROCESSES = 2
/** PostgreSQL connections per API process, all opened at start */
export const SYNC_POOL_PER_PROCESS = 4
/** Celery worker threads */
export const SYNC_WORKER_THREADS = 6

function serviceDir (): string {
  const self = fileURLToPath(import.meta.url)
  if (self.endsWith('.ts')) return join(dirname(self), 'service')
  return resolve(dirname(self), '..', '..', '..', 'demo', 'sync', 'service')
}

/** connections per process: the pool fault's value is the pool in all */
function perProcess (s: PythonTargetSettings): number {
  const pool = faultValue(s.faults, 'pool')
  return pool === undefined ? SYNC_POOL_PER_PROCESS : Math.max(1, Math.floor(pool / SYNC_PROCESSES))
}

export const SYNC_SPEC: PythonTargetSpec = {
  kind: 'sync',
  appLabel: 'the sync FastAPI app',
  serviceDir: serviceDir(),
  imports: ['fastapi', 'uvicorn', 'psycopg2', 'redis', 'celery', 'multipart'],
  packages: ['python3-fastapi', 'python3-uvicorn', 'python3-psycopg2', 'python3-redis', 'python3-celery', 'python3-multipart'],
  database: SYNC_DATABASE,
  seedModule: 'mluv_sync.seed',
  env: (s) => {
    const results = new URL(s.redisUrl)
    results.pathname = '/2'
    const faults: Record<string, number | true> = { ...s.faultValues }
    if (faults.pool !== undefined) faults.pool = perProcess(s)
    return {
      SYNC_DSN: s.dsn,
      SYNC_CACHE_URL: s.redisUrl,
      SYNC_BROKER_URL: s.brokerUrl,
      SYNC_RESULT_URL: results.toString(),
      SYNC_QUEUE: s.queue,
      SYNC_POOL_SIZE: String(perProcess(s)),
      SYNC_SEARCH_PATH: s.faults['slow-query'] !== undefined ? 'noidx,public' : '',
      SYNC_FAULTS: JSON.stringify(faults),
      SYNC_TASK_SECONDS: s.backlogS === undefined ? '' : String(s.backlogS),
      SYNC_PARENT_PID: String(s.parentPid)
    }
  },
  logFileEnv: 'SYNC_LOG_FILE',
  readyFileEnv: 'SYNC_READY_FILE',
  apiArgs: (port) => ['-m', 'uvicorn', 'mluv_sync.app:api', '--host', '127.0.0.1', '--port', String(port), '--workers', String(SYNC_PROCESSES), '--no-access-log', '--log-level', 'warning'],
  workerArgs: (name, queue, concurrency) => ['-m', 'celery', '-A', 'mluv_sync.tasks', 'worker', '-n', name, '-Q', queue,
    '--pool', 'threads', '--concurrency', String(concurrency), '--without-gossip', '--without-mingle', '--task-events', '--loglevel', 'INFO'],
  poolSize: (s) => perProcess(s) * SYNC_PROCESSES,
  workerConcurrency: (s) => s.backlogS !== undefined ? 1 : SYNC_WORKER_THREADS,
  redisDbs: { cache: 0, broker: 1 },
  fallbackDbs: { cache: 6, broker: 7 },
  banner: (t: DemoTarget, s: PythonTargetSettings, say) => {
    say(`demo target: Mluv.Me-like FastAPI app with sync handlers (uvicorn pid ${t.apiPid}, ${SYNC_PROCESSES} worker processes) on ${t.url}`)
    say(`  PostgreSQL  ${redactUrl(t.pgUrl)}  psycopg2, ${perProcess(s)} connections per process opened at start; pg_stat_statements ${s.variant.pgStatStatements ? 'on' : `off (probe role ${MONITOR_ROLE}, pg_monitor only)`}`)
    say(`  Redis       cache ${redactUrl(t.redisUrl)}; broker ${redactUrl(t.brokerUrl!)}; Celery results in db 2 of the cache's server`)
    say(`  Celery      worker ${t.workerName} (pid ${t.workerPid}, threads, concurrency ${t.workerConcurrency}), queue ${t.celeryQueue}`)
  }
}

export function startSyncTarget (o: PythonTargetOptions = {}): Promise<DemoTarget> {
  return startPythonTarget(SYNC_SPEC, o)
}
