/** memory-leak on synthetic series: a steady rise with its rate and projection; a warm-up plateau and noise are not leaks. */
import { describe, expect, it } from 'vitest'
import { noisy, rng } from '../helpers/synthetic.js'
import { healthy, ids, run, withSeries } from '../helpers/healthy.js'

describe('memory leak', () => {
  it('finds a steady rise with its rate and projection', () => {
    const n = noisy(4, 0.01)
    const o = withSeries(healthy(), [{ probe: 'target', metric: 'rss', unit: 'bytes', value: (i) => n(80e6 + i * 2e6) }])
    const f = run(o).findings[0]!
    expect(f.id).toBe('memory-leak')
    expect(Number(f.evidence.values['MB per min'])).toBeGreaterThan(110)
    expect(Number(f.evidence.values['MB per min'])).toBeLessThan(130)
    expect(f.evidence.facts.join(' ')).toMatch(/lasts about \d+ minutes/)
    expect(f.severity).toBe('warning')
    // a profile that requires no leak makes it critical
    expect(run({ ...o, expectations: { ...o.expectations, noMemoryLeak: true } }).findings[0]!.severity).toBe('critical')
  })
  it('does not call a warm-up plateau a leak', () => {
    expect(ids(withSeries(healthy(), [{ probe: 'target', metric: 'rss', unit: 'bytes', value: (i) => 60e6 + 60e6 * (1 - Math.exp(-i / 12)) }]))).toEqual([])
  })
  it('does not call noise a leak', () => {
    const r = rng(11)
    expect(ids(withSeries(healthy(), [{ probe: 'target', metric: 'rss', unit: 'bytes', value: () => 80e6 + r() * 6e6 }]))).toEqual([])
  })
})
