/** latency-limit on synthetic series: a profile limit crossed, reported on its own when no cause explains it. */
import { describe, expect, it } from 'vitest'
import { healthy, run } from '../helpers/healthy.js'

describe('latency limits', () => {
  it('reports latency over the profile limit on its own when no cause explains it', () => {
    const d = run({ ...healthy(), p50: () => 400, p95: () => 800 })
    expect(new Set(d.findings.map(f => f.id))).toEqual(new Set(['latency-limit']))
    expect(d.findings.map(f => f.title).join('\n')).toMatch(/the overall p95 is \d+ ms, over the 500 ms limit/)
    expect(d.findings.every(f => f.severity === 'critical')).toBe(true)
  })
  it('checks the limits the profile sets per request name', () => {
    const d = run({ ...healthy(), expectations: { byName: { 'GET /api': { p95: 20 } } } })
    expect(d.findings.map(f => f.title)).toEqual([expect.stringMatching(/^GET \/api p95 is \d+ ms, over the 20 ms limit/)])
  })
})
