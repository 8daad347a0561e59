/** error-burst on synthetic failures: clustered by row, kind and time, critical when the row's failures cross the profile's limit. */
import { describe, expect, it } from 'vitest'
import type { SyntheticOptions } from '../helpers/synthetic.js'
import { healthy, run } from '../helpers/healthy.js'

describe('error bursts', () => {
  it('clusters failures by row, kind and time', () => {
    const o: SyntheticOptions = { ...healthy(), failures: (i) => (i >= 30 && i < 40 ? 8 : 0), failure: { type: 'GET', name: '/api', kind: 'timeout', message: 'timeout after 30000 ms (no response headers)' } }
    const burst = run(o).findings.find(f => f.id === 'error-burst')!
    expect(burst.title).toMatch(/^80 timeouts on GET \/api \(20% of its requests\) for 10 s from 00:30/)
    expect(burst.severity).toBe('critical')
  })
  it('a handful of failures is no burst', () => {
    const o: SyntheticOptions = { ...healthy(), failures: (i) => (i === 30 ? 2 : 0), failure: { type: 'GET', name: '/api', kind: 'http', status: 500, message: 'HTTP 500' } }
    expect(run(o).findings.map(f => f.id)).not.toContain('error-burst')
  })
})
