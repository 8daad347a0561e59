/** celery-backlog and celery-workers-missing on synthetic series. */
import { describe, expect, it } from 'vitest'
import { RAMP, healthy, ids, run, withSeries } from '../helpers/healthy.js'

describe('Celery', () => {
  it('finds a growing backlog with every worker slot busy', () => {
    const o = withSeries(healthy(), [
      { probe: 'celery', metric: 'queue_depth', labels: { queue: 'celery' }, value: (i) => Math.max(0, (i - RAMP) * 3) },
      { probe: 'celery', metric: 'active', labels: { worker: 'w@h' }, value: () => 1 },
      { probe: 'celery', metric: 'concurrency', labels: { worker: 'w@h' }, value: () => 1 }
    ])
    const f = run(o).findings[0]!
    expect(f.id).toBe('celery-backlog')
    expect(f.cause).toMatch(/every worker slot is busy/)
    expect(f.checklist).toBe('celery')
  })
  it('finds a standing queue behind saturated workers (a closed-model load cannot grow it forever)', () => {
    const o = withSeries(healthy(), [
      { probe: 'celery', metric: 'queue_depth', labels: { queue: 'celery' }, value: (i) => Math.min(8, i) },
      { probe: 'celery', metric: 'active', labels: { worker: 'w@h' }, value: () => 1 },
      { probe: 'celery', metric: 'concurrency', labels: { worker: 'w@h' }, value: () => 1 }
    ])
    expect(run(o).findings[0]!.title).toMatch(/Celery workers are saturated: 8 tasks wait while all 1 worker slots are busy/)
  })
  it('finds a worker that disappears', () => {
    expect(ids(withSeries(healthy(), [{ probe: 'celery', metric: 'workers_online', value: (i) => (i < 40 ? 1 : 0) }]))).toContain('celery-workers-missing')
  })
  it('no worker answered: a finding when tasks waited in the queue, a note when the queues stayed empty', () => {
    const none = { probe: 'celery', metric: 'workers_online', value: () => 0 }
    const waited = run(withSeries(healthy(), [none, { probe: 'celery', metric: 'queue_depth', labels: { queue: 'celery' }, value: (i: number) => i }]))
    const f = waited.findings.find(x => x.id === 'celery-workers-missing')!
    expect(f.title).toMatch(/No Celery worker answered/)
    expect(f.evidence.facts.join(' ')).toMatch(/queues held up to \d+ messages/)
    expect(f.cause).toMatch(/Tasks are queued/)
    const empty = run(withSeries(healthy(), [none, { probe: 'celery', metric: 'queue_depth', labels: { queue: 'celery' }, value: () => 0 }]))
    expect(empty.findings.map(x => x.id)).not.toContain('celery-workers-missing')
    expect(empty.notes?.find(n => n.id === 'celery-workers-missing')?.text).toMatch(/queues were empty in all \d+ samples/)
    // without the broker's queue depth (Flower only) the finding stands and says what was not measured
    const h = healthy()
    const unknown = run(withSeries({ ...h, series: h.series!.filter(x => x.metric !== 'queue_depth') }, [none])).findings.find(x => x.id === 'celery-workers-missing')!
    expect(unknown.unmeasured?.join(' ')).toMatch(/queue depth/)
  })
})
