/** target-cpu on synthetic series: a CPU-bound target whose requests slowed (folding the busy host into it); a busy target that still answers as fast as at low load is not a bottleneck. */
import { describe, expect, it } from 'vitest'
import { ramp } from '../helpers/synthetic.js'
import { RAMP, healthy, ids, run, withSeries } from '../helpers/healthy.js'

describe('target CPU', () => {
  it('finds a CPU-bound target and folds the busy host into it', () => {
    const o = withSeries({ ...healthy(), p50: (i) => 10 * Math.max(1, ramp(20, RAMP)(i) / 3), p95: (i) => 30 * Math.max(1, ramp(20, RAMP)(i) / 3) }, [
      { probe: 'target', metric: 'cpu', unit: 'percent', value: (i) => Math.min(97, 10 * ramp(20, RAMP)(i)) },
      { probe: 'host', metric: 'cpu', unit: 'percent', value: () => 95 }
    ])
    const f = run(o).findings[0]!
    expect(f.id).toBe('target-cpu')
    expect(f.symptoms?.map(s => s.id)).toContain('host-cpu')
    expect(Object.keys(f.evidence.values)).toContain('share of samples >= 70%')
  })
  it('does not call a busy target that still answers fast CPU-bound', () => {
    expect(ids(withSeries(healthy(), [{ probe: 'target', metric: 'cpu', unit: 'percent', value: () => 92 }]))).toEqual([])
  })
})
