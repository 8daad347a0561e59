/**
 * The load generator against real HTTP servers on loopback, over real undici connections.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { startLoad } from '../loadgen/runner.js'
import type { LoadOptions } from '../loadgen/runner.js'
import { between, constant } from '../scenarios/define.js'
import { decodeHistogram, summarize } from '../shared/hist.js'
import { json, sleep, startServer } from './helpers/server.js'
import type { TestServer } from './helpers/server.js'
import { plan } from './helpers/scenario.js'

let servers: TestServer[] = []
afterEach(async () => {
  await Promise.all(servers.map(s => s.close()))
  servers = []
})

async function server (...args: Parameters<typeof startServer>): Promise<TestServer> {
  const s = await startServer(...args)
  servers.push(s)
  return s
}

function closed (users: number, spawnRate: number, durationS: number): Pick<LoadOptions, 'model' | 'durationS' | 'stopTimeoutS'> {
  return { model: { kind: 'closed', stages: [{ durationS, users, spawnRate }] }, durationS, stopTimeoutS: 5 }
}

function summaryOf (hist: string) {
  return summarize(decodeHistogram(hist))
}

describe('closed model', () => {
  it('picks tasks in proportion to their weights (chi-square)', async () => {
    const s = await server((req, res) => res.end('ok'), { record: false })
    const weights = { a: 5, b: 3, c: 1, d: 1 }
    const p = plan({
      users: {
        U: {
          tasks: Object.fromEntries(Object.entries(weights).map(([k, w]) => [k, { weight: w, run: async (u: any) => { await u.http.get(`/${k}`) } }]))
        }
      }
    })
    const out = await startLoad({ plan: p, host: s.url, ...closed(20, 100, 2.5) })
    const counts = Object.keys(weights).map(k => out.totals.tasks[`U.${k}`] ?? 0)
    const total = counts.reduce((a, b) => a + b, 0)
    expect(total).toBeGreaterThan(2000)
    const ws = Object.values(weights)
    const wsum = ws.reduce((a, b) => a + b, 0)
    const chi = counts.reduce((acc, c, i) => {
      const e = (total * ws[i]!) / wsum
      return acc + ((c - e) ** 2) / e
    }, 0)
    // df = 3, p = 0.001
    expect(chi).toBeLessThan(16.27)
    // and every task's request was recorded under its own row
    expect(out.totals.entries.map(e => e.key).sort()).toEqual(['GET /a', 'GET /b', 'GET /c', 'GET /d'])
  })

  it('spawns user classes by weight and honours think time', async () => {
    const s = await server((req, res) => res.end('ok'))
    const p = plan({
      users: {
        Heavy: { weight: 3, wait: between(0.2, 0.3), headers: { 'x-class': 'Heavy' }, tasks: { t: async (u: any) => { await u.http.get('/t', { headers: { 'x-user': String(u.id) } }) } } },
        Light: { weight: 1, wait: between(0.2, 0.3), headers: { 'x-class': 'Light' }, tasks: { t: async (u: any) => { await u.http.get('/t', { headers: { 'x-user': String(u.id) } }) } } }
      }
    })
    await startLoad({ plan: p, host: s.url, ...closed(8, 100, 2) })
    const byUser = new Map<string, { cls: string; at: number[] }>()
    for (const r of s.seen) {
      const id = String(r.headers['x-user'])
      const e = byUser.get(id) ?? { cls: String(r.headers['x-class']), at: [] }
      e.at.push(r.at)
      byUser.set(id, e)
    }
    const classes = [...byUser.values()].map(v => v.cls)
    expect(classes.filter(c => c === 'Heavy')).toHaveLength(6)
    expect(classes.filter(c => c === 'Light')).toHaveLength(2)
    const gaps: number[] = []
    for (const { at } of byUser.values()) for (let i = 1; i < at.length; i++) gaps.push(at[i]! - at[i - 1]!)
    expect(gaps.length).toBeGreaterThan(30)
    // each gap is the think time (200-300 ms) plus a loopback request (a few ms)
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(195)
    expect(Math.max(...gaps)).toBeLessThan(400)
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length
    expect(mean).toBeGreaterThan(230)
    expect(mean).toBeLessThan(300)
  })

  it('spawns users at the spawn rate', async () => {
    const s = await server((req, res) => res.end('ok'))
    const started: number[] = []
    const p = plan({
      users: {
        U: {
          wait: constant(0.5),
          onStart: () => { started.push(performance.now()) },
          tasks: { t: async (u: any) => { await u.http.get('/') } }
        }
      }
    })
    await startLoad({ plan: p, host: s.url, ...closed(10, 5, 3) })
    expect(started).toHaveLength(10)
    const rel = started.map(t => t - started[0]!)
    // one user at once, then one every 200 ms
    rel.forEach((t, i) => expect(Math.abs(t - i * 200)).toBeLessThan(60))
  })

  it('follows stages up and down and records users per second', async () => {
    const s = await server((req, res) => res.end('ok'), { record: false })
    const p = plan({ users: { U: { wait: constant(0.1), tasks: { t: async (u: any) => { await u.http.get('/') } } } } })
    const out = await startLoad({
      plan: p,
      host: s.url,
      model: { kind: 'closed', stages: [{ durationS: 1, users: 10 }, { durationS: 1.5, users: 10 }, { durationS: 1, users: 0 }] },
      durationS: 3.5,
      stopTimeoutS: 2
    })
    const users = out.timeline.map(t => t.users)
    expect(Math.max(...users)).toBe(10)
    expect(out.peakUsers).toBe(10)
    // it went down again before the end
    const peakAt = users.indexOf(10)
    expect(users.slice(peakAt).some(u => u < 10)).toBe(true)
  })

  it('measures percentiles that match the server-side delays', async () => {
    let n = 0
    const s = await server((req, res) => {
      const slow = n++ % 10 === 9 // every tenth request takes 200 ms, the others 20 ms
      setTimeout(() => res.end('x'), slow ? 200 : 20)
    }, { record: false })
    const p = plan({ users: { U: { tasks: { t: async (u: any) => { await u.http.get('/') } } } } })
    const out = await startLoad({ plan: p, host: s.url, ...closed(10, 100, 3) })
    const sum = summaryOf(out.totals.overall.hist)
    expect(out.totals.overall.requests).toBeGreaterThan(300)
    // node's timers may fire up to a millisecond early
    expect(sum.p50).toBeGreaterThanOrEqual(19)
    expect(sum.p50).toBeLessThan(30)
    expect(sum.p95).toBeGreaterThanOrEqual(199)
    expect(sum.p95).toBeLessThan(230)
    expect(out.totals.overall.minUs / 1000).toBeGreaterThanOrEqual(19)
    // the per-second timeline adds up to the total
    expect(out.timeline.reduce((a, t) => a + t.overall.requests, 0)).toBe(out.totals.overall.requests)
  })

  it('lets in-flight requests finish at the end, within the stop timeout', async () => {
    const s = await server((req, res) => { setTimeout(() => res.end('late'), 700) }, { record: false })
    const p = plan({ users: { U: { tasks: { t: async (u: any) => { await u.http.get('/') } } } } })
    const graceful = await startLoad({ plan: p, host: s.url, model: { kind: 'closed', stages: [{ durationS: 1, users: 5, spawnRate: 100 }] }, durationS: 1, stopTimeoutS: 5 })
    expect(graceful.abortedAtStop).toBe(0)
    expect(graceful.totals.overall.failures).toBe(0)
    expect(graceful.endedAt - graceful.startedAt).toBeGreaterThan(1300)
    const cut = await startLoad({ plan: p, host: s.url, model: { kind: 'closed', stages: [{ durationS: 1, users: 5, spawnRate: 100 }] }, durationS: 1, stopTimeoutS: 0.1 })
    expect(cut.abortedAtStop).toBe(5)
    expect(cut.totals.overall.failures).toBe(0)
    expect(cut.endedAt - cut.startedAt).toBeLessThan(1500)
  })
})

describe('test data', () => {
  it('gives each user unique ids and numbers, random UUIDs and values in range', async () => {
    const s = await server((req, res) => res.end('ok'))
    const p = plan({
      users: {
        U: {
          tasks: {
            t: async (u: any) => {
              const d = u.data
              const q = new URLSearchParams({ id: d.uniqueId('order'), n: String(d.uniqueInt()), uuid: d.uuid(), r: String(d.randomInt(3, 5)), s: d.randomString(8), p: d.pick(['x', 'y']) })
              await u.http.get(`/?${q}`, { name: '/' })
            }
          },
          wait: constant(0.01)
        }
      }
    })
    await startLoad({ plan: p, host: s.url, ...closed(4, 100, 1) })
    const qs = s.seen.map(r => new URL(r.url, s.url).searchParams)
    expect(qs.length).toBeGreaterThan(20)
    for (const k of ['id', 'n', 'uuid']) expect(new Set(qs.map(q => q.get(k))).size, k).toBe(qs.length)
    for (const q of qs) {
      expect(q.get('uuid')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      expect(q.get('id')).toMatch(/^order-/)
      expect(['3', '4', '5']).toContain(q.get('r'))
      expect(q.get('s')).toMatch(/^[a-z0-9]{8}$/)
      expect(['x', 'y']).toContain(q.get('p'))
    }
  })
})

describe('failures', () => {
  it('groups failures by name, kind and status; nothing the target does crashes the run', async () => {
    const s = await server((req, res) => {
      if (req.url === '/bad') { res.statusCode = 500; res.end('boom'); return }
      if (req.url === '/missing') { res.statusCode = 404; res.end(); return }
      if (req.url === '/reset') { req.socket.destroy(); return }
      if (req.url === '/slow') return // never answers
      if (req.url === '/garbage') { req.socket.end('HTTP/1.1 abc\r\n\r\n'); return }
      json(res, 200, { ok: false })
    }, { record: false })
    const closedPort = await server((req, res) => res.end())
    const deadUrl = closedPort.url
    await closedPort.close()
    servers = servers.filter(x => x !== closedPort)
    const p = plan({
      requestTimeout: '300ms',
      users: {
        U: {
          wait: constant(0.05),
          tasks: {
            bad: async (u: any) => { await u.http.get('/bad') },
            missing: async (u: any) => { await u.http.get('/missing') },
            reset: async (u: any) => { await u.http.get('/reset') },
            slow: async (u: any) => { await u.http.get('/slow') },
            garbage: async (u: any) => { await u.http.get('/garbage') },
            refused: async (u: any) => { await u.http.get(`${deadUrl}/x`, { name: 'dead' }) },
            check: async (u: any) => { await u.http.get('/ok', { check: (r: any) => r.json().ok === true || 'ok is not true' }) },
            throws: async (u: any) => { (await u.http.get('/ok')).json().missing.field.x() }
          }
        }
      }
    })
    const out = await startLoad({ plan: p, host: s.url, ...closed(8, 100, 2.5) })
    const find = (name: string) => out.errors.filter(e => e.name === name)
    expect(find('/bad')[0]).toMatchObject({ type: 'GET', kind: 'http', status: 500, message: 'HTTP 500' })
    expect(find('/missing')[0]).toMatchObject({ kind: 'http', status: 404 })
    expect(find('/reset')[0]!.kind).toBe('reset')
    expect(find('/slow')[0]).toMatchObject({ kind: 'timeout' })
    expect(find('/slow')[0]!.message).toMatch(/timeout after 300 ms/)
    expect(find('/garbage').length).toBeGreaterThan(0)
    expect(find('dead')[0]!.kind).toBe('refused')
    expect(find('/ok')[0]).toMatchObject({ kind: 'check', message: 'check failed: ok is not true' })
    // a task that throws is an exception of the scenario, not a request failure
    expect(out.exceptions[0]).toMatchObject({ userClass: 'U', task: 'throws' })
    expect(out.exceptions[0]!.message).toMatch(/TypeError/)
    // every failure is in a group and in the timeline
    const grouped = out.errors.reduce((a, e) => a + e.count, 0)
    expect(grouped).toBe(out.totals.overall.failures)
    const perSecond = out.timeline.reduce((a, t) => a + Object.values(t.errors ?? {}).reduce((x, y) => x + y, 0), 0)
    expect(perSecond).toBe(grouped)
  })
})

describe('open model', () => {
  it('starts iterations on schedule and times them from their intended start (no coordinated omission)', async () => {
    const s = await server((req, res) => res.end('ok'), { record: false })
    const p = plan({ users: { U: { tasks: { t: async (u: any) => { await u.http.get('/') } } } } })
    const run = startLoad({ plan: p, host: s.url, model: { kind: 'open', startRate: 100, stages: [{ durationS: 3, rate: 100 }], preAllocatedVUs: 10, maxVUs: 50 }, durationS: 3, stopTimeoutS: 2 })
    // block the generator's own event loop for 500 ms in the middle of the run
    setTimeout(() => { const end = Date.now() + 500; while (Date.now() < end) { /* busy */ } }, 1200)
    const out = await run
    const iterations = out.timeline.reduce((a, t) => a + (t.iterations ?? 0), 0)
    expect(iterations).toBeGreaterThanOrEqual(290)
    expect(iterations).toBeLessThanOrEqual(305)
    const sum = summaryOf(out.totals.overall.hist)
    // the server answers in about a millisecond; the ~50 iterations due during the stall waited
    expect(sum.maxMs).toBeGreaterThan(400)
    expect(sum.p95).toBeGreaterThan(100)
    expect(sum.p50).toBeLessThan(20)
  })

  it('drops and counts iterations when every virtual user is busy', async () => {
    let stall = true
    setTimeout(() => { stall = false }, 1500)
    const s = await server((req, res) => {
      const answer = (): void => { if (stall) setTimeout(answer, 20); else res.end('ok') }
      answer()
    }, { record: false })
    const p = plan({ users: { U: { tasks: { t: async (u: any) => { await u.http.get('/') } } } } })
    const out = await startLoad({ plan: p, host: s.url, model: { kind: 'open', startRate: 50, stages: [{ durationS: 3, rate: 50 }], preAllocatedVUs: 5, maxVUs: 5 }, durationS: 3, stopTimeoutS: 2 })
    expect(out.droppedIterations).toBeGreaterThan(40)
    expect(out.timeline.some(t => (t.dropped ?? 0) > 0)).toBe(true)
    const sum = summaryOf(out.totals.overall.hist)
    expect(sum.maxMs).toBeGreaterThan(1000)
  })
})

describe('stopping', () => {
  it('stop() ends the run early and keeps what was measured', async () => {
    const s = await server((req, res) => res.end('ok'), { record: false })
    const p = plan({ users: { U: { wait: constant(0.05), tasks: { t: async (u: any) => { await u.http.get('/') } } } } })
    const run = startLoad({ plan: p, host: s.url, ...closed(5, 100, 30) })
    await sleep(1200)
    run.stop('interrupted')
    const out = await run
    expect(out.stopReason).toBe('interrupted')
    expect(out.endedAt - out.startedAt).toBeLessThan(3000)
    expect(out.totals.overall.requests).toBeGreaterThan(20)
  })

  it('stops at --max-requests', async () => {
    const s = await server((req, res) => res.end('ok'), { record: false })
    const p = plan({ users: { U: { tasks: { t: async (u: any) => { await u.http.get('/') } } } } })
    const out = await startLoad({ plan: p, host: s.url, ...closed(5, 100, 30), settings: { maxRequests: 200 } })
    expect(out.stopReason).toBe('max-requests')
    // users finish the request they had in flight
    expect(out.totals.overall.requests).toBeGreaterThanOrEqual(200)
    expect(out.totals.overall.requests).toBeLessThan(210)
  })
})
