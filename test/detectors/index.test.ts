import { describe, expect, it } from 'vitest'
import { readdirSync } from 'node:fs'
import { DETECTORS } from '../../correlate/detectors/index.js'

describe('the detector list is the folder', () => {
  it('every file of correlate/detectors gives one detector, listed, ranked by its order; ids and orders are unique', async () => {
    const files = readdirSync(new URL('../../correlate/detectors/', import.meta.url)).filter(f => f.endsWith('.ts') && f !== 'index.ts')
    expect(DETECTORS).toHaveLength(files.length)
    for (const f of files) {
      const mod = await import(`../../correlate/detectors/${f}`) as Record<string, unknown>
      const exported = Object.values(mod).filter(v => DETECTORS.includes(v as never))
      // each file's detector is in the list (a file left out of index.ts fails here)
      expect(exported, f).toHaveLength(1)
    }
    const orders = DETECTORS.map(d => d.order)
    expect([...orders].sort((a, b) => a - b)).toEqual(orders)
    expect(new Set(orders).size).toBe(orders.length)
    expect(new Set(DETECTORS.map(d => d.id)).size).toBe(DETECTORS.length)
    // the more specific causes break ties first: idle in transaction before the pool it starves,
    // the pool before the CPU and the latency limits that are its symptoms
    const rank = (id: string): number => DETECTORS.findIndex(d => d.id === id)
    expect(rank('idle-in-transaction')).toBeLessThan(rank('pool-saturation'))
    expect(rank('pool-saturation')).toBeLessThan(rank('host-cpu'))
    expect(rank('host-cpu')).toBeLessThan(rank('latency-limit'))
  })
})
