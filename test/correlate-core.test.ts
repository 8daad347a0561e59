/**
 * The correlator around its detectors: a healthy system gives no finding; phases; the
 * per-request-name latency view (a mix that shifts during the run is not a slowdown); the
 * one severity rule; the ranking that folds consequences under their cause; capacity; the
 * generator's check of itself; the statistics.
 */
import { describe, expect, it } from 'vitest'
import { diagnose } from '../correlate/diagnose.js'
import { join } from '../correlate/grid.js'
import { findPhases, steadyWindow, warmWindow } from '../correlate/phases.js'
import { latencyView } from '../correlate/latency.js'
import { probeFacts } from '../correlate/facts.js'
import type { DetectorContext } from '../correlate/context.js'
import type { RunResult } from '../shared/types.js'
import { trend, spearman, quantile } from '../correlate/stats.js'
import type { SyntheticOptions } from './helpers/synthetic.js'
import { ramp, synthetic, T0 } from './helpers/synthetic.js'
import { RAMP, healthy, ids, run, withSeries } from './helpers/healthy.js'

/** the detectors' view of a result, as diagnose() builds it */
function context (result: RunResult): DetectorContext {
  const grid = join(result)
  const phases = findPhases(grid, result.meta)
  const steady = steadyWindow(phases, grid)
  return { result, grid, phases, steady, warm: warmWindow(steady), expect: result.meta.expectations ?? {}, facts: probeFacts(result.probes.status), status: {}, cache: {} }
}

describe('healthy systems give no findings', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`seed ${seed}`, () => {
      const d = run(healthy(seed))
      expect(d.findings).toEqual([])
      expect(d.unreliable).toBeUndefined()
      expect(d.skipped ?? []).toEqual([])
    })
  }
})

describe('phases', () => {
  it('finds ramp-up, steady state and ramp-down', () => {
    const r = synthetic({ seconds: 60, users: (i) => (i < 10 ? i * 2 : i < 50 ? 20 : Math.max(0, 20 - (i - 50) * 2)), rps: () => 10, p50: () => 10 })
    const p = findPhases(join(r), r.meta)
    expect(p.map(x => x.kind)).toEqual(['ramp-up', 'steady', 'ramp-down'])
    expect(p[1]!.from - T0).toBe(9)
    expect(p[1]!.to - T0).toBe(51) // 18 users is still 90 % of the peak
  })
})

describe('latency is judged per request name', () => {
  /** cheap registrations during the ramp-up, a slow-by-design upload (100 ms) once users are in; no row gets slower */
  const mixShift = (o: SyntheticOptions): SyntheticOptions => withSeries({
    ...o,
    rows: [
      { type: 'POST', name: '/users', rps: (i) => (i < RAMP ? 4 : 0.5), p50: () => 4, p95: () => 9 },
      { type: 'POST', name: '/upload', rps: (i) => (i < RAMP ? 0.5 : 1.5) * ramp(20, RAMP)(i), p50: () => 105, p95: () => 140 },
      { type: 'GET', name: '/profile', rps: (i) => 0.6 * ramp(20, RAMP)(i), p50: () => 2, p95: () => 5 }
    ]
  }, [
    // a fixed pool of 8, all open
    { probe: 'pg', metric: 'connections', labels: { state: 'idle' }, value: () => 8 },
    { probe: 'pg', metric: 'connections', labels: { state: 'active' }, value: (i) => (i % 3 === 0 ? 1 : 0) }
  ])

  it('a change of mix (cheap requests first, slow-by-design ones later) gives no latency finding', () => {
    const o = mixShift(healthy())
    const r = synthetic(o)
    // the aggregate moved a lot: the median of the first seconds vs the steady state
    const early = r.timeline.slice(1, 5).map(s => s.overall.p50)
    const late = r.timeline.slice(30, 60).map(s => s.overall.p50)
    expect(quantile(late, 0.5)).toBeGreaterThan(5 * quantile(early, 0.5))
    expect(ids(o)).toEqual([])
  })

  it('the same run with one request name really slower is raised, and names it', () => {
    const o = mixShift(healthy())
    o.rows![2] = { ...o.rows![2]!, rps: (i) => ramp(20, RAMP)(i), p50: (i) => (i < RAMP ? 2 : 60), p95: (i) => (i < RAMP ? 5 : 120) }
    o.series = o.series!.map(s => s.probe === 'target' && s.metric === 'cpu' ? { ...s, value: () => 96 } : s)
    const f = run(o).findings.find(x => x.id === 'target-cpu')!
    expect(f.evidence.facts.join(' ')).toMatch(/GET \/profile [12](\.\d)? -> 6\d(\.\d)? ms/)
    expect(f.evidence.rows!.map(r => r.key)).toEqual(['GET /profile'])
  })
})

describe('a fast ramp still gives each request name a reference', () => {
  /** the seed's development scenario: 10 users at 2 a second; each user registers first, then polls */
  const fast = (pollMs: (i: number) => number): SyntheticOptions => ({
    seconds: 30,
    users: (i) => Math.min(10, 2 * (i + 1)),
    rps: () => 0,
    p50: () => 0,
    rows: [
      { type: 'POST', name: '/users', rps: (i) => (i < 5 ? 2 : 0), p50: () => 4, p95: () => 8 },
      // the polls start once the first uploads are in: none at 2 or 4 users
      { type: 'GET', name: '/jobs/[id]', rps: (i) => (i < 2 ? 0 : i < 3 ? 4 : 8), p50: pollMs, p95: (i) => 2 * pollMs(i) }
    ],
    expectations: {}
  })
  const view = (o: SyntheticOptions): ReturnType<typeof latencyView> => latencyView(context(synthetic(o)))

  it('a row whose first requests come at 6 of 10 users is compared from there, and its slowdown is seen', () => {
    const v = view(fast((i) => (i < 4 ? 5 : 300)))
    expect(v.compared.map(r => r.key)).toEqual(['GET /jobs/[id]'])
    expect(v.compared[0]!.lowP50Ms).toBeLessThan(8)
    expect(v.raised).toBe(true)
  })
  it('... and the same row at its own speed all along is not raised', () => {
    const v = view(fast(() => 5))
    expect(v.compared.map(r => r.key)).toEqual(['GET /jobs/[id]'])
    expect(v.raised).toBe(false)
  })

  /** four names, each with one or two requests at low load (20 users at 10 a second) */
  const thin = (slow: boolean): SyntheticOptions => ({
    seconds: 40,
    users: (i) => Math.min(20, 10 * (i + 1)),
    rps: () => 0,
    p50: () => 0,
    rows: ['a', 'b', 'c', 'd'].map((name, k) => ({
      type: 'GET', name: `/${name}`, rps: (i: number) => (i === 0 ? 1 + (k % 2) : 4), p50: (i: number) => (slow && i > 3 ? 40 + 10 * k : 3 + k), p95: (i: number) => 2 * (slow && i > 3 ? 40 + 10 * k : 3 + k)
    })),
    expectations: {}
  })
  it('names with a request or two at low load are judged together: slower everywhere is raised', () => {
    const v = view(thin(true))
    expect(v.pooled).toBeDefined()
    expect(v.pooled!.lowRequests).toBe(6)
    expect(v.pooled!.ratio).toBeGreaterThan(5)
    expect(v.raised).toBe(true)
    expect(v.why).toMatch(/judged together/)
  })
  it('... and the same names at their own speed are not', () => {
    const v = view(thin(false))
    expect(v.pooled).toBeDefined()
    expect(v.pooled!.ratio).toBeLessThan(1.5)
    expect(v.raised).toBe(false)
  })
})

describe('a queue that forms only at peaks', () => {
  /** 20 users ramped over 10 s, 10 requests a second each; a cheap read whose median holds while its tail grows */
  const peaks = (tailMs: number, perUser = 10): SyntheticOptions => ({
    seconds: 40,
    users: (i) => Math.min(20, 2 * (i + 1)),
    rps: () => 0,
    p50: () => 0,
    rows: [{ type: 'GET', name: '/accounts/[id]', rps: (i) => perUser * Math.min(20, 2 * (i + 1)), p50: () => 3, p95: (i) => (i < 10 ? 5 : tailMs) }],
    expectations: {}
  })
  const view = (o: SyntheticOptions): ReturnType<typeof latencyView> => latencyView(context(synthetic(o)))
  it('a row whose p95 at least doubled by a delay users feel (>= 100 ms) slowed at the tail, its median unchanged', () => {
    const v = view(peaks(300))
    expect(v.slowed.map(r => r.key)).toEqual(['GET /accounts/[id]'])
    expect(v.slowed[0]!.tail).toBe(true)
    expect(v.raised).toBe(true)
    expect(v.why).toMatch(/GET \/accounts\/\[id\] p95 \d+(\.\d)? -> \d+(\.\d)? ms \(median 3(\.\d)? ms\)/)
    // 60 requests at low load, none in a tail that holds about 8 % of the steady requests
    expect(v.tails!.lowRequests).toBeGreaterThanOrEqual(50)
    expect(v.tails!.seen).toBe(0)
    expect(v.tails!.p).toBeLessThan(0.05)
    expect(v.why).toMatch(/the longer tails are measured: 0 of \d+ low-load requests in them where \d+(\.\d)? were expected/)
  })
  it('... and a tail that doubled by less than users feel did not', () => {
    const v = view(peaks(60))
    expect(v.slowed).toEqual([])
    expect(v.raised).toBe(false)
  })
  it('... nor one that six low-load requests could have missed: a tail of 8 % misses six requests three times in five', () => {
    const v = view(peaks(300, 1))
    expect(v.slowed).toEqual([])
    expect(v.raised).toBe(false)
    expect(v.tails!.unconfirmed).toBe(1)
    expect(v.why).toMatch(/1 request name with a p95 grown from low load not counted: their low-load requests \(6, 0 in the tail where 0\.\d were expected\) could have missed a tail that was always there/)
  })
})

describe('an endpoint slow at the tail by design, at any load', () => {
  // median 20 ms, p95 300 ms at every load level (a report, a search over a large account):
  // the few requests of the ramp's first seconds often all fall under its tail
  const heavy = (seed: number): SyntheticOptions => ({
    seconds: 40,
    seed,
    users: (i) => Math.min(20, 2 * (i + 1)),
    rps: () => 0,
    p50: () => 0,
    rows: [
      { type: 'GET', name: '/reports/[id]', rps: (i) => Math.min(20, 2 * (i + 1)), p50: () => 20, p95: () => 300 },
      { type: 'GET', name: '/health', rps: (i) => Math.min(20, 2 * (i + 1)), p50: () => 2, p95: () => 4 }
    ],
    expectations: {}
  })
  it('is not read as slowed at the tail, whichever requests the ramp happened to draw', () => {
    let tails = 0
    let medians = 0
    for (let seed = 1; seed <= 20; seed++) {
      const v = latencyView(context(synthetic(heavy(seed))))
      expect(v.slowed, `seed ${seed}: ${v.why}`).toEqual([])
      expect(v.raised).toBe(false)
      if (v.tails?.unconfirmed) tails++
      if (v.medianUnconfirmed) {
        medians++
        expect(v.why).toMatch(/1 request name with a median doubled from low load not counted: so few low-load requests could have been that fast by chance/)
      }
    }
    // the rules without their evidence would have called many of these runs slowed: at the
    // tail (all of the few low-load requests under it), and at the median now and then
    expect(tails).toBeGreaterThan(5)
    expect(medians).toBeGreaterThan(0)
  })
})

describe('severity from impact, one rule for every detector', () => {
  it('critical when users feel it: requests 100 ms slower at the median, within every limit', () => {
    const o = withSeries({ ...healthy(), p50: (i) => (i < 3 ? 2 : 150), p95: (i) => (i < 3 ? 5 : 300) }, [{ probe: 'target', metric: 'cpu', unit: 'percent', value: () => 95 }])
    const f = run(o).findings[0]!
    expect(f.id).toBe('target-cpu')
    expect(f.severity).toBe('critical')
    expect(f.evidence.facts.join(' ')).toMatch(/critical because users wait 1\d\d ms longer at the median/)
  })
  it('a warning when nothing crosses a limit and no request got 100 ms slower', () => {
    const o = withSeries({ ...healthy(), p50: (i) => (i < 3 ? 2 : 40), p95: (i) => (i < 3 ? 5 : 80) }, [{ probe: 'target', metric: 'cpu', unit: 'percent', value: () => 95 }])
    expect(run(o).findings[0]!.severity).toBe('warning')
  })
})

describe('ranking', () => {
  it('folds a saturated pool under the transactions held open that explain it', () => {
    const o = withSeries({ ...healthy(), p50: (i) => 8 * Math.max(1, ramp(20, RAMP)(i) / 2), p95: (i) => 60 * Math.max(1, ramp(20, RAMP)(i) / 2) }, [
      { probe: 'pg', metric: 'connections', labels: { state: 'active' }, value: () => 0 },
      { probe: 'pg', metric: 'connections', labels: { state: 'idle' }, value: () => 0 },
      { probe: 'pg', metric: 'connections', labels: { state: 'idle in transaction' }, value: () => 2 },
      { probe: 'pg', metric: 'idle_in_xact_s', unit: 's', value: () => 0.2 }
    ])
    const d = run(o)
    expect(d.findings.map(f => f.id)).toEqual(['idle-in-transaction'])
    expect(d.findings[0]!.symptoms!.map(s => s.id)).toContain('pool-saturation')
  })
})

describe('the generator checks itself', () => {
  it('marks the run unreliable when the generator itself was saturated', () => {
    const d = run({ ...healthy(), generator: (i: number) => ({ elu: i > 30 && i < 40 ? 0.99 : 0.3, loopDelayP99Ms: 12 }) })
    expect(d.unreliable?.reason).toMatch(/load generator was saturated in 9 of 70 seconds/)
    expect(d.findings).toEqual([])
  })
})

describe('capacity', () => {
  it('reports the most users held within the criteria on a stress ramp', () => {
    // users rise by 2 per second to 300; past 120 users latency and failures explode
    const users = (i: number): number => Math.min(300, 2 * (i + 1))
    const o: SyntheticOptions = {
      seconds: 150,
      users,
      rps: (i) => Math.min(users(i), 120) * 2,
      p50: (i) => (users(i) <= 120 ? 30 : 30 * (users(i) / 120) ** 3),
      failures: (i) => (users(i) > 140 ? 20 : 0),
      failure: { type: 'GET', name: '/api', kind: 'http', status: 503, message: 'HTTP 503' },
      expectations: { failureRatio: 0.01, p95: 1000, findMaxUsers: true }
    }
    const d = diagnose(synthetic(o))
    expect(d.capacity!.maxUsers).toBeGreaterThanOrEqual(120)
    expect(d.capacity!.maxUsers).toBeLessThanOrEqual(160)
    expect(d.capacity!.reason).toMatch(/held up to \d+ concurrent users and broke/)
    expect(d.capacity!.knee!.users).toBeGreaterThan(120)
    expect(d.capacity!.knee!.users).toBeLessThan(200)
  })
})

describe('statistics', () => {
  it('Theil-Sen ignores an outlier and Mann-Kendall sees a trend', () => {
    const x = Array.from({ length: 50 }, (_, i) => i)
    const y = x.map(v => 2 * v + 1)
    y[10] = 1000
    const t = trend(x, y)
    expect(t.slope).toBeCloseTo(2, 5)
    expect(t.tau).toBeGreaterThan(0.9)
    expect(t.p).toBeLessThan(0.001)
    const flat = trend(x, x.map(() => 5))
    expect(flat.slope).toBe(0)
    expect(flat.p).toBeCloseTo(1, 5)
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 40])).toBeCloseTo(1)
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5)
  })
})
