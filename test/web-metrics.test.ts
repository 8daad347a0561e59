/**
 * Prometheus /metrics: scraped during real runs (headless with --metrics-port, and on the
 * live UI's port), parsed by the Prometheus project's own Python parser; and the probe gauges.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { json, sleep, startServer } from './helpers/server.js'
import type { TestServer } from './helpers/server.js'
import { startCli } from './helpers/cli.js'
import { freePort } from './helpers/ports.js'
import { pythonJson } from './helpers/python.js'
import { richRun, HOSTILE } from './helpers/results.js'
import { RunMetrics, metricName } from '../web/metrics.js'
import { LiveRun } from '../web/live.js'

const EXAMPLE = 'scenarios/example/scenario.ts'
let s: TestServer
const dir = mkdtempSync(join(tmpdir(), 'loadlens-metrics-'))

beforeAll(async () => {
  s = await startServer((req, res) => {
    // the busiest task of the example scenario fails, so failures show up within a second
    if (req.url === '/items') return json(res, 503, { ok: false })
    if (req.url === '/login') return json(res, 200, { token: 't' })
    json(res, req.method === 'POST' && req.url === '/cart' ? 201 : 200, { ok: true })
  }, { record: false })
})
afterAll(async () => { await s.close() })

interface Family { name: string; type: string; samples: Array<{ name: string; labels: Record<string, string>; value: number }> }

const PARSE = `
import sys, json
from prometheus_client.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": f.name, "type": f.type, "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples]})
print(json.dumps(out))
`

async function scrape (url: string): Promise<{ text: string; families: Family[]; contentType: string }> {
  const res = await fetch(url)
  expect(res.status).toBe(200)
  const text = await res.text()
  return { text, families: await pythonJson<Family[]>(PARSE, text), contentType: res.headers.get('content-type') ?? '' }
}

function family (fs: Family[], name: string): Family {
  const f = fs.find(x => x.name === name)
  expect(f, name).toBeDefined()
  return f!
}

/** Histogram invariants per label set: buckets never fall, +Inf equals _count. */
function checkHistogram (f: Family): void {
  expect(f.type).toBe('histogram')
  const groups = new Map<string, Family['samples']>()
  for (const x of f.samples) {
    const { le, ...rest } = x.labels
    void le
    const k = JSON.stringify(rest)
    groups.set(k, [...(groups.get(k) ?? []), x])
  }
  expect(groups.size).toBeGreaterThan(0)
  for (const samples of groups.values()) {
    const buckets = samples.filter(x => x.name.endsWith('_bucket'))
    const les = buckets.map(b => (b.labels.le === '+Inf' ? Infinity : Number(b.labels.le)))
    expect([...les].sort((a, b) => a - b)).toEqual(les)
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value)
    const count = samples.find(x => x.name.endsWith('_count'))!.value
    expect(buckets.at(-1)!.value).toBe(count)
  }
}

/** Scrapes until `ready` holds for what came back (the load may take a moment to start on a busy machine). */
async function scrapeUntil (url: string, ready: (fs: Family[]) => boolean, timeoutMs = 15_000): Promise<Awaited<ReturnType<typeof scrape>>> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const got = await scrape(url)
    if (ready(got.families) || Date.now() > until) return got
    await sleep(300)
  }
}

async function waitFor (url: string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    try {
      const r = await fetch(url)
      if (r.ok) return
    } catch { /* not yet */ }
    await sleep(100)
  }
  throw new Error(`${url} did not answer`)
}

describe('/metrics during a run', () => {
  it('headless with --metrics-port: valid Prometheus text with the request, failure and user series', async () => {
    const port = await freePort()
    const url = `http://127.0.0.1:${port}/metrics`
    const { child, done } = startCli(['run', EXAMPLE, '--headless', '--host', s.url, '-u', '6', '-r', '20', '-t', '8s', '--metrics-port', String(port), '--out-dir', dir, '-q'])
    try {
      await waitFor(url)
      // once the busiest task's failures are in (the load has run a second or two)
      const first = await scrapeUntil(url, fs => (fs.find(f => f.name === 'loadlens_request_failures')?.samples ?? []).some(x => x.labels.name === '/items'))
      expect(first.contentType).toContain('text/plain')
      expect(first.contentType).toContain('version=0.0.4')
      expect(family(first.families, 'loadlens_running').samples[0]!.value).toBe(1)
      expect(family(first.families, 'loadlens_users').samples[0]!.value).toBeGreaterThan(0)
      expect(family(first.families, 'loadlens_info').samples[0]!.labels).toMatchObject({ scenario: 'example', host: s.url })
      // the run's id while it runs, as its result will be named
      expect(family(first.families, 'loadlens_info').samples[0]!.labels.run_id).toMatch(/^example-[a-z0-9-]+-\d{8}-\d{6}$/)
      const hist = family(first.families, 'loadlens_request_duration_seconds')
      checkHistogram(hist)
      expect(hist.samples.some(x => x.labels.name === '/items' && x.labels.type === 'GET')).toBe(true)
      const reqs = family(first.families, 'loadlens_requests')
      expect(reqs.type).toBe('counter')
      expect(reqs.samples.find(x => x.labels.name === '/items')!.value).toBeGreaterThan(0)
      const total1 = reqs.samples.reduce((a, x) => a + x.value, 0)
      const fails = family(first.families, 'loadlens_request_failures')
      expect(fails.samples).toContainEqual(expect.objectContaining({ labels: { type: 'GET', name: '/items', status: '503', kind: 'http' } }))
      await sleep(2000)
      const second = await scrape(url)
      const reqs2 = family(second.families, 'loadlens_requests').samples
      expect(reqs2.reduce((a, x) => a + x.value, 0)).toBeGreaterThan(total1)
      // the histogram's count is the requests counter of the same row
      const counts = family(second.families, 'loadlens_request_duration_seconds').samples.filter(x => x.name.endsWith('_count'))
      for (const r of reqs2) expect(counts.find(c => c.labels.name === r.labels.name && c.labels.type === r.labels.type)!.value).toBe(r.value)
    } finally {
      child.kill('SIGINT')
    }
    const r = await done
    expect(r.code).toBe(130)
    await expect(fetch(url)).rejects.toThrow()
  })

  it('without --headless: the live UI on --web-port serves /metrics too, and the run ends as before', async () => {
    const port = await freePort()
    const base = `http://127.0.0.1:${port}`
    const { child, done } = startCli(['run', EXAMPLE, '--host', s.url, '-u', '3', '-r', '20', '-t', '8s', '--web-port', String(port), '--out-dir', dir])
    try {
      await waitFor(`${base}/metrics`)
      const m = await scrapeUntil(`${base}/metrics`, fs => (fs.find(f => f.name === 'loadlens_request_duration_seconds')?.samples.length ?? 0) > 0)
      expect(family(m.families, 'loadlens_running').samples[0]!.value).toBe(1)
      checkHistogram(family(m.families, 'loadlens_request_duration_seconds'))
      const live = await (await fetch(`${base}/api/live`)).json() as { state: string; stats: { requests: number } }
      expect(live.state).toBe('running')
    } catch (err) {
      child.kill('SIGINT')
      throw err
    }
    const r = await done
    expect(r.stdout).toContain(`Live UI: ${base}`)
    expect(r.stdout).toMatch(/HTML report: .*\.html/)
    expect([0, 1]).toContain(r.code)
    await expect(fetch(`${base}/metrics`)).rejects.toThrow()
  })

  it('a taken UI port is one line, and the run goes on headless', async () => {
    const blocker = createServer()
    await new Promise<void>(resolve => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    try {
      const { done } = startCli(['run', EXAMPLE, '--host', s.url, '-u', '2', '-r', '20', '-t', '2s', '--web-port', String(port), '--out-dir', dir])
      const r = await done
      const lines = r.stdout.split('\n').filter(l => l.includes(`port ${port}`))
      expect(lines).toHaveLength(1)
      expect(lines[0]).toContain('going on headless')
      expect(r.stdout).toMatch(/Result: .*\.json/)
      expect([0, 1]).toContain(r.code)
    } finally {
      blocker.close()
    }
  })
})

describe('probe gauges', () => {
  it('the last value of every probe series, with its labels; names made valid', async () => {
    const result = richRun()
    const live = new LiveRun({ scenario: result.meta.scenario, host: result.meta.host, durationS: 40, model: result.meta.model })
    live.finish(result, {}, 1)
    const metrics = new RunMetrics(() => live)
    const text = await metrics.text()
    const fs = await pythonJson<Family[]>(PARSE, text)
    const pg = family(fs, 'loadlens_probe_pg_connections')
    expect(pg.type).toBe('gauge')
    expect(pg.samples).toContainEqual({ name: 'loadlens_probe_pg_connections', labels: { state: 'active' }, value: 5 })
    // a series whose last point is a gap reports its last sampled value
    expect(pg.samples).toContainEqual({ name: 'loadlens_probe_pg_connections', labels: { state: 'idle' }, value: 2 })
    expect(family(fs, 'loadlens_probe_redis_hit_rate').samples[0]!.value).toBeCloseTo(0.95 - 39 * 0.01, 6)
    expect(family(fs, 'loadlens_probe_target_rss').samples[0]!.value).toBe(2e8 + 39 * 3e6)
    const weird = family(fs, metricName(`loadlens_probe_custom_weird ${HOSTILE}`))
    expect(Object.values(weird.samples[0]!.labels)).toEqual([HOSTILE])
    expect(family(fs, 'loadlens_running').samples[0]!.value).toBe(0)
    checkHistogram(family(fs, 'loadlens_request_duration_seconds'))
    // a second scrape registers nothing twice
    await expect(metrics.text()).resolves.toContain('loadlens_probe_pg_connections{state="active"} 5')
  })
})
