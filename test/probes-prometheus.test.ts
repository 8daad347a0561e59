/**
 * The Prometheus endpoint probe against a prom-client server: process memory and CPU are
 * kept, a selected counter becomes a rate that follows the increments, a labelled histogram
 * gives its mean per label set, a gauge is kept as it is, `metrics.up` is 1 while the
 * endpoint answers and 0 (with a gap) while it is down, and sampling resumes after.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import client from 'prom-client'
import { PrometheusProbe, parseExposition } from '../probes/prometheus.js'
import { ProbeScheduler } from '../probes/scheduler.js'
import type { Series } from '../shared/types.js'
import { sleep } from './helpers/server.js'

const registry = new client.Registry()
client.collectDefaultMetrics({ register: registry })
const jobs = new client.Counter({ name: 'app_jobs_total', help: 'jobs', registers: [registry] })
const queue = new client.Gauge({ name: 'app_queue_size', help: 'queue', registers: [registry] })
const latency = new client.Histogram({ name: 'app_request_seconds', help: 'latency', labelNames: ['route'], buckets: [0.01, 0.1, 1], registers: [registry] })
let server: Server
let port = 0

function listen (): Promise<void> {
  server = createServer(async (req, res) => {
    res.setHeader('content-type', registry.contentType)
    res.end(await registry.metrics())
  })
  return new Promise(resolve => server.listen(port, '127.0.0.1', () => { port = (server.address() as { port: number }).port; resolve() }))
}

beforeAll(listen)
afterAll(() => new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) }))

function vals (series: Series[], id: string): Array<number | null> {
  return (series.find(s => s.id === id)?.points ?? []).map(p => p[1])
}

describe('prometheus probe', () => {
  it('parses labelled histograms that the parser alone would fold', () => {
    const rows = parseExposition('# TYPE h histogram\nh_bucket{route="/a",le="1"} 2\nh_sum{route="/a"} 0.5\nh_count{route="/a"} 2\nh_sum{route="/b"} 3\nh_count{route="/b"} 1\n')
    expect(rows.filter(r => r.name === 'h_sum').map(r => [r.labels.route, r.value, r.type])).toEqual([['/a', 0.5, 'histogram'], ['/b', 3, 'histogram']])
  })

  it('keeps selected series and process series; up is 0 with a gap while the endpoint is down', async () => {
    const probe = new PrometheusProbe({ url: `http://127.0.0.1:${port}/metrics`, select: ['app_jobs_total', 'app_queue_*', 'app_request_seconds', 'not_there'] })
    const s = new ProbeScheduler([probe], { intervalMs: 1000, maxBackoffMs: 1000 })
    await s.start()
    const timer = setInterval(() => {
      jobs.inc(10)
      latency.observe({ route: '/fast' }, 0.02)
      latency.observe({ route: '/slow' }, 0.4)
    }, 100)
    queue.set(7)
    await sleep(3200)
    clearInterval(timer)
    await new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) })
    await sleep(2200)
    await listen()
    await sleep(2500)
    await s.stop()
    const series = s.series()
    const rate = vals(series, 'metrics.app_jobs_total').filter((v): v is number => v !== null)
    // 10 every 100 ms: about 100 per second
    expect(Math.max(...rate)).toBeGreaterThan(60)
    expect(Math.max(...rate)).toBeLessThan(140)
    expect(vals(series, 'metrics.app_queue_size').filter(v => v !== null)[0]).toBe(7)
    const slow = vals(series, 'metrics.app_request_seconds_mean{route="/slow"}').filter((v): v is number => v !== null)
    const fast = vals(series, 'metrics.app_request_seconds_mean{route="/fast"}').filter((v): v is number => v !== null)
    expect(slow[0]).toBeCloseTo(0.4, 5)
    expect(fast[0]).toBeCloseTo(0.02, 5)
    expect(series.find(x => x.id === 'metrics.app_request_seconds_mean{route="/slow"}')!.unit).toBe('s')
    expect(vals(series, 'metrics.process_resident_memory_bytes').some(v => v !== null && v > 1e6)).toBe(true)
    expect(series.find(x => x.id === 'metrics.process_cpu')!.unit).toBe('percent')
    const up = vals(series, 'metrics.up')
    expect(up).toContain(0)
    expect(up.lastIndexOf(1)).toBeGreaterThan(up.indexOf(0))
    expect(up).not.toContain(null)
    const st = s.status()[0]!
    expect(st.gaps.length).toBeGreaterThanOrEqual(1)
    expect(st.gaps[0]!.reason).toMatch(/ECONNREFUSED|closed|socket/i)
    expect(st.message).toContain('not_there')
  })
})
