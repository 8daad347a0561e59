/**
 * Redis as cache, Celery broker and Celery result backend on one server (a private
 * redis-server: cache db 0, broker db 1, results db 2, a real Celery worker), and an app that
 * polls its jobs' state (AsyncResult): every poll of an unfinished task misses. The Redis
 * probe tells those misses from the cache's by key-miss events, switched on for the run and
 * switched back at the end, so the hit rate is the cache's. A server that refuses CONFIG keeps
 * the server-wide counters, and the probe says so. Redis INFO, read directly, shows the
 * misses were there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { startProbeSession } from '../app/probes.js'
import { celeryKey } from '../probes/redis-key-misses.js'
import { startRedis } from './helpers/redis-server.js'
import type { PrivateRedis } from './helpers/redis-server.js'
import { sleep } from './helpers/server.js'

const PYTHON = '/usr/bin/python3'
const FIXTURES = fileURLToPath(new URL('./fixtures/celery/', import.meta.url))
const JOBS = 12

interface Stack { server: PrivateRedis; worker: ChildProcess; env: NodeJS.ProcessEnv }

async function stack (extra: string[] = []): Promise<Stack> {
  const server = await startRedis(undefined, extra)
  const env = { ...process.env, LOADLENS_CELERY_BROKER: `redis://127.0.0.1:${server.port}/1`, LOADLENS_CELERY_RESULTS: `redis://127.0.0.1:${server.port}/2`, PYTHONDONTWRITEBYTECODE: '1' }
  const worker = spawn(PYTHON, ['-m', 'celery', '-A', 'loadlens_results', 'worker', '--pool', 'threads', '-c', '2', '-n', `results-${server.port}@loadlens`, '-l', 'WARNING', '--without-mingle', '--without-gossip'],
    { cwd: FIXTURES, env, stdio: 'ignore', detached: true })
  const admin = new Redis(`redis://127.0.0.1:${server.port}/1`)
  try {
    const end = Date.now() + 20_000
    while ((await admin.smembers('_kombu.binding.celery.pidbox')).length === 0) {
      if (Date.now() > end) throw new Error('the Celery worker did not start')
      await sleep(200)
    }
  } finally {
    admin.disconnect()
  }
  await sleep(500)
  return { server, worker, env }
}

async function stop (s: Stack | undefined): Promise<void> {
  if (s?.worker.pid && s.worker.exitCode === null) try { process.kill(-s.worker.pid, 'SIGKILL') } catch {}
  await s?.server.stop()
}

function poll (s: Stack): Promise<{ hits: number; misses: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ['poll_results.py', String(JOBS), `redis://127.0.0.1:${s.server.port}/0`], { cwd: FIXTURES, env: s.env })
    let out = ''
    let err = ''
    child.stdout.on('data', (c: Buffer) => { out += c.toString() })
    child.stderr.on('data', (c: Buffer) => { err += c.toString() })
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`poll_results.py exited ${code}: ${err}`))))
  })
}

async function info (port: number): Promise<{ hits: number; misses: number; events: string }> {
  const r = new Redis(`redis://127.0.0.1:${port}/0`)
  try {
    const text = await r.info('stats')
    const events = await r.call('CONFIG', 'GET', 'notify-keyspace-events').then((x: any) => String(x[1])).catch(() => '(CONFIG refused)')
    return { hits: Number(/keyspace_hits:(\d+)/.exec(text)![1]), misses: Number(/keyspace_misses:(\d+)/.exec(text)![1]), events }
  } finally {
    r.disconnect()
  }
}

/** a probe session on the stack while the app polls its jobs */
async function watched (s: Stack): Promise<{ facts: Record<string, any>; message: string; app: { hits: number; misses: number }; server: { hits: number; misses: number }; eventsDuring: string }> {
  const session = (await startProbeSession({ redis: `redis://127.0.0.1:${s.server.port}/0`, celeryBroker: `redis://127.0.0.1:${s.server.port}/1`, host: false }, () => {}))!
  const before = await info(s.server.port)
  const app = await poll(s)
  const during = await info(s.server.port)
  await sleep(2200)
  await session.stop()
  const redis = session.status().find(x => x.probe === 'redis')!
  return { facts: redis.facts as Record<string, any>, message: redis.message ?? '', app, server: { hits: during.hits - before.hits, misses: during.misses - before.misses }, eventsDuring: during.events }
}

describe('Celery\'s misses told apart from the cache\'s', () => {
  let s: Stack | undefined
  beforeAll(async () => { s = await stack() }, 60_000)
  afterAll(async () => { await stop(s) })

  it('a result backend polled for unfinished tasks misses on the server, not in the cache\'s hit rate; the setting goes back', async () => {
    const before = await info(s!.server.port)
    expect(before.events).toBe('')
    const r = await watched(s!)
    // the app's own cache reads all hit; the server missed on every poll of an unfinished task
    expect(r.app.misses).toBe(0)
    expect(r.app.hits).toBeGreaterThan(JOBS * 3)
    expect(r.server.misses).toBeGreaterThanOrEqual(JOBS * 3)
    // key-miss events were on during the run, and the server's setting is back to what it was
    expect(r.eventsDuring).toMatch(/E/)
    expect(r.eventsDuring).toMatch(/m/)
    expect((await info(s!.server.port)).events).toBe('')
    expect(r.facts.keyMisses).toBe('by key')
    expect(r.facts.celeryMissesLeftOut).toBeGreaterThanOrEqual(r.server.misses - 3)
    expect(r.facts.hitRateOverRun).toBeGreaterThan(0.97)
    expect(r.facts.keyMissesHow).toMatch(/^key-miss events, switched on for the run and switched back: the hit rate leaves out \d+ misses on Celery's keys/)
    // clean counters are nothing to warn of: the probe is not marked degraded for it
    expect(r.message).not.toMatch(/Celery/)
  }, 90_000)
})

describe('a server that refuses CONFIG', () => {
  let s: Stack | undefined
  beforeAll(async () => { s = await stack(['--rename-command', 'CONFIG', '']) }, 60_000)
  afterAll(async () => { await stop(s) })

  it('keeps the server-wide counters, Celery\'s misses in, and says so', async () => {
    const r = await watched(s!)
    expect(r.app.misses).toBe(0)
    expect(r.server.misses).toBeGreaterThanOrEqual(JOBS * 3)
    expect(r.facts.keyMisses).toMatch(/^server-wide only: the server does not let this client read its configuration/)
    expect(r.facts.hitRateOverRun).toBeLessThan(0.9)
    expect(r.message).toMatch(/Celery's misses could not be told from the cache's/)
  }, 90_000)
})

describe('which keys are Celery\'s', () => {
  it('its result backend, kombu\'s bookkeeping and the queues; nothing of the app\'s', () => {
    for (const k of ['celery-task-meta-0f1e', 'celery-taskset-meta-1', 'chord-unlock-x', '_kombu.binding.celery', 'unacked', 'unacked_index', 'celery', 'celery\x06\x163', 'voice', 'voice\x06\x169']) expect(celeryKey(k, ['voice']), k).toBe(true)
    for (const k of ['account:1', 'mv:learner:4', 'celery_users', 'stats:celery', 'voices']) expect(celeryKey(k, ['voice']), k).toBe(false)
  })
})
