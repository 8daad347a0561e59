/**
 * pool-saturation on synthetic series: a pool of 2 that requests queue for gives the finding,
 * naming the app's sessions and the request names that slowed; a fixed-size pool (every
 * connection open from the start) under load with flat per-request latency gives none; a
 * pool whose count is of the whole database (sessions not told apart) says so.
 */
import { describe, expect, it } from 'vitest'
import type { SyntheticOptions } from '../helpers/synthetic.js'
import { ramp } from '../helpers/synthetic.js'
import { RAMP, healthy, ids, run, withPgFacts, withSeries } from '../helpers/healthy.js'

/** latency grows with the users beyond a pool of 2; PostgreSQL sees both sessions working */
function pool (o: SyntheticOptions): SyntheticOptions {
  return withSeries({
    ...o,
    p50: (i) => 8 * Math.max(1, ramp(20, RAMP)(i) / 2),
    p95: (i) => 60 * Math.max(1, ramp(20, RAMP)(i) / 2)
  }, [
    { probe: 'pg', metric: 'connections', labels: { state: 'active' }, value: (i) => Math.min(2, ramp(20, RAMP)(i)) },
    { probe: 'pg', metric: 'connections', labels: { state: 'idle' }, value: () => 0 }
  ])
}

/** a fixed pool of 10, open from the first second, mostly idle between requests */
function fixedPool (o: SyntheticOptions): SyntheticOptions {
  return withSeries(o, [
    { probe: 'pg', metric: 'connections', labels: { state: 'active' }, value: (i) => (i % 4 === 0 ? 1 : 0) },
    { probe: 'pg', metric: 'connections', labels: { state: 'idle' }, value: (i) => (i % 4 === 0 ? 9 : 10) }
  ])
}

describe('pool saturation', () => {
  it('names the app\'s pool, the waiting it rests on and the request names that slowed', () => {
    const d = run(pool(healthy()))
    const f = d.findings[0]!
    expect(f.id).toBe('pool-saturation')
    expect(f.title).toBe("The app's pool of 2 PostgreSQL connections is saturated")
    expect(f.evidence.values['pool size']).toBe(2)
    const facts = f.evidence.facts.join('\n')
    expect(facts).toMatch(/the app's 2 PostgreSQL sessions \(sessions from the target's own sockets \(python3 -m uvicorn app:app\); the workers' 4 sessions counted apart\)/)
    expect(facts).toMatch(/PostgreSQL saw all 2 sessions working .* in 100% of the samples/)
    expect(facts).toMatch(/1 of 1 request names slowed from low load/)
    expect(f.evidence.rows![0]!.key).toBe('GET /api')
    expect(f.evidence.rows![0]!.lowP50Ms).toBeLessThan(20)
    expect(f.evidence.rows![0]!.p50Ms).toBeGreaterThan(60)
    expect(f.checklist).toBe('database')
    // the latency over the limit is a symptom of it
    expect(f.symptoms?.map(s => s.id)).toContain('latency-limit')
    expect(f.severity).toBe('critical')
  })

  it('gives no finding for a fixed-size pool whose connections are all open from the start while latency stays flat', () => {
    for (const users of [20, 60]) {
      const o = fixedPool({ ...healthy(), users: ramp(users, RAMP), rps: (i) => ramp(users, RAMP)(i) * 2 })
      expect(ids(o)).toEqual([])
    }
  })

  it('a fixed-size pool that saturates still gives the finding', () => {
    const o = withSeries(pool(healthy()), [
      { probe: 'pg', metric: 'connections', labels: { state: 'active' }, value: () => 2 }
    ])
    expect(ids(o)[0]).toBe('pool-saturation')
  })

  it('needs a sign of waiting: pinned connections and slower requests alone, with neither busy sessions nor a queue-shaped delay, are not enough', () => {
    // one heavy request name slowed, PostgreSQL saw the sessions idle, throughput kept up
    const o = withSeries({
      ...healthy(),
      rows: [
        { type: 'GET', name: '/cheap', rps: (i) => ramp(20, RAMP)(i) * 2, p50: () => 3, p95: () => 6 },
        { type: 'GET', name: '/report', rps: (i) => ramp(20, RAMP)(i) * 2, p50: (i) => (i < RAMP ? 40 : 150), p95: (i) => (i < RAMP ? 80 : 300) }
      ]
    }, [
      { probe: 'pg', metric: 'connections', labels: { state: 'active' }, value: () => 0 },
      { probe: 'pg', metric: 'connections', labels: { state: 'idle' }, value: () => 2 }
    ])
    const d = run(o)
    // latency did rise (half the traffic slowed), so only the missing sign keeps the pool out
    expect(d.findings.map(f => f.id)).not.toContain('pool-saturation')
  })

  it('Little\'s law: requests that slowed and would need more connections than the pool has, at their low-load speed, are a sign', () => {
    // only the upload takes a connection (held idle across a storage call, so PostgreSQL sees the
    // sessions idle): 30 a second x 100 ms = 3 connections' worth, against a pool of 2
    const upload = (lowMs: number): SyntheticOptions => withSeries({
      ...healthy(),
      rows: [
        { type: 'GET', name: '/profile', rps: (i) => ramp(20, RAMP)(i) * 2, p50: () => 3, p95: () => 6 },
        { type: 'POST', name: '/upload', rps: (i) => ramp(30, RAMP)(i), p50: (i) => (i < RAMP ? lowMs : 400), p95: (i) => (i < RAMP ? 2 * lowMs : 800) }
      ]
    }, [
      { probe: 'pg', metric: 'connections', labels: { state: 'active' }, value: () => 0 },
      { probe: 'pg', metric: 'connections', labels: { state: 'idle' }, value: () => 2 }
    ])
    const f = run(upload(100)).findings.find(x => x.id === 'pool-saturation')!
    expect(f).toBeDefined()
    expect(f.evidence.facts.join('\n')).toMatch(/the requests that slowed would keep \d(\.\d)? connections busy at their low-load speed \(POST \/upload \d+(\.\d)?\/s x \d+ ms\): by Little's law a pool of 2 cannot keep up/)
    // the same slowdown from requests that would keep only one connection busy: not the pool's doing
    expect(ids(upload(30))).not.toContain('pool-saturation')
  })

  it('without the target\'s processes, counts the whole database, says so and is less sure', () => {
    const told = run(pool(healthy())).findings[0]!
    const o = withPgFacts(pool(healthy()), { attribution: { method: 'database', detail: 'every session of the database: the target\'s processes are not known' } })
    const f = run(o).findings[0]!
    expect(f.id).toBe('pool-saturation')
    expect(f.title).toMatch(/All 2 PostgreSQL sessions of the database are taken/)
    expect(f.unmeasured!.join(' ')).toMatch(/not told apart from other clients'/)
    expect(f.confidence).toBeLessThan(told.confidence)
  })

  it('leaves it to the slow query when the database is the slow part', () => {
    const o = withSeries(pool(healthy()), [{ probe: 'pg', metric: 'query_mean_ms', unit: 'ms', value: () => 40 }])
    const d = run(o)
    expect(d.findings[0]!.id).toBe('slow-query')
    expect(d.findings.map(f => f.id)).not.toContain('pool-saturation')
  })

  it('leaves it to the CPU when the target is CPU-bound', () => {
    const o = withSeries(pool(healthy()), [{ probe: 'target', metric: 'cpu', unit: 'percent', value: () => 95 }])
    const got = ids(o)
    expect(got).not.toContain('pool-saturation')
    expect(got[0]).toBe('target-cpu')
  })

  it('says when the database\'s time and the target\'s CPU were not measured', () => {
    const o = withPgFacts({
      ...pool(healthy()),
      series: pool(healthy()).series!.filter(s => s.metric !== 'query_mean_ms' && !(s.probe === 'target'))
    }, { pgStatStatements: 'missing' })
    const f = run(o).findings.find(x => x.id === 'pool-saturation')!
    expect(f.unmeasured).toEqual(expect.arrayContaining([
      expect.stringMatching(/pg_stat_statements is not installed/),
      expect.stringMatching(/the target's CPU was not measured/)
    ]))
  })
})
