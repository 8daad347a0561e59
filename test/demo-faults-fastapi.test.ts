/**
 * The FastAPI demo target's faults are real, read from the services: switched on together in
 * two short runs, each symptom read straight from the services while the load runs (the API's
 * RSS, CPU demand from /proc, Redis INFO of the cache's and the broker's server, the broker
 * queue, pg_stat_activity of the API's sessions, its log). The diagnosis of each fault alone
 * is checked on the recorded corpus (test/corpus.test.ts); the pool and slow-query faults are
 * diagnosed live in test/demo-fastapi.test.ts. (No diagnosis here: these runs may share the
 * machine.)
 */
import { readFileSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { rssBytes, schedSeconds, sessionsOf } from './helpers/demo.js'
import { run } from './helpers/demo-fastapi.js'

describe('the FastAPI target\'s other faults are real, read from the services', () => {
  let redis: Redis | undefined
  afterAll(() => { redis?.disconnect() })
  const info = async (r: Redis): Promise<Record<string, number>> => Object.fromEntries((await r.info('stats')).split('\r\n').map(l => l.split(':')).filter(p => p.length === 2).map(([k, v]) => [k!, Number(v)]))

  it('leak, cache-off, errors and backlog: RSS grows, every cached read misses, 500s with tracebacks, the queue stands', async () => {
    let rss0 = 0
    let stats0: Record<string, number> = {}
    let stats1: Record<string, number> = {}
    const w = await run({ fault: 'leak=256,cache-off,errors=10,backlog', runTime: '15s' }, async (t) => {
      redis ??= new Redis(t.brokerUrl!, { maxRetriesPerRequest: 0 }).on('error', () => {})
      if (!rss0) { rss0 = rssBytes(t.apiPid); stats0 = await info(redis) }
      return { rss: rssBytes(t.apiPid), queue: await redis.llen(t.celeryQueue) }
    }, async () => { stats1 = await info(redis!) })
    // leak: 256 KB kept per request, most of it resident
    expect(w.debug.leaked_bytes).toBe(w.debug.requests * 256 * 1024)
    expect(Math.max(...w.samples.map(s => s.rss)) - rss0).toBeGreaterThan(0.6 * w.debug.leaked_bytes)
    // cache-off: the app's lookups all miss (the job records it polls are still found)
    expect(w.debug.cache_hits).toBe(0)
    expect(w.debug.cache_misses).toBeGreaterThan(20)
    expect(stats1.keyspace_misses! - stats0.keyspace_misses!).toBeGreaterThanOrEqual(w.debug.cache_misses * 0.9)
    // errors: injected 500s, each logged with its traceback
    const log = readFileSync(w.target.logFile, 'utf8')
    expect(w.debug.injected_errors).toBeGreaterThan(5)
    expect(w.result.errors.filter(e => e.status === 500).reduce((a, e) => a + e.count, 0)).toBe(w.debug.injected_errors)
    expect(log.split('Traceback (most recent call last):').length - 1).toBe(w.debug.injected_errors)
    expect(log).toMatch(/UpstreamError: speech service answered 502/)
    // backlog: one worker process taking 3 s a task, the queue's list stands
    expect(w.target.workerConcurrency).toBe(1)
    expect(Math.max(...w.samples.map(s => s.queue))).toBeGreaterThanOrEqual(5)
  }, 150_000)

  it('idle-tx, cpu and cache-ttl: sessions idle in transaction, the API wants most of a core, keys expire', async () => {
    let demand0 = 0
    let t0 = 0
    let demand1 = 0
    let t1 = 0
    let expired0 = 0
    let expired1 = 0
    let cacheRedis: Redis | undefined
    const w = await run({ fault: 'idle-tx,cpu=20,cache-ttl', runTime: '15s' }, async (t, db) => {
      cacheRedis ??= new Redis(t.redisUrl, { maxRetriesPerRequest: 0 }).on('error', () => {})
      if (!t0) { const d = schedSeconds(t.apiPid); demand0 = d.run + d.wait; t0 = performance.now(); expired0 = (await info(cacheRedis)).expired_keys! }
      return (await sessionsOf(db, t.apiPid)).filter(r => r.state === 'idle in transaction').length
    }, async (t) => {
      const d = schedSeconds(t.apiPid)
      demand1 = d.run + d.wait
      t1 = performance.now()
      expired1 = (await info(cacheRedis!)).expired_keys!
      cacheRedis!.disconnect()
    })
    expect(w.samples.filter(n => n > 0).length / w.samples.length).toBeGreaterThan(0.3)
    // the event loop wants most of a core: on the CPU or waiting for one (whatever share of a busy machine it gets)
    expect((demand1 - demand0) / ((t1 - t0) / 1000)).toBeGreaterThan(0.6)
    expect(expired1 - expired0).toBeGreaterThan(20)
  }, 150_000)
})
