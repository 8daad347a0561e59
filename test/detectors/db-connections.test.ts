/**
 * The three connection-count detectors on synthetic series: db-connections-growing (a leak
 * under constant load), db-connections-over-limit (the profile's dbConnectionsMax) and
 * db-connection-limit (the server near max_connections); and that a database shared with a
 * worker holding its own connections does not move the app's count.
 */
import { describe, expect, it } from 'vitest'
import { evaluateChecklist } from '../../reports/checklist.js'
import { synthetic } from '../helpers/synthetic.js'
import { healthy, ids, run, withSeries } from '../helpers/healthy.js'

describe('database connections', () => {
  it('finds the app\'s connections growing under constant load, critical when the profile requires them stable', () => {
    const o = withSeries(healthy(), [{ probe: 'pg', metric: 'connections', labels: { state: 'idle' }, value: (i) => 5 + Math.floor(i / 2) }])
    const f = run(o).findings.find(x => x.id === 'db-connections-growing')!
    expect(f.severity).toBe('warning')
    const stable = run({ ...o, expectations: { ...o.expectations, dbConnectionsStable: true } }).findings.find(x => x.id === 'db-connections-growing')!
    expect(stable.severity).toBe('critical')
    expect(stable.evidence.facts.join(' ')).toMatch(/the profile requires stable database connections/)
  })
  it('finds connections above the profile limit and near max_connections', () => {
    const o = withSeries({ ...healthy(), expectations: { dbConnectionsMax: 50 } }, [
      { probe: 'pg', metric: 'connections', labels: { state: 'idle' }, value: () => 60 },
      { probe: 'pg', metric: 'server_connections', value: () => 95 }
    ])
    const got = ids(o)
    expect(got).toContain('db-connections-over-limit')
    expect(got).toContain('db-connection-limit')
    // near the server's limit is a warning (no limit crossed, nobody slower); every slot taken is critical
    const all = (n: number) => run(withSeries(healthy(), [{ probe: 'pg', metric: 'server_connections', value: () => n }])).findings.find(f => f.id === 'db-connection-limit')!
    expect(all(95).severity).toBe('warning')
    expect(all(100).severity).toBe('critical')
  })
  it('a worker holding its own connections in the same database does not change the app\'s count', () => {
    // the probe counted the app's 8 sessions apart from the worker's 12 (pg.owner_sessions)
    const o = withSeries({ ...healthy(), expectations: { dbConnectionsMax: 15 } }, [
      { probe: 'pg', metric: 'owner_sessions', labels: { owner: 'app' }, value: () => 8 },
      { probe: 'pg', metric: 'owner_sessions', labels: { owner: 'workers' }, value: () => 12 }
    ])
    const r = synthetic(o)
    const d = run(o)
    expect(d.findings).toEqual([])
    // the app's own count (up to 8 idle and 1 active), not the 20 sessions of the database
    expect(d.measures!.dbConnections!.peak).toBeLessThanOrEqual(10)
    r.diagnosis = d
    const item = evaluateChecklist(r).find(i => i.id === 'database')!
    expect(item.state).toBe('pass')
    expect(item.evidence).toMatch(/^the app's sessions peaked at (9|10) connections/)
  })
})
