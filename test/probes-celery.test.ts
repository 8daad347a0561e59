/**
 * The Celery probe against a real Celery worker (Debian's python3-celery, threads pool of 2,
 * task events on) with a private redis-server as its broker: the probe speaks Celery's
 * remote-control protocol itself. A slow task shows as active, tasks sent faster than the
 * worker runs them pile up in the queue, failures and finishes are counted, and a stopped
 * worker disappears.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { CeleryProbe } from '../probes/celery.js'
import { ProbeScheduler } from '../probes/scheduler.js'
import type { Series } from '../shared/types.js'
import { startRedis } from './helpers/redis-server.js'
import type { PrivateRedis } from './helpers/redis-server.js'
import { sleep } from './helpers/server.js'

const PYTHON = '/usr/bin/python3'
const FIXTURES = fileURLToPath(new URL('./fixtures/celery/', import.meta.url))
let broker: PrivateRedis
let worker: ChildProcess | null = null

function env (): NodeJS.ProcessEnv {
  return { ...process.env, LOADLENS_CELERY_BROKER: broker.url, PYTHONDONTWRITEBYTECODE: '1' }
}

function send (task: string, count: number, arg?: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const args = ['send_tasks.py', task, String(count), ...(arg === undefined ? [] : [String(arg)])]
    const child = spawn(PYTHON, args, { cwd: FIXTURES, env: env(), stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    child.stderr.on('data', (c: Buffer) => { err += c.toString() })
    child.on('close', (code) => code === 0 ? resolve() : reject(new Error(`send_tasks.py exited ${code}: ${err}`)))
  })
}

beforeAll(async () => {
  broker = await startRedis()
  worker = spawn(PYTHON, ['-m', 'celery', '-A', 'loadlens_tasks', 'worker', '--pool', 'threads', '-c', '2', '-n', 'w1@loadlens', '-E', '-l', 'WARNING', '--without-mingle', '--without-gossip'],
    { cwd: FIXTURES, env: env(), stdio: 'ignore', detached: true })
})

afterAll(async () => {
  if (worker?.pid && worker.exitCode === null) try { process.kill(-worker.pid, 'SIGKILL') } catch {}
  await broker?.stop()
})

function values (series: Series[], id: string, from = 0): number[] {
  return (series.find(s => s.id === id)?.points ?? []).filter(([t, v]) => t >= from && v !== null).map(p => p[1]!)
}

async function until (what: string, cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(200)
  }
}

describe('celery probe (broker remote control)', () => {
  it('sees active tasks, a growing queue, finished and failed tasks, and a stopped worker disappear', async () => {
    const probe = new CeleryProbe({ broker: broker.url, queues: ['celery'], intervalMs: 1000 })
    const s = new ProbeScheduler([probe], { intervalMs: 1000 })
    await s.start()
    await until('the worker to answer', () => values(s.series(), 'celery.workers_online').some(v => v >= 1), 20_000)
    expect(values(s.series(), 'celery.concurrency{worker="w1@loadlens"}')).toContain(2)

    const tSlow = Math.floor(Date.now() / 1000)
    await send('loadlens.slow', 1, 3)
    await until('the slow task to run', () => values(s.series(), 'celery.active{worker="w1@loadlens"}', tSlow).some(v => v >= 1), 5000)

    // ten 1.5 s tasks on two threads: most of them wait in the queue
    const tBurst = Math.floor(Date.now() / 1000)
    await send('loadlens.slow', 10, 1.5)
    await send('loadlens.fail', 3)
    await until('the queue to grow', () => values(s.series(), 'celery.queue_depth{queue="celery"}', tBurst).some(v => v >= 3), 5000)
    await until('the queue to drain', () => {
      const d = values(s.series(), 'celery.queue_depth{queue="celery"}', tBurst)
      return d.length > 2 && d[d.length - 1] === 0 && values(s.series(), 'celery.active{worker="w1@loadlens"}').slice(-1)[0] === 0
    }, 20_000)
    const series = s.series()
    expect(Math.max(...values(series, 'celery.active{worker="w1@loadlens"}', tBurst))).toBe(2)
    expect(values(series, 'celery.finished_per_s', tBurst).reduce((a, b) => a + b, 0)).toBeGreaterThan(5)
    expect(Math.max(...values(series, 'celery.failed_per_s', tBurst))).toBeGreaterThan(0)
    expect(Math.max(...values(series, 'celery.succeeded_per_s', tBurst))).toBeGreaterThan(0)

    const tStop = Math.floor(Date.now() / 1000) + 1
    process.kill(-worker!.pid!, 'SIGKILL')
    await until('the worker to disappear', () => values(s.series(), 'celery.workers_online', tStop).some(v => v === 0), 8000)
    await s.stop()
    const st = s.status()[0]!
    expect(st.skippedTicks).toBe(0)
    expect((st.facts as any).workers['w1@loadlens'].concurrency).toBe(2)
    expect((st.facts as any).taskEvents).toBe(true)
    expect((st.facts as any).peakQueueDepth.celery).toBeGreaterThanOrEqual(3)
    // the probe cleans up its reply binding and list
    const { Redis } = await import('ioredis')
    const r = new Redis(broker.url)
    const members = await r.smembers('_kombu.binding.reply.celery.pidbox')
    r.disconnect()
    expect(members.filter(m => m.includes(probe['rc'].oid))).toEqual([])
  })
})
