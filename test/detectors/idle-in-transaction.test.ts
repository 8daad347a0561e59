/** idle-in-transaction on synthetic series: sessions held open in a transaction in most samples, against a healthy app caught between two statements now and then. */
import { describe, expect, it } from 'vitest'
import { rng } from '../helpers/synthetic.js'
import { healthy, ids, run, withSeries } from '../helpers/healthy.js'

describe('transactions left open', () => {
  it('fires when the app\'s sessions sit idle in transaction in most samples', () => {
    const r = rng(9)
    const o = withSeries(healthy(), [
      { probe: 'pg', metric: 'connections', labels: { state: 'idle in transaction' }, value: () => (r() < 0.8 ? 1 + Math.floor(r() * 3) : 0) },
      { probe: 'pg', metric: 'idle_in_xact_s', unit: 's', value: () => 0.1 + r() * 0.2 }
    ])
    const f = run(o).findings[0]!
    expect(f.id).toBe('idle-in-transaction')
    expect(f.title).toMatch(/^Transactions are held open while the app does other work \(\d+(\.\d)? of the app's sessions idle in transaction/)
    expect(f.evidence.facts.join(' ')).toMatch(/typically sat idle in its transaction for \d+ ms/)
    // latency did not rise: a warning, not critical
    expect(f.severity).toBe('warning')
  })
  it('ignores a healthy app caught between two statements now and then', () => {
    const r = rng(5)
    const o = withSeries(healthy(), [
      { probe: 'pg', metric: 'connections', labels: { state: 'idle in transaction' }, value: () => (r() < 0.2 ? 1 : 0) },
      { probe: 'pg', metric: 'idle_in_xact_s', unit: 's', value: () => 0.002 }
    ])
    expect(ids(o)).toEqual([])
  })
  it('ignores sessions in a transaction for under 20 ms, however often they are seen', () => {
    const o = withSeries(healthy(), [
      { probe: 'pg', metric: 'connections', labels: { state: 'idle in transaction' }, value: () => 1 },
      { probe: 'pg', metric: 'idle_in_xact_s', unit: 's', value: () => 0.004 }
    ])
    expect(ids(o)).toEqual([])
  })
})
