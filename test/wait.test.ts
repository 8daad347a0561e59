import { describe, expect, it } from 'vitest'
import { rejectAfter, within } from '../shared/wait.js'

const timers = (): number => process.getActiveResourcesInfo().filter(r => r === 'Timeout').length

describe('bounded waits', () => {
  it('within: the value when the promise settles first, the fallback after the bound; no timer is left either way', async () => {
    const before = timers()
    expect(await within(Promise.resolve(7), 5000, 'late')).toBe(7)
    // a timer left pending would keep a finished command alive until it fired
    expect(timers()).toBe(before)
    const t0 = performance.now()
    expect(await within(new Promise(() => {}), 30, 'late')).toBe('late')
    expect(performance.now() - t0).toBeGreaterThanOrEqual(25)
    expect(timers()).toBe(before)
  })

  it('rejectAfter: rejects with the message after the bound, passes a rejection through, leaves no timer', async () => {
    const before = timers()
    await expect(rejectAfter(new Promise(() => {}), 20, 'no answer')).rejects.toThrow('no answer')
    await expect(rejectAfter(Promise.reject(new Error('own')), 5000, 'no answer')).rejects.toThrow('own')
    expect(await rejectAfter(Promise.resolve('ok'), 5000, 'no answer')).toBe('ok')
    expect(timers()).toBe(before)
  })
})
