/**
 * Results for report tests: real short runs against loopback servers, and hand-built edge
 * cases (empty run, only failures, no probes, hostile and very long names, a finding with the
 * probe series behind it, a checklist).
 */
import { seriesId } from '../../shared/metrics.js'
import type { RunResult } from '../../shared/types.js'
import { runTest } from '../../app/run.js'
import { between } from '../../scenarios/define.js'
import { plan } from './scenario.js'
import { startServer } from './server.js'
import { T0, ramp, synthetic } from './synthetic.js'

export const HOSTILE = '<script>alert("x")</script>&"\'|`*_[md]'
export const LONG = `/very/long/${'segment-'.repeat(60)}end`

/** A real 3-second run against a loopback server: fast, slow and failing rows, one hostile name. */
export async function realRun (): Promise<RunResult> {
  const s = await startServer((req, res) => {
    const fail = req.url === '/fail' && Math.random() < 0.5
    setTimeout(() => { res.statusCode = fail ? 500 : 200; res.end('x'.repeat(req.url === '/slow' ? 2000 : 100)) }, req.url === '/slow' ? 15 : 1)
  }, { record: false })
  try {
    const p = plan({
      name: 'report-fixture',
      users: {
        U: {
          wait: between(0.01, 0.03),
          tasks: {
            fast: async (u: any) => { await u.http.get('/fast') },
            slow: async (u: any) => { await u.http.get('/slow') },
            fail: async (u: any) => { await u.http.get('/fail', { name: `/fail ${HOSTILE}` }) }
          }
        }
      },
      profiles: { short: { users: 6, spawnRate: 30, runTime: '3s', expect: { failureRatio: 0.01, p95: 1000, byName: { 'GET /fast': { p99: 500 } } } } }
    })
    const out = await runTest({ scenario: p, host: s.url, profile: 'short', quiet: true, noSave: true, handleSignals: false })
    return out.result
  } finally {
    await s.close()
  }
}

/** Nothing happened: no second, no request. */
export function emptyRun (): RunResult {
  const r = synthetic({ seconds: 0, users: () => 0, rps: () => 0, p50: () => 1 })
  r.totals.entries = []
  r.meta.runId = 'empty-run'
  r.meta.expectations = { failureRatio: 0, p95: 500 }
  return r
}

/** Every request failed (refused). */
export function onlyFailures (): RunResult {
  const r = synthetic({
    seconds: 5,
    users: () => 3,
    rps: () => 20,
    p50: () => 0.3,
    failures: () => 20,
    failure: { type: 'GET', name: '/down', kind: 'refused', message: 'ECONNREFUSED' },
    row: { type: 'GET', name: '/down' }
  })
  r.meta.runId = 'only-failures'
  r.meta.stopReason = 'error'
  r.meta.stopMessage = 'the target went away'
  return r
}

/** Probes, a finding resting on two probe series, a checklist, a hostile very long name. */
export function richRun (): RunResult {
  const n = 40
  const r = synthetic({
    seconds: n,
    users: ramp(20, 10),
    rps: i => 50 + i,
    p50: i => (i < 15 ? 20 : 20 + (i - 15) * 30),
    failures: i => (i > 30 ? 2 : 0),
    failure: { type: 'GET', name: `${LONG}${HOSTILE}`, kind: 'http', status: 503, message: `HTTP 503 ${HOSTILE}` },
    row: { type: 'GET', name: `${LONG}${HOSTILE}` },
    generator: () => ({ elu: 0.2, loopDelayP99Ms: 12 }),
    series: [
      { probe: 'pg', metric: 'connections', labels: { state: 'active' }, value: i => Math.min(5, 1 + Math.floor(i / 3)) },
      { probe: 'pg', metric: 'connections', labels: { state: 'idle' }, value: i => (i % 10 === 7 ? null : 2) },
      { probe: 'pg', metric: 'connections', labels: { state: 'idle in transaction' }, value: () => 0 },
      { probe: 'redis', metric: 'hit_rate', unit: 'ratio', value: i => 0.95 - i * 0.01 },
      { probe: 'celery', metric: 'queue_depth', labels: { queue: 'celery' }, value: i => i * 2 },
      { probe: 'celery', metric: 'active', labels: { worker: 'w1@host' }, value: () => 4 },
      { probe: 'host', metric: 'cpu', unit: 'percent', value: i => 30 + i },
      { probe: 'host', metric: 'mem_used', unit: 'bytes', value: i => 4e9 + i * 1e7 },
      { probe: 'target', metric: 'rss', unit: 'bytes', value: i => 2e8 + i * 3e6 },
      { probe: 'custom', metric: `weird ${HOSTILE}`, labels: { [`k${HOSTILE}`]: HOSTILE }, value: i => i }
    ],
    facts: { pg: { max_connections: 100, topQuery: `SELECT * FROM t WHERE x = '${HOSTILE}'` } },
    expectations: { failureRatio: 0.01, p95: 500, p99: 1000 }
  })
  r.meta.runId = 'rich-run'
  r.meta.scenario = `mluvme ${HOSTILE}`
  r.meta.profile = 'staging'
  r.meta.options = { command: 'run', users: 20, pg: 'postgres://app:***@127.0.0.1/app' }
  r.probes.status[0]!.gaps = [{ from: T0 + 7, to: T0 + 8, reason: `timeout ${HOSTILE}` }]
  r.probes.status.push({ probe: 'logs', target: '/var/log/app.log', state: 'failed', message: 'no such file', samples: 0, skippedTicks: 0, gaps: [] })
  r.exceptions = [{ userClass: 'U', task: `t${HOSTILE}`, message: `TypeError: ${HOSTILE}`, stack: `at x (${HOSTILE})`, count: 3, firstAt: T0 * 1000 }]
  const active = seriesId('pg', 'connections', { state: 'active' })
  r.diagnosis = {
    phases: [{ kind: 'ramp-up', from: T0, to: T0 + 9 }, { kind: 'steady', from: T0 + 10, to: T0 + n - 1 }],
    findings: [{
      id: 'pool-saturation',
      severity: 'critical',
      title: `The app's pool of 5 PostgreSQL connections is saturated ${HOSTILE}`,
      cause: 'Latency rises with load while active connections stay pinned at 5 and the database is idle.',
      evidence: {
        series: [active, seriesId('redis', 'hit_rate'), 'users', 'not.a.series'],
        window: { from: T0 + 15, to: T0 + n - 1 },
        values: { 'pool size': 5, 'p95 ms': 840.5, 'r(latency, users)': 0.93, note: HOSTILE },
        facts: [`active connections stayed at 5 for 25 s ${HOSTILE}`]
      },
      confidence: 0.9,
      recommendations: ['Enlarge the pool (SQLALCHEMY_POOL_SIZE).', `Check ${HOSTILE}`],
      symptoms: [{
        id: 'latency-regression', severity: 'warning', title: 'p95 above the profile\'s target', cause: 'explained by the pool', confidence: 0.8, recommendations: [],
        evidence: { series: ['p95'], window: { from: T0 + 20, to: T0 + n - 1 }, values: { 'p95 ms': 840 }, facts: [] }
      }]
    }],
    skipped: [{ id: 'celery-backlog', reason: 'no worker concurrency known' }]
  }
  r.checklist = [
    { id: 'failures', title: 'Failures under 1%', state: 'pass', required: true, evidence: '0.3% failed' },
    { id: 'latency', title: 'p95 and p99 within targets', state: 'fail', required: true, evidence: `p95 840 ms >= 500 ms ${HOSTILE}` },
    { id: 'cache', title: 'Redis cache hit rate above 85%', state: 'fail', required: false, evidence: 'hit rate 62%' },
    { id: 'logs', title: 'Logs hold no critical errors', state: 'not measured', required: true, evidence: 'no log probe (run with --log FILE)' }
  ]
  r.cost = { currency: 'USD', total: 1.5, perUser: 0.075, users: 20, byName: { [`stt ${HOSTILE}`]: { count: 100, unit: 0.015, total: 1.5 } }, budget: 5 }
  return r
}
