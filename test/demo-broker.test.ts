/**
 * The demo's Celery broker on a redis-server of its own: a healthy short `loadlens demo`
 * (its cache on a private redis-server, as INFO counters are server-wide) starts the broker
 * on another port, the cache's hit rate is the app's own and the checklist's cache item
 * passes, and stopping the demo stops the broker. A launcher that dies leaves no broker
 * behind; without redis-server on the PATH the broker is a db of 12-15 on the cache's server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { runDemo } from '../app/demo.js'
import { startDemoTarget } from '../demo/mluvme/launch.js'
import { startRedis } from './helpers/redis-server.js'
import type { PrivateRedis } from './helpers/redis-server.js'
import { sleep } from './helpers/server.js'
import { alive } from './helpers/demo.js'

const BROKER_MODULE = fileURLToPath(new URL('../demo/mluvme/broker.ts', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'loadlens-demo-broker-'))
let cache: PrivateRedis

beforeAll(async () => { cache = await startRedis() })
afterAll(async () => {
  await cache?.stop()
  rmSync(dir, { recursive: true, force: true })
})

async function answers (url: string): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null })
  r.on('error', () => {})
  try {
    await r.connect()
    return await r.ping() === 'PONG'
  } catch {
    return false
  } finally {
    r.disconnect()
  }
}

async function gone (pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms
  while (alive(pid) && Date.now() < end) await sleep(100)
  return !alive(pid)
}

describe('demo broker', () => {
  it('a healthy demo: the broker runs on its own redis-server and the cache item passes', async () => {
    const stderr = new PassThrough()
    let banner = ''
    stderr.on('data', (c: Buffer) => { banner += c.toString() })
    const cacheUrl = `redis://127.0.0.1:${cache.port}/11`
    const r = await runDemo({ runTime: '20s', quiet: false, stdout: new PassThrough(), stderr: stderr as unknown as NodeJS.WriteStream, outDir: dir, handleSignals: false, target: { redisUrl: cacheUrl } })
    const brokerPid = Number(/broker\s+private redis-server \(pid (\d+)\) on 127\.0\.0\.1:(\d+)/.exec(banner)?.[1])
    const brokerUrl = /broker (redis:\/\/\S+),/.exec(banner)?.[1]
    expect(brokerPid).toBeGreaterThan(0)
    expect(brokerUrl).toMatch(/^redis:\/\/127\.0\.0\.1:\d+\/0$/)
    expect(new URL(brokerUrl!).port).not.toBe(String(cache.port))
    expect((r.result.meta.options as any).demo.privateBroker).toBe(true)
    // a healthy run gives no finding (the accuracy matrix in test/correlate-demo.test.ts runs another)
    expect(r.result.diagnosis!.findings.map(f => f.title)).toEqual([])

    const status = Object.fromEntries(r.result.probes.status.map(s => [s.probe, s]))
    expect(status.celery?.target).toContain(brokerUrl)
    expect(status.celery?.state).not.toBe('failed')
    expect(Math.max(...(r.result.probes.series.find(s => s.id === 'celery.workers_online')?.points ?? []).map(p => p[1] ?? 0))).toBe(1)
    // the cache's server saw the cache's lookups only: nothing of the Celery probe to leave out
    const facts = status.redis!.facts as Record<string, any>
    expect(facts.lookupsLeftOut).toBeUndefined()
    expect(facts.hitsOverRun).toBeGreaterThan(50)
    const cacheItem = r.result.checklist!.find(i => i.id === 'cache')!
    expect(cacheItem.state, cacheItem.evidence).toBe('pass')
    expect(r.result.diagnosis?.findings.some(f => f.id === 'cache-hit-rate')).toBe(false)

    // stopped with everything else
    expect(await gone(brokerPid, 5000)).toBe(true)
    expect(await answers(brokerUrl!)).toBe(false)
  }, 120_000)

  it('a launcher that dies leaves no broker behind', async () => {
    const code = `import { startPrivateBroker } from ${JSON.stringify(BROKER_MODULE)}
const b = await startPrivateBroker({ logFile: ${JSON.stringify(join(dir, 'broker.log'))} })
process.stdout.write(JSON.stringify({ pid: b.pid, url: b.url }) + '\\n')
setInterval(() => {}, 1000)`
    const launcher = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    launcher.stdout!.on('data', (c: Buffer) => { out += c.toString() })
    const end = Date.now() + 30_000
    while (!out.includes('\n') && Date.now() < end && launcher.exitCode === null) await sleep(100)
    const { pid, url } = JSON.parse(out) as { pid: number; url: string }
    expect(alive(pid)).toBe(true)
    expect(await answers(url)).toBe(true)
    launcher.kill('SIGKILL')
    expect(await gone(pid, 5000)).toBe(true)
  })

  it('without redis-server on the PATH the broker is a db of 12-15 on the cache\'s server', async () => {
    const stream = new PassThrough()
    let said = ''
    stream.on('data', (c: Buffer) => { said += c.toString() })
    const t = await startDemoTarget({ celery: true, redisUrl: `redis://127.0.0.1:${cache.port}/11`, env: { ...process.env, PATH: '/nonexistent' }, logDir: dir, stream })
    try {
      expect(t.brokerPid).toBeUndefined()
      expect(t.brokerUrl).toMatch(new RegExp(`^redis://127\\.0\\.0\\.1:${cache.port}/1[2-5]$`))
      expect(said).toMatch(/redis-server is not on the PATH: the Celery broker shares the cache's Redis server/)
      expect(said).not.toMatch(/private redis-server/)
    } finally {
      await t.stop()
    }
  }, 90_000)
})
