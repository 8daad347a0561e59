/** cache-hit-rate on synthetic series: under the target with its reason (expiring TTL, nothing served), quiet at 90 % or with too few lookups; a warning when users do not feel it; the checklist states the diagnosis's own figure. */
import { describe, expect, it } from 'vitest'
import { evaluateChecklist } from '../../reports/checklist.js'
import { synthetic } from '../helpers/synthetic.js'
import { healthy, ids, run, withPgFacts, withSeries } from '../helpers/healthy.js'

const lowHits = withSeries(healthy(), [
  { probe: 'redis', metric: 'hits_per_s', unit: 'per_s', value: () => 8 },
  { probe: 'redis', metric: 'misses_per_s', unit: 'per_s', value: () => 12 },
  { probe: 'redis', metric: 'expired_per_s', unit: 'per_s', value: () => 10 }
])

/** a healthy run whose cache serves `perS` lookups a second at hit rate rate(i), nothing expiring */
function cacheAt (rate: (i: number) => number, perS: number): ReturnType<typeof healthy> {
  return withSeries(healthy(), [
    { probe: 'redis', metric: 'hits_per_s', unit: 'per_s', value: (i) => perS * rate(i) },
    { probe: 'redis', metric: 'misses_per_s', unit: 'per_s', value: (i) => perS * (1 - rate(i)) },
    { probe: 'redis', metric: 'expired_per_s', unit: 'per_s', value: () => 0 }
  ])
}

describe('cache hit rate', () => {
  it('fires under 85 % and names an expiring TTL', () => {
    const f = run(lowHits).findings[0]!
    expect(f.id).toBe('cache-hit-rate')
    expect(f.title).toMatch(/Cache entries expire before they are read again \(hit rate 40%\)/)
    // p95 25 ms against a 500 ms limit and no request slowed: users do not feel it
    expect(f.severity).toBe('warning')
    expect(f.evidence.series).toContain('redis.expired_per_s')
  })
  it('is critical when the profile sets the hit rate it breaks', () => {
    const f = run({ ...lowHits, expectations: { ...lowHits.expectations, cacheHitRateMin: 0.9 } }).findings[0]!
    expect(f.severity).toBe('critical')
  })
  it('says so when every lookup misses', () => {
    const o = withSeries(healthy(), [
      { probe: 'redis', metric: 'hits_per_s', unit: 'per_s', value: () => 0 },
      { probe: 'redis', metric: 'misses_per_s', unit: 'per_s', value: () => 20 }
    ])
    expect(run(o).findings[0]!.title).toMatch(/not serving reads/)
  })
  it('stays quiet at 90 % and with too few lookups to judge', () => {
    expect(ids(withSeries(healthy(), [{ probe: 'redis', metric: 'hits_per_s', value: () => 18 }, { probe: 'redis', metric: 'misses_per_s', value: () => 2 }]))).toEqual([])
    const few = run(withSeries(healthy(), [{ probe: 'redis', metric: 'hits_per_s', value: () => 0.2 }, { probe: 'redis', metric: 'misses_per_s', value: () => 0.5 }]))
    expect(few.findings).toEqual([])
    expect(few.skipped?.find(s => s.id === 'cache-hit-rate')?.reason).toMatch(/lookups/)
  })
  it('says the counters include the broker\'s when Redis is also the Celery broker', () => {
    const o = { ...lowHits, facts: { ...lowHits.facts, redis: { sharedWithBroker: true } } }
    expect(run(o).findings[0]!.unmeasured!.join(' ')).toMatch(/also the Celery broker/)
  })
  it('a cache still filling (hit rate rising through the window, nothing evicted or expired) is noted, not found; the checklist says it was not measured', () => {
    // each new key misses once: a cold cache over many keys climbs from 30 % towards 80 %
    const rising = (i: number): number => Math.min(0.8, 0.3 + 0.01 * i)
    const filling = cacheAt(rising, 20)
    const d = run(filling)
    expect(d.findings).toEqual([])
    expect(d.notes?.find(n => n.id === 'cache-hit-rate')?.text).toMatch(/^The cache was still filling: its hit rate rose from \d+(\.\d)?% to \d+(\.\d)?% through the steady state/)
    expect(d.measures!.cache!.warming!.lastRate).toBeGreaterThan(d.measures!.cache!.warming!.firstRate + 0.1)
    const r = synthetic(filling)
    r.diagnosis = d
    const item = evaluateChecklist(r).find(i => i.id === 'cache')!
    expect(item.state).toBe('not measured')
    expect(item.evidence).toMatch(/still filling/)
    // the same rise with most misses on expired keys is a TTL too short, not a filling cache
    const expiring = withSeries(filling, [{ probe: 'redis', metric: 'expired_per_s', unit: 'per_s', value: (i) => 15 * (1 - rising(i)) }])
    expect(ids(expiring)).toEqual(['cache-hit-rate'])
    // and a flat low rate with noise is found as before
    let k = 0
    const flat = withSeries(healthy(), [
      { probe: 'redis', metric: 'hits_per_s', unit: 'per_s', value: () => 8 + ((k++ * 7) % 5) - 2 },
      { probe: 'redis', metric: 'misses_per_s', unit: 'per_s', value: () => 12 }
    ])
    expect(ids(flat)).toEqual(['cache-hit-rate'])
  })
  it('a cache whose fill carried it to the target by the end is noted as such, and its checklist item passes', () => {
    // a small rise (about 4 points), from just under the target to just over it
    const rising = (i: number): number => 0.795 + 0.0012 * i
    const o = cacheAt(rising, 100)
    const d = run(o)
    expect(d.findings).toEqual([])
    const w = d.measures!.cache!.warming!
    expect(w.lastRate - w.firstRate).toBeLessThan(0.05)
    expect(w.lastRate).toBeGreaterThanOrEqual(0.85)
    expect(d.notes?.find(n => n.id === 'cache-hit-rate')?.text).toMatch(/^The cache was still filling and reached its target by the end/)
    const r = synthetic(o)
    r.diagnosis = d
    expect(evaluateChecklist(r).find(i => i.id === 'cache')!.state).toBe('pass')
  })
  it('the checklist states the same hit rate as the diagnosis (one source)', () => {
    const r = synthetic(withPgFacts(lowHits, {}))
    r.diagnosis = run(lowHits)
    const m = r.diagnosis.measures!.cache!
    const item = evaluateChecklist(r).find(i => i.id === 'cache')!
    expect(item.state).toBe('fail')
    expect(item.evidence).toContain(`hit rate ${(m.rate * 100).toFixed(1)}%`)
    expect(item.evidence).toContain(`${m.hits} hits, ${m.misses} misses`)
  })
})
