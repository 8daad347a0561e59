/**
 * All cores of one machine: the load in worker threads (`--workers N`). Against a loopback
 * server with known delays, two threads make exactly the requests one thread makes for a
 * deterministic workload (closed and open model), users add up second by second, the
 * request budget holds for the whole run, Ctrl-C still writes the result, and a saturated
 * thread is named in the result and on the terminal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startLoad } from '../loadgen/runner.js'
import type { LoadOutcome } from '../loadgen/runner.js'
import { findSaturation, SATURATION } from '../loadgen/health.js'
import { RateShape } from '../loadgen/shape.js'
import { owns, subShare, WHOLE } from '../loadgen/share.js'
import { loadScenario } from '../scenarios/load.js'
import type { RunResult, TimelineSlice } from '../shared/types.js'
import { runCli, startCli } from './helpers/cli.js'
import { sleep } from './helpers/server.js'
import type { TestServer } from './helpers/server.js'
import { delayServer, PER_USER, scaleScenarios } from './helpers/scale.js'

let server: TestServer
let sc: ReturnType<typeof scaleScenarios>

beforeAll(async () => {
  server = await delayServer()
  sc = scaleScenarios()
})
afterAll(async () => { await server?.close() })

const rows = (o: LoadOutcome): Record<string, number> => Object.fromEntries(o.totals.entries.map(e => [e.key, e.requests]))

describe('worker threads', () => {
  it('closed model: two threads make the same requests as one, and users add up', async () => {
    const plan = await loadScenario(sc.closed)
    const base = { plan, host: server.url, model: { kind: 'closed' as const, stages: [{ durationS: 2.5, users: 9, spawnRate: 100 }] }, durationS: 2.5, stopTimeoutS: 5 }
    const one = await startLoad(base)
    const two = await startLoad({ ...base, settings: { workers: 2 } })
    expect(two.workers).toBe(2)
    for (const o of [one, two]) {
      expect(o.totals.overall.requests).toBe(9 * PER_USER)
      expect(o.totals.overall.failures).toBe(0)
      expect(o.peakUsers).toBe(9)
      expect(o.timeline.reduce((a, t) => a + t.overall.requests, 0)).toBe(9 * PER_USER)
    }
    expect(rows(two)).toEqual(rows(one))
    expect(rows(two)).toEqual({ 'GET /fast': 9 * (PER_USER - 1), 'GET /slow': 9 })
    // every whole second: the two threads' users (4 + 5) make the 9, and each thread reports its own loop
    const full = two.timeline.filter(t => t.users === 9)
    expect(full.length).toBeGreaterThanOrEqual(1)
    expect(Math.max(...two.timeline.map(t => t.users))).toBe(9)
    for (const t of full.filter(x => x.generator)) {
      expect(t.generator!.workers!.map(w => w.worker)).toEqual([1, 2])
      // each thread's own CPU time (Linux), next to the process's
      if (process.platform === 'linux') for (const w of t.generator!.workers!) expect(w.cpu).toBeGreaterThanOrEqual(0)
      expect(t.generator!.elu).toBe(Math.max(...t.generator!.workers!.map(w => w.elu)))
      expect(t.generator!.rss).toBeGreaterThan(0)
    }
    expect(two.saturation).toBeUndefined()
  })

  it('open model: two threads start exactly the iterations one thread starts', async () => {
    const plan = await loadScenario(sc.open)
    // 20/s for 2 s then nothing: iterations 0..39
    const model = { kind: 'open' as const, startRate: 20, stages: [{ durationS: 2, rate: 20 }, { durationS: 0, rate: 0 }, { durationS: 1, rate: 0 }], preAllocatedVUs: 6, maxVUs: 60 }
    expect(new RateShape(model.startRate, model.stages).timeOf(39)).toBeCloseTo(1.95)
    expect(new RateShape(model.startRate, model.stages).timeOf(40)).toBe(Infinity)
    const one = await startLoad({ plan, host: server.url, model, durationS: 3, stopTimeoutS: 5 })
    const two = await startLoad({ plan, host: server.url, model, durationS: 3, stopTimeoutS: 5, settings: { workers: 2 } })
    for (const o of [one, two]) {
      expect(o.timeline.reduce((a, t) => a + (t.iterations ?? 0), 0)).toBe(40)
      expect(o.totals.overall.requests).toBe(40)
      expect(o.droppedIterations).toBe(0)
    }
  })

  it('--max-requests holds for the run, not per thread', async () => {
    const plan = await loadScenario(sc.loop)
    const out = await startLoad({ plan, host: server.url, model: { kind: 'closed', stages: [{ durationS: 30, users: 6, spawnRate: 100 }] }, durationS: 30, stopTimeoutS: 5, settings: { workers: 2, maxRequests: 150 } })
    expect(out.stopReason).toBe('max-requests')
    // the users finish the request they had in flight: at most one each beyond the budget
    expect(out.totals.overall.requests).toBeGreaterThanOrEqual(150)
    expect(out.totals.overall.requests).toBeLessThanOrEqual(150 + 6)
    expect(out.endedAt - out.startedAt).toBeLessThan(10_000)
  })

  it('Ctrl-C stops both threads and still writes the result (open model)', async () => {
    const out = join(sc.dir, 'interrupted.json')
    const { child, done } = startCli(['run', sc.loop, '--headless', '--host', server.url, '--arrival-rate', '40', '-t', '5m', '--workers', '2', '--json', out, '--no-html'])
    await sleep(3500)
    child.kill('SIGINT')
    const r = await done
    expect(r.code).toBe(130)
    expect(existsSync(out)).toBe(true)
    const result = JSON.parse(readFileSync(out, 'utf8')) as RunResult
    expect(result.meta.stopReason).toBe('interrupted')
    expect(result.meta.workers).toBe(2)
    expect(result.totals.overall.requests).toBeGreaterThan(20)
    expect(result.timeline.reduce((a, t) => a + (t.iterations ?? 0), 0)).toBe(result.totals.overall.requests)
    expect(r.stdout).toMatch(/stopped: interrupted/)
  })
})

describe('the generator checks itself', () => {
  it('names the saturated worker thread in the result and on the terminal', async () => {
    const out = join(sc.dir, 'busy.json')
    const r = await runCli(['run', sc.busy, '--headless', '--host', server.url, '-u', '2', '-r', '100', '-t', '4s', '--workers', '2', '--json', out, '--no-html'])
    expect(r.code).not.toBe(2)
    expect(r.code).not.toBe(3)
    const result = JSON.parse(readFileSync(out, 'utf8')) as RunResult
    const sat = result.meta.saturation!
    expect(sat).toBeDefined()
    // user 1 burns the thread that owns its slot; the other thread stays calm
    const busy = [0, 1].find(i => owns(subShare(WHOLE, i, 2), 1))!
    expect(sat.threads).toEqual([`worker ${busy + 1}`])
    expect(sat.seconds).toBeGreaterThanOrEqual(SATURATION.minSeconds)
    expect(sat.peakLoopDelayP99Ms).toBeGreaterThanOrEqual(SATURATION.loopDelayMs)
    const whole = result.timeline.filter(t => t.generator?.workers?.length === 2)
    expect(whole.length).toBeGreaterThanOrEqual(3)
    for (const t of whole.slice(1, -1)) {
      const [calmLine, busyLine] = [t.generator!.workers![1 - busy]!, t.generator!.workers![busy]!]
      expect(calmLine.elu).toBeLessThan(SATURATION.elu)
      expect(t.generator!.loopDelayP99Ms).toBe(busyLine.loopDelayP99Ms)
      // the burning thread's own CPU time shows it (the machine is shared: a generous bound)
      if (process.platform === 'linux') {
        expect(busyLine.cpu!).toBeGreaterThan(0.4)
        expect(busyLine.cpu!).toBeGreaterThan(calmLine.cpu!)
      }
    }
    expect(r.stdout).toMatch(new RegExp(`The measurements are unreliable: the load generator was saturated in \\d+ of \\d+ seconds \\(worker ${busy + 1}: `))
  })

  it('flags a run only when a thread was saturated for several seconds', () => {
    const slice = (t: number, elu: number, delay = 5): TimelineSlice => ({
      t, users: 1, entries: {}, overall: { requests: 0, failures: 0, bytes: 0, sumUs: 0, maxUs: 0, hist: '', p50: 0, p95: 0, p99: 0 }, generator: { elu, loopDelayP99Ms: delay }
    })
    const calm = Array.from({ length: 20 }, (_, i) => slice(1000 + i, 0.4))
    expect(findSaturation(calm)).toBeUndefined()
    // two busy seconds are not enough
    expect(findSaturation(calm.map((s, i) => (i < 2 ? slice(s.t, 0.99) : s)))).toBeUndefined()
    // three of twenty are: by utilisation or by loop delay
    const three = findSaturation(calm.map((s, i) => (i === 4 ? slice(s.t, 0.5, 250) : i === 9 || i === 12 ? slice(s.t, 0.97) : s)))!
    expect(three).toMatchObject({ threads: ['load thread'], seconds: 3, ofSeconds: 20, window: { from: 1004, to: 1012 }, peakElu: 0.97, peakLoopDelayP99Ms: 250 })
    expect(three.message).toMatch(/saturated in 3 of 20 seconds \(the load thread: /)
    // but not when they are under a tenth of a long run
    const long = Array.from({ length: 60 }, (_, i) => slice(1000 + i, i < 4 ? 0.99 : 0.3))
    expect(findSaturation(long)).toBeUndefined()
  })
})
