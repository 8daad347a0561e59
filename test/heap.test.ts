/**
 * The generator's heap policy (loadgen/heap.ts): V8's heap growth is capped only for runs with
 * thousands of users, where it saves memory; a user's own heap flags and LOADLENS_HEAP_GROWTH win.
 */
import { describe, expect, it } from 'vitest'
import { DEFAULT_HEAP_GROWTH_PERCENT, HEAP_CAP_FROM_USERS, heapGrowthPolicy, plannedPeak } from '../loadgen/heap.js'

describe('heap growth policy', () => {
  it('caps the growth from the planned users on, and keeps V8\'s default below them', () => {
    expect(heapGrowthPolicy(1, {}, [])).toBeNull()
    expect(heapGrowthPolicy(HEAP_CAP_FROM_USERS - 1, {}, [])).toBeNull()
    expect(heapGrowthPolicy(HEAP_CAP_FROM_USERS, {}, [])).toBe(DEFAULT_HEAP_GROWTH_PERCENT)
    expect(heapGrowthPolicy(10_000, {}, [])).toBe(DEFAULT_HEAP_GROWTH_PERCENT)
  })

  it('lets the user decide: LOADLENS_HEAP_GROWTH at any size, 0 for V8\'s default, node heap flags over both', () => {
    expect(heapGrowthPolicy(1, { LOADLENS_HEAP_GROWTH: '150' }, [])).toBe(150)
    expect(heapGrowthPolicy(10_000, { LOADLENS_HEAP_GROWTH: '0' }, [])).toBeNull()
    expect(heapGrowthPolicy(10_000, { LOADLENS_HEAP_GROWTH: 'lots' }, [])).toBeNull()
    expect(heapGrowthPolicy(10_000, { NODE_OPTIONS: '--heap-growing-percent=300' }, [])).toBeNull()
    expect(heapGrowthPolicy(10_000, {}, ['--optimize-for-size'])).toBeNull()
    expect(heapGrowthPolicy(10_000, { LOADLENS_HEAP_GROWTH: '150' }, ['--heap-growing-percent=50'])).toBeNull()
  })

  it('takes the peak of a closed model\'s users and of an open model\'s arrival rate', () => {
    expect(plannedPeak({ kind: 'closed', stages: [{ durationS: 10, users: 50, spawnRate: 5 }, { durationS: 10, users: 4000, spawnRate: 100 }, { durationS: 10, users: 0, spawnRate: 100 }] })).toBe(4000)
    expect(plannedPeak({ kind: 'open', startRate: 10, stages: [{ durationS: 5, rate: 3500 }, { durationS: 5, rate: 20 }], preAllocatedVUs: 100, maxVUs: 20_000 })).toBe(3500)
  })
})
