/** lock-waits on synthetic series: sessions waiting on Lock events, and which lock. */
import { describe, expect, it } from 'vitest'
import { rng } from '../helpers/synthetic.js'
import { SECONDS, healthy, ids, run, withSeries } from '../helpers/healthy.js'

describe('lock waits', () => {
  it('reports lock waits', () => {
    const r = rng(3)
    expect(ids(withSeries(healthy(), [{ probe: 'pg', metric: 'waiting', labels: { wait_event_type: 'Lock' }, value: () => (r() < 0.5 ? 2 : 0) }]))).toContain('lock-waits')
  })
  it('stays quiet for a lock wait now and then', () => {
    expect(ids(withSeries(healthy(), [{ probe: 'pg', metric: 'waiting', labels: { wait_event_type: 'Lock' }, value: (i) => (i % 20 === 0 ? 1 : 0) }]))).toEqual([])
  })
  it('names the lock the sessions wait on, from the wait events', () => {
    const r = rng(3)
    const waits = Array.from({ length: SECONDS }, () => (r() < 0.5 ? 2 : 0))
    const o = withSeries(healthy(), [
      { probe: 'pg', metric: 'waiting', labels: { wait_event_type: 'Lock' }, value: (i) => waits[i]! },
      { probe: 'pg', metric: 'wait_events', labels: { wait_event_type: 'Lock', wait_event: 'transactionid' }, value: (i) => Math.max(0, waits[i]! - (i % 3 === 0 ? 1 : 0)) },
      { probe: 'pg', metric: 'wait_events', labels: { wait_event_type: 'Lock', wait_event: 'relation' }, value: (i) => (waits[i]! > 0 && i % 3 === 0 ? 1 : 0) }
    ])
    const f = run(o).findings.find(x => x.id === 'lock-waits')!
    expect(f.title).toMatch(/mostly transactionid\)$/)
    expect(f.cause).toMatch(/row locks \(another transaction updated/)
    expect(f.evidence.series).toContain('pg.wait_events{wait_event="transactionid",wait_event_type="Lock"}')
    expect(f.evidence.facts.join('\n')).toMatch(/transactionid: waiting in \d+ samples[^]*relation: waiting in \d+ samples, up to 1 at once/)
  })
})
