/**
 * The Redis probe against a private redis-server (INFO counters are server-wide): the hit
 * rate is high while keys are found and falls when the cache is flushed, ops/s follow the
 * load, and killing the server mid-run gives a gap with the reason, after which sampling
 * resumes on its own when the server is back.
 */
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { once } from 'node:events'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { RedisProbe } from '../probes/redis.js'
import { describeError } from '../shared/errors.js'
import { ProbeScheduler } from '../probes/scheduler.js'
import { startRedis } from './helpers/redis-server.js'
import type { PrivateRedis } from './helpers/redis-server.js'
import { sleep } from './helpers/server.js'

let server: PrivateRedis

beforeAll(async () => { server = await startRedis() })
afterAll(async () => { await server?.stop() })

/** bounded load: `seconds` of GETs on keys 0..99 */
async function reads (client: Redis, seconds: number): Promise<void> {
  const until = Date.now() + seconds * 1000
  while (Date.now() < until) {
    const pipe = client.pipeline()
    for (let i = 0; i < 50; i++) pipe.get(`k${i % 100}`)
    await pipe.exec()
    await sleep(20)
  }
}

describe('redis probe', () => {
  it('hit rate falls when the cache is flushed; a killed server is a gap and sampling resumes', async () => {
    const client = new Redis(server.url, { maxRetriesPerRequest: 1, retryStrategy: () => 100 })
    client.on('error', () => {})
    for (let i = 0; i < 100; i++) await client.set(`k${i}`, 'v')
    const probe = new RedisProbe(server.url)
    const lines: string[] = []
    const s = new ProbeScheduler([probe], { intervalMs: 1000, log: (l) => lines.push(l), maxBackoffMs: 1000 })
    await s.start()
    const tWarm = Math.floor(Date.now() / 1000)
    await reads(client, 2.5)
    const tFlush = Math.floor(Date.now() / 1000)
    await client.flushall()
    await reads(client, 2.5)
    const tKill = Math.floor(Date.now() / 1000)
    await server.kill()
    await sleep(2500)
    await server.restart()
    await sleep(3500)
    await s.stop()
    client.disconnect()

    const series = new Map(s.series().map(x => [x.id, x]))
    const hit = series.get('redis.hit_rate')!.points
    const before = hit.filter(([t, v]) => t >= tWarm && t < tFlush - 1 && v !== null).map(x => x[1]!)
    const after = hit.filter(([t, v]) => t > tFlush && t < tKill && v !== null).map(x => x[1]!)
    expect(before.length).toBeGreaterThan(0)
    expect(after.length).toBeGreaterThan(0)
    expect(Math.min(...before)).toBeGreaterThan(0.95)
    expect(Math.max(...after)).toBeLessThan(0.05)
    const ops = series.get('redis.ops_per_s')!.points.filter(([t, v]) => t >= tWarm && t < tKill && v !== null).map(x => x[1]!)
    expect(Math.max(...ops)).toBeGreaterThan(20)
    expect(series.get('redis.ping_ms')!.unit).toBe('ms')
    expect(series.get('redis.used_memory')!.unit).toBe('bytes')

    const st = s.status()[0]!
    expect(st.gaps.length).toBeGreaterThanOrEqual(1)
    const gap = st.gaps[0]!
    expect(gap.from).toBeGreaterThanOrEqual(tKill - 1)
    expect(gap.reason).toMatch(/ECONNREFUSED|Connection is closed|not connected|ECONNRESET|Stream isn't writeable|connection was lost with a command in flight/)
    // (a command in flight when the server died: the connection is the reason, not ioredis's retry limit)
    expect(gap.reason).not.toMatch(/max retries per request/i)
    // a null point inside the outage, values again after the restart
    const ping = series.get('redis.ping_ms')!.points
    expect(ping.some(([t, v]) => t >= gap.from && t <= gap.to && v === null)).toBe(true)
    expect(ping.some(([t, v]) => t > gap.to && v !== null)).toBe(true)
    expect(lines.some(l => /redis: sampling again/.test(l))).toBe(true)
    // run totals: the hits of the warm phase and the misses after the flush
    expect(st.facts!.hitsOverRun as number).toBeGreaterThan(100)
    expect(st.facts!.missesOverRun as number).toBeGreaterThan(100)
    expect(st.facts!.maxmemory).toBe(0)
    expect(st.facts!.restartedDuringRun).toBe(true)
  })
})

describe('redis probe start failures say which failure it is', () => {
  it('a server killed with a command in flight: the gap says the connection was lost, not ioredis\'s retry limit', async () => {
    const probe = new RedisProbe(server.url, { keyMisses: false })
    await probe.start()
    const admin = new Redis(server.url, { maxRetriesPerRequest: 0 })
    admin.on('error', () => {})
    try {
      // every client's commands wait, so the probe's PING is in flight when the server dies
      await admin.call('CLIENT', 'PAUSE', '3000', 'ALL')
      const sampled = probe.sample(Date.now()).then(() => null, (e: Error) => e)
      await sleep(300)
      await server.kill()
      const err = await sampled
      expect(err).not.toBeNull()
      // the reason a gap shows (the scheduler describes the sample's error)
      expect(describeError(err)).toMatch(/connection was lost with a command in flight|Connection is closed|ECONNRESET/)
      expect(describeError(err)).not.toMatch(/max retries per request/i)
    } finally {
      admin.disconnect()
      await probe.stop?.()
      await server.restart()
    }
  })

  it('refused, a wrong password, no password, TLS to a plain server and a server that never answers each get their own words; the password is never shown', async () => {
    const locked = await startRedis(undefined, ['--requirepass', 'not-the-real-one'])
    // accepts connections and never answers
    const silent = createServer(() => {}).listen(0, '127.0.0.1')
    await once(silent, 'listening')
    try {
      const port = locked.port
      const reasons: string[] = []
      for (const url of [`redis://:wrong-secret@127.0.0.1:${port}`, `redis://127.0.0.1:${port}`, `redis://127.0.0.1:1`, `rediss://:wrong-secret@127.0.0.1:${port}`, `redis://127.0.0.1:${(silent.address() as AddressInfo).port}`]) {
        try {
          await new RedisProbe(url).start()
          reasons.push('started')
        } catch (err) {
          reasons.push((err as Error).message)
        }
      }
      expect(reasons[0]).toMatch(/^cannot connect to redis:\/\/:\*\*\*@127\.0\.0\.1:\d+: authentication failed \(WRONGPASS/)
      expect(reasons[1]).toMatch(/authentication failed \(NOAUTH Authentication required/)
      expect(reasons[2]).toBe('cannot connect to redis://127.0.0.1:1: connection refused: nothing listens there')
      expect(reasons[3]).toMatch(/^cannot connect to rediss:\/\/:\*\*\*@127\.0\.0\.1:\d+: (timed out: no answer \(rediss:\/\/ speaks TLS: does the server\?\)|TLS failed)/)
      expect(reasons[4]).toMatch(/^cannot connect to redis:\/\/127\.0\.0\.1:\d+: timed out: the server accepted the connection but did not answer$/)
      expect(reasons.join(' ')).not.toContain('wrong-secret')
    } finally {
      silent.close()
      await locked.stop()
    }
  })
})
