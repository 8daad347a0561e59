/** host-cpu on synthetic series: a saturated host while requests slowed; a busy host with flat latency is not a bottleneck. */
import { describe, expect, it } from 'vitest'
import { ramp } from '../helpers/synthetic.js'
import { RAMP, healthy, ids, run, withSeries } from '../helpers/healthy.js'

describe('host CPU', () => {
  it('finds a saturated host while requests slowed, with the generator\'s own share', () => {
    const o = withSeries({ ...healthy(), p50: (i) => 10 * Math.max(1, ramp(20, RAMP)(i) / 3), p95: (i) => 30 * Math.max(1, ramp(20, RAMP)(i) / 3) }, [
      { probe: 'host', metric: 'cpu', unit: 'percent', value: () => 96 },
      { probe: 'generator', metric: 'cpu', unit: 'percent', value: () => 60 }
    ])
    const f = run(o).findings[0]!
    expect(f.id).toBe('host-cpu')
    expect(f.evidence.facts.join(' ')).toMatch(/the load generator itself used 60% of one core/)
  })
  it('a busy host whose requests are as fast as at low load gives no finding', () => {
    expect(ids(withSeries(healthy(), [{ probe: 'host', metric: 'cpu', unit: 'percent', value: () => 97 }]))).toEqual([])
  })
})
