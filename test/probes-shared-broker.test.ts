/**
 * A cache and a Celery broker on one Redis server (a private redis-server: cache db 0, broker
 * db 1, a real Celery worker), watched by the Redis and the Celery probe of one session: the
 * Redis probe reads the app's own hit rate, not one dragged down by the Celery probe's queue
 * reads or padded by the workers' replies to it. Redis INFO read directly shows that the
 * probe's lookups were there to leave out. With MEMORY refused by an ACL the Celery probe
 * reads every queue list (misses), and those are left out too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { startProbeSession } from '../app/probes.js'
import type { ProbeSession } from '../app/probes.js'
import type { Series } from '../shared/types.js'
import { startRedis } from './helpers/redis-server.js'
import type { PrivateRedis } from './helpers/redis-server.js'
import { sleep } from './helpers/server.js'

const PYTHON = '/usr/bin/python3'
const FIXTURES = fileURLToPath(new URL('./fixtures/celery/', import.meta.url))
let server: PrivateRedis
let worker: ChildProcess | null = null
let app: Redis
let admin: Redis

beforeAll(async () => {
  server = await startRedis()
  const broker = `redis://127.0.0.1:${server.port}/1`
  worker = spawn(PYTHON, ['-m', 'celery', '-A', 'loadlens_tasks', 'worker', '--pool', 'threads', '-c', '2', '-n', 'shared@loadlens', '-E', '-l', 'WARNING', '--without-mingle', '--without-gossip'],
    { cwd: FIXTURES, env: { ...process.env, LOADLENS_CELERY_BROKER: broker, PYTHONDONTWRITEBYTECODE: '1' }, stdio: 'ignore', detached: true })
  app = new Redis(`redis://127.0.0.1:${server.port}/0`)
  admin = new Redis(`redis://127.0.0.1:${server.port}/1`)
  for (let i = 0; i < 20; i++) await app.set(`user:${i}`, 'cached')
  // a queue no worker consumes: its list exists, so the probe reads its length (a hit)
  await admin.lpush('held', 'a', 'b', 'c')
  await admin.call('ACL', 'SETUSER', 'nomemory', 'on', '>pw', '~*', '&*', '+@all', '-memory')
  // the worker's own start looks keys up too (its queues' lengths, unacked messages): let it finish first
  const end = Date.now() + 20_000
  while ((await admin.smembers('_kombu.binding.celery.pidbox')).length === 0) {
    if (Date.now() > end) throw new Error('the Celery worker did not start')
    await sleep(200)
  }
  await sleep(1000)
})

afterAll(async () => {
  if (worker?.pid && worker.exitCode === null) try { process.kill(-worker.pid, 'SIGKILL') } catch {}
  app?.disconnect()
  admin?.disconnect()
  await server?.stop()
})

function values (series: Series[], id: string): number[] {
  return (series.find(s => s.id === id)?.points ?? []).filter(([, v]) => v !== null).map(p => p[1]!)
}

async function lookups (): Promise<{ hits: number; misses: number }> {
  const text = await admin.info('stats')
  return { hits: Number(/keyspace_hits:(\d+)/.exec(text)![1]), misses: Number(/keyspace_misses:(\d+)/.exec(text)![1]) }
}

/** A session on the shared server; waits for the worker to answer, runs `reads`, lets one more interval be sampled. */
async function watch (broker: string, reads: () => Promise<{ hits: number; misses: number }>): Promise<{ session: ProbeSession; app: { hits: number; misses: number }; server: { hits: number; misses: number } }> {
  const session = (await startProbeSession({ redis: `redis://127.0.0.1:${server.port}/0`, celeryBroker: broker, celeryQueues: ['celery', 'held'], host: false }, () => {}))!
  const end = Date.now() + 20_000
  while (!values(session.series(), 'celery.workers_online').some(v => v >= 1)) {
    if (Date.now() > end) throw new Error('the Celery worker did not answer')
    await sleep(200)
  }
  const before = await lookups()
  const made = await reads()
  await sleep(2200)
  await session.stop()
  const after = await lookups()
  return { session, app: made, server: { hits: after.hits - before.hits, misses: after.misses - before.misses } }
}

/** bounded load: `n` GETs, 20 a second, keys `user:0..19` (found) or, every `missEvery`-th, a key never set */
async function gets (n: number, missEvery = 0): Promise<{ hits: number; misses: number }> {
  const out = { hits: 0, misses: 0 }
  for (let i = 0; i < n; i++) {
    const miss = missEvery > 0 && i % missEvery === 0
    const v = await app.get(miss ? `absent:${i}` : `user:${i % 20}`)
    if (v === null) out.misses++
    else out.hits++
    await sleep(50)
  }
  return out
}

describe('redis probe on a server shared with a Celery broker', () => {
  it('reads the app\'s own hit rate: the Celery probe makes no misses and its hits are left out', async () => {
    const r = await watch(`redis://127.0.0.1:${server.port}/1`, () => gets(120))
    expect(r.app).toEqual({ hits: 120, misses: 0 })
    // the probes did look up keys on the server: the workers' replies and the held queue's length
    expect(r.server.misses).toBe(0)
    expect(r.server.hits - r.app.hits).toBeGreaterThanOrEqual(10)
    const [redis, celery] = ['redis', 'celery'].map(p => r.session.status().find(s => s.probe === p)!)
    const facts = redis!.facts as Record<string, any>
    expect(facts.missesOverRun).toBe(0)
    // a reply still in flight when a sample ended may be counted one interval late
    expect(facts.hitsOverRun).toBeGreaterThanOrEqual(120 - 3)
    expect(facts.hitsOverRun).toBeLessThanOrEqual(120 + 6)
    expect(facts.lookupsLeftOut.hits).toBeGreaterThanOrEqual(10)
    expect((redis!.facts as any).keyMissesHow).toMatch(/^key-miss events, switched on for the run and switched back: the hit rate leaves out \d+ misses on Celery's keys \(its result backend, its queues\) and \d+ hits the Celery probe caused/)
    for (const v of values(r.session.series(), 'redis.hit_rate')) expect(v).toBe(1)
    expect(values(r.session.series(), 'redis.misses_per_s').every(v => v === 0)).toBe(true)
    const lk = (celery!.facts as Record<string, any>).keyspaceLookups
    expect(lk.llenMisses).toBe(0)
    expect(lk.llenHits).toBeGreaterThan(3)
    expect(lk.workerReplyHits).toBeGreaterThan(3)
    expect(values(r.session.series(), 'celery.queue_depth{queue="held"}').slice(-1)[0]).toBe(3)
    expect(values(r.session.series(), 'celery.queue_depth{queue="celery"}').slice(-1)[0]).toBe(0)
  })

  it('with MEMORY refused, the queue lists that do not exist are read (misses) and left out of the hit rate', async () => {
    const r = await watch(`redis://nomemory:pw@127.0.0.1:${server.port}/1`, () => gets(100, 4))
    expect(r.app).toEqual({ hits: 75, misses: 25 })
    // seven lists that do not exist (celery and its three priority lists, held's three): a miss each per sample
    expect(r.server.misses - r.app.misses).toBeGreaterThanOrEqual(20)
    const [redis, celery] = ['redis', 'celery'].map(p => r.session.status().find(s => s.probe === p)!)
    const facts = redis!.facts as Record<string, any>
    expect(facts.missesOverRun).toBeGreaterThanOrEqual(25 - 3)
    expect(facts.missesOverRun).toBeLessThanOrEqual(25 + 3)
    expect(facts.hitRateOverRun).toBeGreaterThan(0.72)
    expect(facts.hitRateOverRun).toBeLessThan(0.78)
    const cf = celery!.facts as Record<string, any>
    expect(cf.queueDepthRead).toMatch(/refuses MEMORY USAGE/)
    expect(cf.keyspaceLookups.llenMisses).toBeGreaterThanOrEqual(20)
    expect(values(r.session.series(), 'celery.queue_depth{queue="held"}').slice(-1)[0]).toBe(3)
  })
})
