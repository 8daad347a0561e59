/**
 * The Mluv.Me scenario against the healthy demo target, end to end: real API process, real
 * PostgreSQL, Redis and a real Celery worker (Debian's python3-celery) fed by the API in
 * Celery's own message protocol. A short development-profile run must run all five tasks in
 * about their weight ratio, register every user with its own telegram_id, have every
 * multipart upload accepted, finish voice flows through the worker, and pass the profile's
 * criteria.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { startDemoTarget } from '../demo/mluvme/launch.js'
import type { DemoTarget } from '../demo/mluvme/launch.js'
import { bundledScenario, loadScenario } from '../scenarios/load.js'
import { runTest } from '../app/run.js'
import type { RunTestOutcome } from '../app/run.js'
import { checkExpectations } from '../reports/expectations.js'
import { tableStats } from '../reports/stats.js'

const WEIGHTS: Record<string, number> = {
  process_voice_message: 10,
  get_user_stats: 3,
  get_user_profile: 2,
  get_saved_words: 2,
  get_streak_calendar: 1
}

describe('the Mluv.Me scenario against the demo target', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loadlens-demo-test-'))
  let target: DemoTarget
  let db: pg.Client
  let run: RunTestOutcome
  let debug: Record<string, any>

  beforeAll(async () => {
    target = await startDemoTarget({ quiet: true, celery: true, logDir: dir })
    db = new pg.Client({ connectionString: target.pgUrl })
    await db.connect()
    // 20 s: ~150 tasks, so the 1-in-18 task is missed with odds under 0.05 %
    run = await runTest({ scenario: bundledScenario('mluvme'), host: target.url, profile: 'development', runTime: '20s', quiet: true, outDir: dir, handleSignals: false })
    debug = await (await fetch(`${target.url}/debug/stats`)).json() as Record<string, any>
  }, 120_000)

  afterAll(async () => {
    await db?.end()
    await target?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('is the bundled mluvme scenario with the seed\'s weights, profiles and cost model', async () => {
    const plan = await loadScenario(bundledScenario('mluvme'))
    expect(plan.name).toBe('mluvme')
    const user = plan.classes.find(c => c.name === 'MluvMeUser')!
    expect(Object.fromEntries(user.tasks.map(t => [t.name, t.weight]))).toEqual(WEIGHTS)
    expect(plan.defaultProfile).toBe('development')
    expect(plan.profiles.development).toMatchObject({ users: 10, spawnRate: 2, runTime: '2m', expect: { failureRatio: 0, p95: 500, p99: 1000 } })
    expect(plan.profiles.staging).toMatchObject({ users: 100, spawnRate: 10, runTime: '10m', expect: { failureRatio: 0.01, p95: 500, p99: 1000, dbConnectionsStable: true } })
    expect(plan.profiles.production).toMatchObject({ users: 1000, spawnRate: 50, runTime: '30m', expect: { failureRatio: 0.01, p95: 1000, p99: 2000, noMemoryLeak: true, dbConnectionsMax: 50 } })
    expect(plan.profiles.stress).toMatchObject({ users: 2000, spawnRate: 100, runTime: '15m', expect: { findMaxUsers: true } })
    expect(plan.currency).toBe('USD')
    expect(plan.costs['voice message end-to-end']).toBeGreaterThan(0)
  })

  it('runs all five tasks in about their weight ratio', () => {
    const tasks = run.result.totals.tasks
    const total = Object.values(tasks).reduce((a, b) => a + b, 0)
    expect(total).toBeGreaterThan(80)
    const weightSum = Object.values(WEIGHTS).reduce((a, b) => a + b, 0)
    for (const [name, w] of Object.entries(WEIGHTS)) {
      const count = tasks[`MluvMeUser.${name}`] ?? 0
      expect(count, name).toBeGreaterThan(0)
      const p = w / weightSum
      const sd = Math.sqrt(p * (1 - p) / total)
      expect(Math.abs(count / total - p), `${name}: ${count} of ${total}`).toBeLessThan(Math.max(0.05, 4.5 * sd))
    }
  })

  it('registers every user once, with a telegram_id of its own', async () => {
    expect(run.result.meta.peakUsers).toBe(10)
    // a telegram_id seen before would have been answered 200 and counted as re-registered
    expect(debug.registered).toBe(10)
    expect(debug.reRegistered).toBe(0)
    const rows = await db.query<{ n: number; ids: number }>(
      "SELECT count(*)::int AS n, count(DISTINCT telegram_id)::int AS ids FROM users WHERE id IN (SELECT DISTINCT user_id FROM voice_jobs WHERE worker = $1)", [target.workerName])
    expect(rows.rows[0]!.n).toBeGreaterThan(0)
    expect(rows.rows[0]!.ids).toBe(rows.rows[0]!.n)
  })

  it('has every multipart upload accepted as a WAV file', () => {
    const upload = tableStats(run.result).rows.find(r => r.key === 'POST /api/v1/voice/process')!
    expect(upload.requests).toBeGreaterThan(20)
    expect(upload.failures).toBe(0)
    expect(debug.wavAccepted).toBe(debug.uploads)
    expect(debug.wavRejected).toBe(0)
    expect(debug.jobsPublished).toBe(debug.uploads)
  })

  it('completes voice flows through the real Celery worker', async () => {
    expect(target.celery).toBe(true)
    const flow = run.result.totals.entries.find(e => e.key === 'FLOW voice message end-to-end')!
    expect(flow.requests).toBeGreaterThan(20)
    expect(flow.failures).toBe(0)
    const done = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM voice_jobs WHERE worker = $1 AND status = 'done' AND message_id IS NOT NULL", [target.workerName])
    // every completed flow saw a job the worker finished and wrote back
    expect(done.rows[0]!.n).toBeGreaterThanOrEqual(flow.requests)
    const polls = run.result.totals.entries.find(e => e.key === 'GET /api/v1/voice/jobs/[id]')!
    expect(polls.requests).toBeGreaterThanOrEqual(flow.requests)
  })

  it('passes the development profile\'s criteria', () => {
    const checks = checkExpectations(run.result)
    expect(checks.map(c => c.metric).sort()).toEqual(['failureRatio', 'p95', 'p99'])
    for (const c of checks) expect(c.pass, `${c.label}: ${c.text}`).toBe(true)
    expect(run.result.errors).toEqual([])
    expect(run.result.exceptions).toEqual([])
  })

  it('answers a non-WAV upload 415 and an unknown user 404', async () => {
    const form = new FormData()
    form.set('user_id', '1')
    form.set('audio', new Blob([Buffer.from('not a wav file at all, just text that is long enough to pass')]), 'x.ogg')
    const res = await fetch(`${target.url}/api/v1/voice/process`, { method: 'POST', body: form })
    expect(res.status).toBe(415)
    expect((await fetch(`${target.url}/api/v1/users/2000000000/stats`)).status).toBe(404)
  })
})
