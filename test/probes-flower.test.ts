/**
 * The Flower variant of the Celery probe. Flower is not packaged for Debian (and PyPI is out
 * of reach here), so this runs against an HTTP server that answers Flower's three endpoints
 * in Flower's documented shapes (flower/api/workers.py, flower/api/tasks.py GetQueueLengths,
 * the flower_* Prometheus metrics), with counters that move between samples: it checks the
 * probe's reading of those shapes and its credentials handling, not Flower itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CeleryFlowerProbe } from '../probes/celery-flower.js'
import { ProbeScheduler } from '../probes/scheduler.js'
import type { Series } from '../shared/types.js'
import { json, sleep, startServer } from './helpers/server.js'
import type { TestServer } from './helpers/server.js'

let flower: TestServer
let succeeded = 0
let depth = 0

beforeAll(async () => {
  flower = await startServer((req, res) => {
    if (req.headers.authorization !== 'Basic ' + Buffer.from('admin:fl-secret').toString('base64')) return json(res, 401, { error: 'unauthorized' })
    if (req.url === '/metrics') {
      succeeded += 25
      res.setHeader('content-type', 'text/plain; version=0.0.4')
      return res.end([
        '# TYPE flower_events_total counter',
        `flower_events_total{task="t.a",type="task-succeeded",worker="w1@h"} ${succeeded}`,
        'flower_events_total{task="t.a",type="task-failed",worker="w1@h"} 0',
        '# TYPE flower_worker_online gauge',
        'flower_worker_online{worker="w1@h"} 1.0',
        'flower_worker_online{worker="w2@h"} 0.0',
        '# TYPE flower_worker_number_of_currently_executing_tasks gauge',
        'flower_worker_number_of_currently_executing_tasks{worker="w1@h"} 4.0',
        '# TYPE flower_worker_prefetched_tasks gauge',
        'flower_worker_prefetched_tasks{task="t.a",worker="w1@h"} 2.0',
        'flower_worker_prefetched_tasks{task="t.b",worker="w1@h"} 1.0',
        ''
      ].join('\n'))
    }
    if (req.url === '/api/queues/length') {
      depth += 3
      return json(res, 200, { active_queues: [{ name: 'celery', messages: depth }, { name: 'other', messages: 1 }] })
    }
    if (req.url === '/api/workers') return json(res, 200, { 'w1@h': { stats: { pool: { 'max-concurrency': 4 } } } })
    return json(res, 404, {})
  })
})
afterAll(async () => { await flower?.close() })

function vals (series: Series[], id: string): number[] {
  return (series.find(s => s.id === id)?.points ?? []).filter(p => p[1] !== null).map(p => p[1]!)
}

describe('celery probe through Flower', () => {
  it('reads workers, active and reserved tasks, pool size, queue depth and succeeded per second', async () => {
    const probe = new CeleryFlowerProbe(`http://admin:fl-secret@127.0.0.1:${flower.port}/`, ['celery'])
    expect(probe.target).not.toContain('fl-secret')
    const s = new ProbeScheduler([probe], { intervalMs: 1000 })
    await s.start()
    await sleep(3300)
    await s.stop()
    const series = s.series()
    expect(vals(series, 'celery.workers_online')).toContain(1)
    expect(vals(series, 'celery.active{worker="w1@h"}')).toContain(4)
    expect(vals(series, 'celery.reserved{worker="w1@h"}')).toContain(3)
    expect(vals(series, 'celery.concurrency{worker="w1@h"}')).toContain(4)
    const d = vals(series, 'celery.queue_depth{queue="celery"}')
    expect(d[d.length - 1]!).toBeGreaterThan(d[0]!)
    expect(series.some(x => x.id === 'celery.queue_depth{queue="other"}')).toBe(false)
    // 25 more each scrape, about one scrape a second
    expect(Math.max(...vals(series, 'celery.succeeded_per_s'))).toBeGreaterThan(15)
    expect(JSON.stringify(s.status())).not.toContain('fl-secret')
  })

  it('wrong credentials: cannot start, and says what Flower wants', async () => {
    const probe = new CeleryFlowerProbe(`http://127.0.0.1:${flower.port}/`)
    await expect(probe.start()).rejects.toThrow(/HTTP 401: Flower wants credentials/)
  })
})
