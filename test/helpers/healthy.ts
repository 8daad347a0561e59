/**
 * The synthetic baseline every detector test starts from: a healthy system under 20 users
 * (a 10 s ramp, then 60 s steady), every probe present and quiet, the pg probe's sessions
 * told apart by the target's processes. A test changes the series that make its bottleneck.
 */
import { diagnose } from '../../correlate/diagnose.js'
import type { Diagnosis } from '../../shared/types.js'
import type { SyntheticOptions, SyntheticSeries } from './synthetic.js'
import { noisy, ramp, rng, synthetic } from './synthetic.js'

export const SECONDS = 70
export const RAMP = 10

/** the pg probe's account of whose sessions it counted (sessions from the target's sockets) */
export const ATTRIBUTED = { method: 'processes', detail: 'sessions whose client port is a socket of the target\'s processes', owners: { app: { peakSessions: 8, processes: ['python3 -m uvicorn app:app'] }, workers: { peakSessions: 4, processes: ['python3 -m celery worker'] } } }

export function healthy (seed = 1): SyntheticOptions {
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
      pg: {
        maxConnections: 100,
        pgStatStatements: 'available',
        attribution: ATTRIBUTED,
        topQueries: [{ query: 'SELECT * FROM users WHERE id = $1', calls: 900, meanMs: 0.2, totalMs: 180 }, { query: 'INSERT INTO messages (user_id, text) VALUES ($1, $2)', calls: 300, meanMs: 0.5, totalMs: 150 }]
      }
    },
    expectations: { failureRatio: 0.01, p95: 500, p99: 1000 },
    seed
  }
}

/** The options with some series replaced (same probe, metric and labels) or added. */
export function withSeries (o: SyntheticOptions, replace: SyntheticSeries[]): SyntheticOptions {
  const keyOf = (s: SyntheticSeries): string => `${s.probe}.${s.metric}${JSON.stringify(s.labels ?? {})}`
  const keys = new Set(replace.map(keyOf))
  return { ...o, series: [...(o.series ?? []).filter(s => !keys.has(keyOf(s))), ...replace] }
}

/** The options with some pg facts replaced. */
export function withPgFacts (o: SyntheticOptions, facts: Record<string, unknown>): SyntheticOptions {
  return { ...o, facts: { ...o.facts, pg: { ...o.facts?.pg, ...facts } } }
}

export const run = (o: SyntheticOptions): Diagnosis => diagnose(synthetic(o))
export const ids = (o: SyntheticOptions): string[] => run(o).findings.map(f => f.id)
