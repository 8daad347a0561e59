/**
 * Each fault toggle of the demo target shows its symptom where a probe would see it, checked
 * with direct reads of the real services during a short run of the Mluv.Me scenario:
 * pg_stat_activity (only the target's own sessions, matched by its sockets' client ports),
 * Redis INFO on a private redis-server, the broker queue's list length, /proc of the API
 * process, and the API's log file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import pg from 'pg'
import { Redis } from 'ioredis'
import { startDemoTarget } from '../demo/mluvme/launch.js'
import type { DemoTarget, DemoTargetOptions } from '../demo/mluvme/launch.js'
import { bundledScenario, loadScenario } from '../scenarios/load.js'
import type { ScenarioPlan } from '../scenarios/validate.js'
import { runTest } from '../app/run.js'
import type { RunTestOutcome } from '../app/run.js'
import { tableStats } from '../reports/stats.js'
import { startRedis } from './helpers/redis-server.js'
import type { PrivateRedis } from './helpers/redis-server.js'
import { cpuSeconds, rssBytes, sampleWhile, schedSeconds, sessionsOf } from './helpers/demo.js'

const dir = mkdtempSync(join(tmpdir(), 'loadlens-demo-faults-'))
let plan: ScenarioPlan
let db: pg.Client

beforeAll(async () => {
  plan = await loadScenario(bundledScenario('mluvme'))
  db = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/loadlens_demo', application_name: 'loadlens-demo-test' })
  db.on('error', () => {})
  // the demo database may not exist yet: a first start creates and seeds it
  const first = await startDemoTarget({ quiet: true, celery: false, logDir: dir })
  await first.stop()
  await db.connect()
}, 120_000)

afterAll(async () => {
  await db?.end()
  rmSync(dir, { recursive: true, force: true })
})

/** Starts the target with `faults`, runs the scenario for `runTime` with 10 users while `sample` runs, stops the target. */
async function underLoad<S> (
  faults: string,
  options: Partial<DemoTargetOptions> & { runTime?: string; intervalMs?: number },
  sample: (t: DemoTarget) => Promise<S> | S,
  before?: (t: DemoTarget) => Promise<void> | void
): Promise<{ target: DemoTarget; run: RunTestOutcome; samples: S[]; debug: Record<string, any> }> {
  const { runTime = '6s', intervalMs = 200, ...targetOptions } = options
  const target = await startDemoTarget({ quiet: true, celery: false, logDir: dir, faults, ...targetOptions })
  try {
    await before?.(target)
    const load = runTest({ scenario: plan, host: target.url, users: 10, spawnRate: 10, runTime, quiet: true, outDir: dir, handleSignals: false })
    const { outcome, samples } = await sampleWhile(load, intervalMs, () => sample(target))
    const debug = await (await fetch(`${target.url}/debug/stats`)).json() as Record<string, any>
    return { target, run: outcome, samples, debug }
  } finally {
    await target.stop()
  }
}

describe('demo target faults', () => {
  it('pool: requests wait for a connection while the API holds only 2 in pg_stat_activity', async () => {
    const { samples, debug, run } = await underLoad('pool', {}, async (t) => {
      const rows = await sessionsOf(db, t.apiPid)
      const health = await (await fetch(`${t.url}/health`)).json() as { pool: { waiting: number } }
      return { sessions: rows.filter(r => r.application_name === 'mluvme-api').length, waiting: health.pool.waiting }
    })
    expect(samples.length).toBeGreaterThan(10)
    expect(Math.max(...samples.map(s => s.sessions))).toBe(2)
    expect(Math.max(...samples.map(s => s.waiting))).toBeGreaterThanOrEqual(2)
    expect(debug.poolWaits / debug.poolCheckouts).toBeGreaterThan(0.3)
    expect(debug.poolWaitMsMax).toBeGreaterThan(100)
    expect(tableStats(run.result).overall.failures).toBe(0)
  })

  describe('cache (Redis INFO of a private redis-server)', () => {
    let redis: PrivateRedis
    beforeAll(async () => { redis = await startRedis() })
    afterAll(async () => { await redis?.stop() })

    async function hitRate (faults: string): Promise<{ hits: number; misses: number; rate: number }> {
      const info = new Redis(redis.url)
      const read = async (): Promise<[number, number]> => {
        const text = await info.info('stats')
        return [Number(/keyspace_hits:(\d+)/.exec(text)![1]), Number(/keyspace_misses:(\d+)/.exec(text)![1])]
      }
      try {
        let start: [number, number] = [0, 0]
        await underLoad(faults, { redisUrl: redis.url.replace(/\/0$/, '/11') }, () => 0, async () => { start = await read() })
        const end = await read()
        const hits = end[0] - start[0]
        const misses = end[1] - start[1]
        return { hits, misses, rate: hits / Math.max(1, hits + misses) }
      } finally {
        info.disconnect()
      }
    }

    it('healthy: hits dominate (write-through on register, TTL 300 s)', async () => {
      const r = await hitRate('')
      expect(r.hits + r.misses).toBeGreaterThan(50)
      expect(r.rate).toBeGreaterThan(0.9)
    })

    it('cache-off: every lookup misses', async () => {
      const r = await hitRate('cache-off')
      expect(r.misses).toBeGreaterThan(50)
      expect(r.rate).toBeLessThan(0.05)
    })

    it('cache-ttl: entries expire after 1 s and the hit rate falls far below the healthy one', async () => {
      const r = await hitRate('cache-ttl')
      expect(r.hits + r.misses).toBeGreaterThan(50)
      // a key is read again about every 1-2 s: with a 1 s TTL about half the lookups miss, or more
      expect(r.rate).toBeLessThan(0.7)
    })
  })

  it('leak: the API process\'s RSS grows with the requests it serves', async () => {
    let rss0 = 0
    const { samples, debug } = await underLoad('leak=256', {}, (t) => rssBytes(t.apiPid), (t) => { rss0 = rssBytes(t.apiPid) })
    const grown = Math.max(...samples) - rss0
    expect(debug.leakedBytes).toBe(debug.requests * 256 * 1024)
    // most of what the API kept shows in its resident memory
    expect(debug.leakedBytes).toBeGreaterThan(15 * 2 ** 20)
    expect(grown).toBeGreaterThan(debug.leakedBytes * 0.6)
  })

  it('slow-query: long-running active queries scan messages (no index on user_id), healthy schema untouched', async () => {
    const { samples } = await underLoad('slow-query', { intervalMs: 25 }, async (t) => {
      const rows = await sessionsOf(db, t.apiPid)
      return rows.filter(r => r.state === 'active' && /FROM messages/i.test(r.query)).map(r => r.query_age)
    })
    const ages = samples.flat()
    expect(ages.length).toBeGreaterThan(3)
    expect(Math.max(...ages)).toBeGreaterThan(0.05)
    const plan = async (searchPath: string): Promise<string> => {
      await db.query(`SET search_path = ${searchPath}`)
      const r = await db.query<{ 'QUERY PLAN': string }>("EXPLAIN SELECT count(*) FROM messages WHERE user_id = 123 AND created_at >= date_trunc('day', now())")
      await db.query('RESET search_path')
      return r.rows.map(x => x['QUERY PLAN']).join('\n')
    }
    expect(await plan('noindex, public')).toMatch(/Seq Scan on messages/)
    expect(await plan('public')).toMatch(/Index (Only )?Scan|Bitmap Index Scan/)
  })

  it('idle-tx: the API\'s sessions sit idle in transaction', async () => {
    const { samples } = await underLoad('idle-tx', {}, async (t) => {
      const rows = await sessionsOf(db, t.apiPid)
      return rows.filter(r => r.state === 'idle in transaction')
    })
    const seen = samples.filter(s => s.length > 0)
    expect(seen.length / samples.length).toBeGreaterThan(0.5)
    expect(Math.max(...samples.map(s => s.length))).toBeGreaterThanOrEqual(2)
    expect(Math.max(...samples.flat().map(r => r.xact_age ?? 0))).toBeGreaterThan(0.05)
  })

  it('backlog: the Celery queue\'s list grows while one slow worker works', async () => {
    let broker: Redis | undefined
    try {
      const { samples, target } = await underLoad('backlog', { celery: true }, async (t) => {
        if (!broker) {
          broker = new Redis(t.brokerUrl!, { maxRetriesPerRequest: 0 })
          // the demo's private broker stops with the target, before this client is closed
          broker.on('error', () => {})
        }
        return broker.llen(t.celeryQueue)
      })
      expect(target.workerConcurrency).toBe(1)
      const early = samples.slice(0, 3)
      expect(Math.max(...samples)).toBeGreaterThanOrEqual(5)
      expect(Math.max(...samples)).toBeGreaterThan(Math.min(...early))
    } finally {
      broker?.disconnect()
    }
  })

  it('cpu: the API process burns CPU and wants a whole core', async () => {
    const { samples } = await underLoad('cpu', {}, (t) => ({ cpu: cpuSeconds(t.apiPid), sched: schedSeconds(t.apiPid), at: performance.now() }))
    // from the second second (all users started) to the end of the load
    const from = samples.find(s => s.at - samples[0]!.at >= 1500)!
    const to = samples[samples.length - 1]!
    const wall = (to.at - from.at) / 1000
    const cores = (to.cpu - from.cpu) / wall
    // CPU time from /proc/<pid>/stat: a whole core on an idle machine, its share of a busy one
    expect(cores).toBeGreaterThan(0.4)
    // running plus waiting for a CPU: the event loop never idles
    const wanted = (to.sched.run - from.sched.run + to.sched.wait - from.sched.wait) / wall
    expect(wanted).toBeGreaterThan(0.8)
  })

  it('errors: ERROR lines with tracebacks in the log, and 500s', async () => {
    const { run, target, debug } = await underLoad('errors=10', { runTime: '5s' }, () => 0)
    const http500 = run.result.errors.filter(e => e.status === 500).reduce((a, e) => a + e.count, 0)
    expect(http500).toBeGreaterThan(3)
    expect(http500).toBeLessThanOrEqual(debug.injectedErrors)
    const log = readFileSync(target.logFile, 'utf8')
    const errors = log.split('\n').filter(l => / ERROR mluvme\.api: /.test(l))
    expect(errors.length).toBe(debug.serverErrors)
    expect(log.split('Traceback (most recent call last):').length - 1).toBe(errors.length)
    expect(log).toMatch(/UpstreamServiceError: speech service answered 502/)
    expect(log).toMatch(/ CRITICAL mluvme\.api: error rate/)
  })

  it('without Celery for the Python: says so, processes voice jobs in-process, logs no ERROR or CRITICAL line', async () => {
    let said = ''
    const stream = new PassThrough()
    stream.on('data', (c: Buffer) => { said += c.toString() })
    const { target, run } = await underLoad('', { runTime: '5s', celery: 'auto', python: '/nonexistent/python3', quiet: false, stream }, () => 0)
    expect(target.celery).toBe(false)
    expect(target.workerPid).toBeUndefined()
    expect(said).toMatch(/Celery is not installed for \/nonexistent\/python3 .*voice jobs are processed inside the API process/)
    expect(tableStats(run.result).overall.failures).toBe(0)
    const flow = run.result.totals.entries.find(e => e.key === 'FLOW voice message end-to-end')!
    expect(flow.requests).toBeGreaterThan(5)
    expect(flow.failures).toBe(0)
    const log = readFileSync(target.logFile, 'utf8')
    expect(log).toMatch(/WARNING mluvme\.api: Celery is not configured/)
    expect(log).not.toMatch(/ (ERROR|CRITICAL) /)
  })
})
