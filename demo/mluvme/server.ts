/**
 * Process entry of the demo API (spawned by launch.ts as a separate process, so that its RSS
 * and CPU are its own). Reads its TargetConfig from MLUVME_CONFIG, connects to PostgreSQL
 * (application_name mluvme-api), the Redis cache and the Celery broker, listens on loopback
 * and tells the launcher its port over the IPC channel. Logs go to stdout. Stops on SIGTERM,
 * SIGINT, or when the launcher goes away.
 */
import type { AddressInfo } from 'node:net'
import pg from 'pg'
import { Redis } from 'ioredis'
import { redactUrl } from '../../shared/redact.js'
import { createApi } from './api.js'
import type { JobSink } from './api.js'
import { publishTask } from './celery.js'
import { describeFaults, faultValue } from './faults.js'
import { InProcessWorker } from './inprocess.js'
import { logger } from './log.js'
import { API_APPLICATION, VOICE_TASK, WORKER_APPLICATION } from './settings.js'
import type { TargetConfig } from './settings.js'

const log = logger('mluvme.api')
/** connections the API opens at start */
const POOL_MIN = 10

function readConfig (): TargetConfig {
  const raw = process.env.MLUVME_CONFIG
  if (!raw) throw new Error('MLUVME_CONFIG is not set: start the demo target with startDemoTarget() (demo/mluvme/launch.ts) or `loadlens demo`')
  return JSON.parse(raw) as TargetConfig
}

function celeryJobs (config: TargetConfig): JobSink {
  const broker = new Redis(config.brokerUrl!, { maxRetriesPerRequest: 2, enableAutoPipelining: true })
  broker.on('error', (err) => log('WARNING', `broker: ${err.message}`))
  return {
    kind: 'celery',
    async publish (job) {
      await publishTask(broker, VOICE_TASK, [job.jobId, job.userId, job.audioBytes, job.textHint, job.settings], {}, config.queue, job.jobId)
    },
    async close () { broker.disconnect() }
  }
}

function inProcessJobs (config: TargetConfig): JobSink {
  const worker = new InProcessWorker(config.pgUrl, WORKER_APPLICATION, config.searchPath, config.workerConcurrency, config.taskSeconds, logger('mluvme.worker'))
  return {
    kind: 'in-process',
    async publish (job) { worker.enqueue(job) },
    close: () => worker.close()
  }
}

async function main (): Promise<void> {
  const config = readConfig()
  log('INFO', `mluvme-api starting (pid ${process.pid}, node ${process.version})`)
  for (const line of describeFaults(config.faults)) log('WARNING', `fault on: ${line}`)

  const poolSize = faultValue(config.faults, 'pool') ?? config.poolSize
  const pool = new pg.Pool({
    connectionString: config.pgUrl,
    application_name: API_APPLICATION,
    max: poolSize,
    // connections opened stay open (like asyncpg's or SQLAlchemy's pools): the count only grows past the warm ones under bursts
    idleTimeoutMillis: 0,
    connectionTimeoutMillis: 20_000,
    // one request, one backend: no parallel query workers (on a small machine they would spread a
    // missing index's full scan over three processes and blur what a request costs)
    options: ['-c max_parallel_workers_per_gather=0', config.searchPath ? `-c search_path=${config.searchPath}` : ''].join(' ').trim()
  })
  pool.on('error', (err) => log('WARNING', `idle PostgreSQL connection failed: ${err.message}`))
  // the pool's minimum (asyncpg's default min_size is 10): opened at start, so a run sees a flat count
  const warm = await Promise.all(Array.from({ length: Math.min(poolSize, POOL_MIN) }, () => pool.connect()))
  warm.forEach(c => c.release())
  const cache = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, enableAutoPipelining: true })
  cache.on('error', (err) => log('WARNING', `cache: ${err.message}`))

  const jobs = config.jobs === 'celery' ? celeryJobs(config) : inProcessJobs(config)
  if (jobs.kind === 'celery') log('INFO', `voice jobs go to Celery: broker ${redactUrl(config.brokerUrl!)}, queue ${config.queue}`)
  else log('WARNING', 'Celery is not configured: voice jobs are processed inside the API process')

  const { app, counters, drain } = createApi({ config: { ...config, poolSize }, pool, cache, jobs, log })
  const server = app.listen(config.port, config.host)
  await new Promise<void>((resolve, reject) => { server.once('listening', resolve); server.once('error', reject) })
  server.keepAliveTimeout = 65_000
  const port = (server.address() as AddressInfo).port
  log('INFO', `listening on http://${config.host}:${port}; PostgreSQL ${redactUrl(config.pgUrl)} (pool ${poolSize}, ${Math.min(poolSize, POOL_MIN)} open), cache ${redactUrl(config.redisUrl)} (TTL ${faultValue(config.faults, 'cache-ttl') ?? config.cacheTtlS} s)`)

  const summary = setInterval(() => {
    log('INFO', `served ${counters.requests} requests; ${counters.jobsPublished} voice jobs queued; pool ${pool.totalCount} open, ${pool.idleCount} idle, ${pool.waitingCount} waiting`)
  }, 10_000)
  summary.unref()

  let stopping = false
  const stop = async (why: string): Promise<void> => {
    if (stopping) return
    stopping = true
    log('INFO', `stopping (${why})`)
    const hard = setTimeout(() => process.exit(0), 8000)
    hard.unref()
    // no new requests; the ones in flight and their activity events finish (bounded)
    const closed = new Promise<void>(resolve => server.close(() => resolve()))
    server.closeIdleConnections()
    await drain(3000)
    server.closeAllConnections()
    await closed
    await jobs.close().catch(() => {})
    await pool.end().catch(() => {})
    cache.disconnect()
    log('INFO', 'stopped')
    process.exit(0)
  }
  process.on('SIGTERM', () => { void stop('SIGTERM') })
  process.on('SIGINT', () => { void stop('SIGINT') })
  process.on('disconnect', () => { void stop('the launcher went away') })
  process.send?.({ type: 'ready', port })
}

main().catch((err: Error) => {
  log('CRITICAL', `cannot start: ${err.message}`)
  process.send?.({ type: 'error', message: err.message })
  setTimeout(() => process.exit(1), 100)
})
