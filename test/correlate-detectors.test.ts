/**
 * Every detector on synthetic series: the shape of its bottleneck gives its finding, a
 * healthy system gives none (and near-threshold noise gives none either).
 */
import { describe, expect, it } from 'vitest'
import { diagnose } from '../correlate/diagnose.js'
import { join } from '../correlate/grid.js'
import { findPhases } from '../correlate/phases.js'
import { trend, spearman, quantile } from '../correlate/stats.js'
import type { SyntheticOptions, SyntheticSeries } from './helpers/synthetic.js'
import { noisy, ramp, rng, synthetic, T0 } from './helpers/synthetic.js'

const SECONDS = 70
const RAMP = 10

/** A healthy system under 20 users: every probe present and quiet. */
function healthy (seed = 1): SyntheticOptions {
  const n = noisy(seed, 0.1)
  const r = rng(seed + 7)
  const series: SyntheticSeries[] = [
    { probe: 'pg', metric: 'connections', labels: { state: 'active' }, value: () => (r() < 0.3 ? 1 : 0) },
    { probe: 'pg', metric: 'connections', labels: { state: 'idle' }, value: (i) => Math.min(8, 2 + Math.floor(i / 3)) },
    { probe: 'pg', metric: 'connections', labels: { state: 'idle in transaction' }, value: () => (r() < 0.04 ? 1 : 0) },
    { probe: 'pg', metric: 'server_connections', value: () => 12 },
    { probe: 'pg', metric: 'query_mean_ms', unit: 'ms', value: () => n(0.4) },
    { probe: 'pg', metric: 'calls_per_s', unit: 'per_s', value: (i) => n(30 * Math.min(1, i / RAMP)) },
    { probe: 'pg', metric: 'idle_in_xact_s', unit: 's', value: () => 0.001 },
    { probe: 'pg', metric: 'oldest_query_s', unit: 's', value: () => n(0.002) },
    { probe: 'pg', metric: 'waiting', labels: { wait_event_type: 'Lock' }, value: () => 0 },
    { probe: 'redis', metric: 'hits_per_s', unit: 'per_s', value: (i) => n(19 * Math.min(1, i / RAMP)) },
    { probe: 'redis', metric: 'misses_per_s', unit: 'per_s', value: (i) => n(1 * Math.min(1, i / RAMP)) },
    { probe: 'redis', metric: 'hit_rate', unit: 'ratio', value: () => 0.95 },
    { probe: 'redis', metric: 'expired_per_s', unit: 'per_s', value: () => 0 },
    { probe: 'target', metric: 'rss', unit: 'bytes', value: (i) => 60e6 + 20e6 * (1 - Math.exp(-i / 4)) + n(1e6) },
    { probe: 'target', metric: 'cpu', unit: 'percent', value: () => n(25) },
    { probe: 'host', metric: 'cpu', unit: 'percent', value: () => n(45) },
    { probe: 'host', metric: 'mem_available', unit: 'bytes', value: () => 4e9 },
    { probe: 'celery', metric: 'workers_online', value: () => 1 },
    { probe: 'celery', metric: 'queue_depth', labels: { queue: 'celery' }, value: () => (r() < 0.3 ? 1 : 0) },
    { probe: 'celery', metric: 'active', labels: { worker: 'w@h' }, value: () => (r() < 0.5 ? 1 : 0) },
    { probe: 'celery', metric: 'concurrency', labels: { worker: 'w@h' }, value: () => 4 }
  ]
  return {
    seconds: SECONDS,
    users: ramp(20, RAMP),
    rps: (i) => ramp(20, RAMP)(i) * 2,
    p50: () => 10,
    p95: () => 25,
    series,
    facts: {
      pg: { maxConnections: 100, topQueries: [{ query: 'SELECT * FROM users WHERE id = $1', calls: 900, meanMs: 0.2, totalMs: 180 }, { query: 'INSERT INTO messages (user_id, text) VALUES ($1, $2)', calls: 300, meanMs: 0.5, totalMs: 150 }] }
    },
    expectations: { failureRatio: 0.01, p95: 500, p99: 1000 },
    seed
  }
}

function withSeries (o: SyntheticOptions, replace: SyntheticSeries[]): SyntheticOptions {
  const keyOf = (s: SyntheticSeries): string => `${s.probe}.${s.metric}${JSON.stringify(s.labels ?? {})}`
  const keys = new Set(replace.map(keyOf))
  return { ...o, series: [...(o.series ?? []).filter(s => !keys.has(keyOf(s))), ...replace] }
}

const ids = (o: SyntheticOptions): string[] => diagnose(synthetic(o)).findings.map(f => f.id)

describe('healthy systems give no findings', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`seed ${seed}`, () => {
      const d = diagnose(synthetic(healthy(seed)))
      expect(d.findings).toEqual([])
      expect(d.unreliable).toBeUndefined()
      expect(d.skipped ?? []).toEqual([])
    })
  }
})

describe('phases', () => {
  it('finds ramp-up, steady state and ramp-down', () => {
    const r = synthetic({ seconds: 60, users: (i) => (i < 10 ? i * 2 : i < 50 ? 20 : Math.max(0, 20 - (i - 50) * 2)), rps: () => 10, p50: () => 10 })
    const p = findPhases(join(r), r.meta)
    expect(p.map(x => x.kind)).toEqual(['ramp-up', 'steady', 'ramp-down'])
    expect(p[1]!.from - T0).toBe(9)
    expect(p[1]!.to - T0).toBe(51) // 18 users is still 90 % of the peak
  })
})

describe('pool saturation', () => {
  const pool = (o: SyntheticOptions): SyntheticOptions => withSeries({
    ...o,
    // latency grows with the users beyond the pool of 2
    p50: (i) => 8 * Math.max(1, ramp(20, RAMP)(i) / 2),
    p95: (i) => 60 * Math.max(1, ramp(20, RAMP)(i) / 2)
  }, [
    { probe: 'pg', metric: 'connections', labels: { state: 'active' }, value: (i) => Math.min(2, ramp(20, RAMP)(i)) },
    { probe: 'pg', metric: 'connections', labels: { state: 'idle' }, value: () => 0 }
  ])
  it('names the pool size when connections are pinned while latency rises and the database is idle', () => {
    const d = diagnose(synthetic(pool(healthy())))
    expect(d.findings[0]!.id).toBe('pool-saturation')
    expect(d.findings[0]!.title).toBe("The app's pool of 2 PostgreSQL connections is saturated")
    expect(d.findings[0]!.evidence.values['pool size']).toBe(2)
    expect(d.findings[0]!.evidence.facts.join(' ')).toMatch(/reached 2 .* users and stayed there/)
    // the latency over the limit is a symptom of it
    expect(d.findings[0]!.symptoms?.map(s => s.id)).toContain('latency-limit')
  })
  it('does not fire for pinned connections when latency is fine (a pool that grew to its high-water mark)', () => {
    const o = withSeries(healthy(), [{ probe: 'pg', metric: 'connections', labels: { state: 'idle' }, value: () => 6 }])
    expect(ids(o)).toEqual([])
  })
  it('leaves it to the slow query when the database is the slow part', () => {
    const o = withSeries(pool(healthy()), [{ probe: 'pg', metric: 'query_mean_ms', unit: 'ms', value: () => 40 }])
    const d = diagnose(synthetic(o))
    expect(d.findings[0]!.id).toBe('slow-query')
    expect(d.findings.map(f => f.id)).not.toContain('pool-saturation')
  })
})

describe('transactions left open', () => {
  it('fires when sessions sit idle in transaction in most samples', () => {
    const r = rng(9)
    const o = withSeries(healthy(), [
      { probe: 'pg', metric: 'connections', labels: { state: 'idle in transaction' }, value: () => (r() < 0.8 ? 1 + Math.floor(r() * 3) : 0) },
      { probe: 'pg', metric: 'idle_in_xact_s', unit: 's', value: () => 0.1 + r() * 0.2 }
    ])
    const d = diagnose(synthetic(o))
    expect(d.findings[0]!.id).toBe('idle-in-transaction')
    expect(d.findings[0]!.title).toMatch(/Transactions are held open/)
  })
  it('ignores a healthy app caught between two statements now and then', () => {
    const r = rng(5)
    const o = withSeries(healthy(), [
      { probe: 'pg', metric: 'connections', labels: { state: 'idle in transaction' }, value: () => (r() < 0.2 ? 1 : 0) },
      { probe: 'pg', metric: 'idle_in_xact_s', unit: 's', value: () => 0.002 }
    ])
    expect(ids(o)).toEqual([])
  })
})

describe('slow queries and locks', () => {
  it('names the statement that dominates the database time', () => {
    const o = healthy()
    o.facts = { pg: { maxConnections: 100, topQueries: [{ query: 'SELECT count(*), avg(score) FROM messages WHERE user_id = $1', calls: 300, meanMs: 48, totalMs: 14400 }, { query: 'SELECT * FROM users WHERE id = $1', calls: 900, meanMs: 0.2, totalMs: 180 }] } }
    const d = diagnose(synthetic(o))
    expect(d.findings[0]!.id).toBe('slow-query')
    expect(d.findings[0]!.title).toMatch(/A slow query dominates the database time \(48 ms per call\): SELECT count\(\*\), avg\(score\) FROM messages/)
  })
  it('a statement that touched few blocks per call waited rather than executed: not a slow query', () => {
    // an UPDATE by primary key that waits for other writers' commits: 21 ms a call, 6 blocks
    const waiting = { query: 'UPDATE users SET last_seen_at = now() WHERE id = $1', calls: 300, meanMs: 21, totalMs: 6300, blocksPerCall: 6 }
    const o = healthy()
    o.facts = { pg: { maxConnections: 100, topQueries: [waiting, { query: 'SELECT * FROM users WHERE id = $1', calls: 900, meanMs: 0.2, totalMs: 180, blocksPerCall: 3 }] } }
    expect(ids(o)).not.toContain('slow-query')
    // the same time spent scanning thousands of blocks a call is slow execution
    const scanning = healthy()
    scanning.facts = { pg: { maxConnections: 100, topQueries: [{ ...waiting, query: 'SELECT count(*) FROM messages WHERE user_id = $1', blocksPerCall: 2400 }] } }
    expect(ids(scanning)).toContain('slow-query')
    // and a high mean statement time made by the waiting statement is not either
    const mean = withSeries(healthy(), [{ probe: 'pg', metric: 'query_mean_ms', unit: 'ms', value: () => 15 }])
    mean.facts = { pg: { maxConnections: 100, topQueries: [waiting] } }
    expect(ids(mean)).not.toContain('slow-query')
  })
  it('what pg_stat_activity saw a statement doing decides, when it saw it often enough', () => {
    const lookup = { query: 'SELECT * FROM users WHERE id = $1', calls: 900, meanMs: 0.2, totalMs: 180, blocksPerCall: 3 }
    // a function that burns CPU on a few rows: few blocks a call, yet seen on the CPU
    const burning = { query: 'SELECT score_pronunciation($1)', calls: 120, meanMs: 40, totalMs: 4800, blocksPerCall: 4, seenActive: { samples: 12, onCpu: 10, waits: { 'LWLock:BufferContent': 2 } } }
    const cpu = healthy()
    cpu.facts = { pg: { maxConnections: 100, topQueries: [burning, lookup] } }
    const d = diagnose(synthetic(cpu))
    expect(d.findings.map(f => f.id)).toContain('slow-query')
    const f = d.findings.find(x => x.id === 'slow-query')!
    expect(f.title).toMatch(/score_pronunciation/)
    expect(f.evidence.facts.join(' ')).toMatch(/saw it running in 12 samples: on the CPU in 10, waiting on LWLock:BufferContent in 2/)
    // reading data files is the statement's own work too
    const reading = healthy()
    reading.facts = { pg: { maxConnections: 100, topQueries: [{ ...burning, seenActive: { samples: 6, onCpu: 1, waits: { 'IO:DataFileRead': 5 } } }, lookup] } }
    expect(ids(reading)).toContain('slow-query')
    // a statement that touched many blocks but was seen waiting for a row lock or a WAL flush waited
    const locked = healthy()
    locked.facts = { pg: { maxConnections: 100, topQueries: [{ ...burning, blocksPerCall: 900, seenActive: { samples: 10, onCpu: 2, waits: { 'Lock:transactionid': 6, 'IO:WALSync': 2 } } }, lookup] } }
    expect(ids(locked)).not.toContain('slow-query')
    // seen in fewer than 3 samples: the blocks per call decide
    const rare = healthy()
    rare.facts = { pg: { maxConnections: 100, topQueries: [{ ...burning, seenActive: { samples: 2, onCpu: 2, waits: {} } }, lookup] } }
    expect(ids(rare)).not.toContain('slow-query')
  })
  it('reports lock waits', () => {
    const r = rng(3)
    const o = withSeries(healthy(), [{ probe: 'pg', metric: 'waiting', labels: { wait_event_type: 'Lock' }, value: () => (r() < 0.5 ? 2 : 0) }])
    expect(ids(o)).toContain('lock-waits')
  })
  it('names the lock the sessions wait on, from the wait events', () => {
    const r = rng(3)
    const waits = Array.from({ length: SECONDS }, () => (r() < 0.5 ? 2 : 0))
    const o = withSeries(healthy(), [
      { probe: 'pg', metric: 'waiting', labels: { wait_event_type: 'Lock' }, value: (i) => waits[i]! },
      { probe: 'pg', metric: 'wait_events', labels: { wait_event_type: 'Lock', wait_event: 'transactionid' }, value: (i) => Math.max(0, waits[i]! - (i % 3 === 0 ? 1 : 0)) },
      { probe: 'pg', metric: 'wait_events', labels: { wait_event_type: 'Lock', wait_event: 'relation' }, value: (i) => (waits[i]! > 0 && i % 3 === 0 ? 1 : 0) }
    ])
    const f = diagnose(synthetic(o)).findings.find(x => x.id === 'lock-waits')!
    expect(f.title).toMatch(/mostly transactionid\)$/)
    expect(f.cause).toMatch(/row locks \(another transaction updated/)
    expect(f.evidence.series).toContain('pg.wait_events{wait_event="transactionid",wait_event_type="Lock"}')
    expect(f.evidence.facts!.join('\n')).toMatch(/transactionid: waiting in \d+ samples[^]*relation: waiting in \d+ samples, up to 1 at once/)
  })
})

describe('database connections', () => {
  it('finds connections growing under constant load', () => {
    const o = withSeries(healthy(), [{ probe: 'pg', metric: 'connections', labels: { state: 'idle' }, value: (i) => 5 + Math.floor(i / 2) }])
    expect(ids(o)).toContain('db-connections-growing')
  })
  it('finds connections above the profile limit and near max_connections', () => {
    const o = withSeries({ ...healthy(), expectations: { dbConnectionsMax: 50 } }, [
      { probe: 'pg', metric: 'connections', labels: { state: 'idle' }, value: () => 60 },
      { probe: 'pg', metric: 'server_connections', value: () => 95 }
    ])
    const got = ids(o)
    expect(got).toContain('db-connections-over-limit')
    expect(got).toContain('db-connection-limit')
  })
})

describe('cache', () => {
  it('fires under 85 % and names an expiring TTL', () => {
    const o = withSeries(healthy(), [
      { probe: 'redis', metric: 'hits_per_s', unit: 'per_s', value: () => 8 },
      { probe: 'redis', metric: 'misses_per_s', unit: 'per_s', value: () => 12 },
      { probe: 'redis', metric: 'expired_per_s', unit: 'per_s', value: () => 10 }
    ])
    const d = diagnose(synthetic(o))
    expect(d.findings[0]!.id).toBe('cache-hit-rate')
    expect(d.findings[0]!.title).toMatch(/Cache entries expire before they are read again \(hit rate 40%\)/)
  })
  it('says so when every lookup misses', () => {
    const o = withSeries(healthy(), [
      { probe: 'redis', metric: 'hits_per_s', unit: 'per_s', value: () => 0 },
      { probe: 'redis', metric: 'misses_per_s', unit: 'per_s', value: () => 20 }
    ])
    expect(diagnose(synthetic(o)).findings[0]!.title).toMatch(/not serving reads/)
  })
  it('stays quiet at 90 % and with too few lookups to judge', () => {
    expect(ids(withSeries(healthy(), [{ probe: 'redis', metric: 'hits_per_s', value: () => 18 }, { probe: 'redis', metric: 'misses_per_s', value: () => 2 }]))).toEqual([])
    const few = diagnose(synthetic(withSeries(healthy(), [{ probe: 'redis', metric: 'hits_per_s', value: () => 0.2 }, { probe: 'redis', metric: 'misses_per_s', value: () => 0.5 }])))
    expect(few.findings).toEqual([])
    expect(few.skipped?.find(s => s.id === 'cache-hit-rate')?.reason).toMatch(/lookups/)
  })
})

describe('memory leak', () => {
  it('finds a steady rise with its rate and projection', () => {
    const n = noisy(4, 0.01)
    const o = withSeries(healthy(), [{ probe: 'target', metric: 'rss', unit: 'bytes', value: (i) => n(80e6 + i * 1e6) }])
    const d = diagnose(synthetic(o))
    expect(d.findings[0]!.id).toBe('memory-leak')
    expect(Number(d.findings[0]!.evidence.values['MB per min'])).toBeGreaterThan(55)
    expect(Number(d.findings[0]!.evidence.values['MB per min'])).toBeLessThan(65)
    expect(d.findings[0]!.evidence.facts.join(' ')).toMatch(/lasts about \d+ minutes/)
  })
  it('does not call a warm-up plateau a leak', () => {
    const o = withSeries(healthy(), [{ probe: 'target', metric: 'rss', unit: 'bytes', value: (i) => 60e6 + 60e6 * (1 - Math.exp(-i / 12)) }])
    expect(ids(o)).toEqual([])
  })
  it('does not call noise a leak', () => {
    const r = rng(11)
    const o = withSeries(healthy(), [{ probe: 'target', metric: 'rss', unit: 'bytes', value: () => 80e6 + r() * 6e6 }])
    expect(ids(o)).toEqual([])
  })
})

describe('CPU', () => {
  it('finds a CPU-bound target and folds the busy host into it', () => {
    const o = withSeries({ ...healthy(), p50: (i) => 10 * Math.max(1, ramp(20, RAMP)(i) / 3), p95: (i) => 30 * Math.max(1, ramp(20, RAMP)(i) / 3) }, [
      { probe: 'target', metric: 'cpu', unit: 'percent', value: (i) => Math.min(97, 10 * ramp(20, RAMP)(i)) },
      { probe: 'host', metric: 'cpu', unit: 'percent', value: () => 95 }
    ])
    const d = diagnose(synthetic(o))
    expect(d.findings[0]!.id).toBe('target-cpu')
    expect(d.findings[0]!.symptoms?.map(s => s.id)).toContain('host-cpu')
  })
  it('does not call a busy target that still answers fast CPU-bound', () => {
    const o = withSeries(healthy(), [{ probe: 'target', metric: 'cpu', unit: 'percent', value: () => 92 }])
    expect(ids(o)).toEqual([])
  })
  it('marks the run unreliable when the generator itself was saturated', () => {
    const o = { ...healthy(), generator: (i: number) => ({ elu: i > 30 && i < 40 ? 0.99 : 0.3, loopDelayP99Ms: 12 }) }
    const d = diagnose(synthetic(o))
    expect(d.unreliable?.reason).toMatch(/load generator was saturated in 9 of 70 seconds/)
    expect(d.findings).toEqual([])
  })
})

describe('Celery', () => {
  it('finds a growing backlog with every worker slot busy', () => {
    const o = withSeries(healthy(), [
      { probe: 'celery', metric: 'queue_depth', labels: { queue: 'celery' }, value: (i) => Math.max(0, (i - RAMP) * 3) },
      { probe: 'celery', metric: 'active', labels: { worker: 'w@h' }, value: () => 1 },
      { probe: 'celery', metric: 'concurrency', labels: { worker: 'w@h' }, value: () => 1 }
    ])
    const d = diagnose(synthetic(o))
    expect(d.findings[0]!.id).toBe('celery-backlog')
    expect(d.findings[0]!.cause).toMatch(/every worker slot is busy/)
  })
  it('finds a standing queue behind saturated workers (a closed-model load cannot grow it forever)', () => {
    const o = withSeries(healthy(), [
      { probe: 'celery', metric: 'queue_depth', labels: { queue: 'celery' }, value: (i) => Math.min(8, i) },
      { probe: 'celery', metric: 'active', labels: { worker: 'w@h' }, value: () => 1 },
      { probe: 'celery', metric: 'concurrency', labels: { worker: 'w@h' }, value: () => 1 }
    ])
    const d = diagnose(synthetic(o))
    expect(d.findings[0]!.id).toBe('celery-backlog')
    expect(d.findings[0]!.title).toMatch(/Celery workers are saturated: 8 tasks wait while all 1 worker slots are busy/)
  })
  it('finds a worker that disappears', () => {
    const o = withSeries(healthy(), [{ probe: 'celery', metric: 'workers_online', value: (i) => (i < 40 ? 1 : 0) }])
    expect(ids(o)).toContain('celery-workers-missing')
  })
})

describe('error bursts and latency limits', () => {
  it('clusters failures by row, kind and time', () => {
    const o: SyntheticOptions = { ...healthy(), failures: (i) => (i >= 30 && i < 40 ? 8 : 0), failure: { type: 'GET', name: '/api', kind: 'timeout', message: 'timeout after 30000 ms (no response headers)' } }
    const d = diagnose(synthetic(o))
    const burst = d.findings.find(f => f.id === 'error-burst')!
    expect(burst.title).toMatch(/^80 timeouts on GET \/api \(20% of its requests\) for 10 s from 00:30/)
  })
  it('reports latency over the profile limit on its own when no cause explains it', () => {
    const o = { ...healthy(), p50: () => 400, p95: () => 800 }
    const d = diagnose(synthetic(o))
    expect(new Set(d.findings.map(f => f.id))).toEqual(new Set(['latency-limit']))
    expect(d.findings.map(f => f.title).join('\n')).toMatch(/the overall p95 is \d+ ms, over the 500 ms limit/)
  })
})

describe('capacity', () => {
  it('reports the most users held within the criteria on a stress ramp', () => {
    // users rise by 2 per second to 300; past 120 users latency and failures explode
    const users = (i: number): number => Math.min(300, 2 * (i + 1))
    const o: SyntheticOptions = {
      seconds: 150,
      users,
      rps: (i) => Math.min(users(i), 120) * 2,
      p50: (i) => (users(i) <= 120 ? 30 : 30 * (users(i) / 120) ** 3),
      failures: (i) => (users(i) > 140 ? 20 : 0),
      failure: { type: 'GET', name: '/api', kind: 'http', status: 503, message: 'HTTP 503' },
      expectations: { failureRatio: 0.01, p95: 1000, findMaxUsers: true }
    }
    const d = diagnose(synthetic(o))
    expect(d.capacity!.maxUsers).toBeGreaterThanOrEqual(120)
    expect(d.capacity!.maxUsers).toBeLessThanOrEqual(160)
    expect(d.capacity!.reason).toMatch(/held up to \d+ concurrent users and broke/)
    expect(d.capacity!.knee!.users).toBeGreaterThan(120)
    expect(d.capacity!.knee!.users).toBeLessThan(200)
  })
})

describe('statistics', () => {
  it('Theil-Sen ignores an outlier and Mann-Kendall sees a trend', () => {
    const x = Array.from({ length: 50 }, (_, i) => i)
    const y = x.map(v => 2 * v + 1)
    y[10] = 1000
    const t = trend(x, y)
    expect(t.slope).toBeCloseTo(2, 5)
    expect(t.tau).toBeGreaterThan(0.9)
    expect(t.p).toBeLessThan(0.001)
    const flat = trend(x, x.map(() => 5))
    expect(flat.slope).toBe(0)
    expect(flat.p).toBeCloseTo(1, 5)
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 40])).toBeCloseTo(1)
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5)
  })
})
