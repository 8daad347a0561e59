/**
 * The gate around a run: the non-loopback guard, the cost budget, the readiness items of the
 * checklist (monitoring, alert rules, rollback plan), `loadlens check` and `compare` as CI
 * steps, and a stress run that stops once its capacity is found.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, writeFileSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { prepareRun, runTest } from '../app/run.js'
import { checkReadiness } from '../app/readiness.js'
import { evaluateChecklist, checklistExitCode } from '../reports/checklist.js'
import { diagnose } from '../correlate/diagnose.js'
import { constant } from '../scenarios/define.js'
import { writeResult } from '../shared/files.js'
import { json, startServer } from './helpers/server.js'
import type { TestServer } from './helpers/server.js'
import { plan } from './helpers/scenario.js'
import { runCli } from './helpers/cli.js'
import { synthetic, ramp } from './helpers/synthetic.js'

let s: TestServer
let dir: string
let inflight = 0

beforeAll(async () => {
  s = await startServer((req, res) => {
    if (req.url === '/metrics') { res.end('# TYPE up gauge\nup 1\nhttp_requests_total 42\n'); return }
    if (req.url === '/rules') return json(res, 200, { status: 'success', data: { groups: [{ name: 'api', rules: [{ name: 'HighLatency', type: 'alerting' }, { name: 'r', type: 'recording' }] }] } })
    if (req.url === '/norules') return json(res, 200, { status: 'success', data: { groups: [] } })
    if (req.url === '/stress') {
      // fast until more than 12 requests are in flight at once (12 users without think time), then slow
      inflight++
      const delay = inflight > 12 ? 400 : 5
      setTimeout(() => { inflight--; res.end('ok') }, delay)
      return
    }
    res.end('ok')
  }, { record: false })
  dir = mkdtempSync(join(tmpdir(), 'loadlens-gate-'))
})
afterAll(async () => { await s.close() })

const quiet = { quiet: true, handleSignals: false, stdout: new PassThrough(), noHtml: true } as const

describe('the non-loopback guard', () => {
  const p = plan({ users: { U: { tasks: { a: async () => {} } } }, allowedHosts: ['staging.internal'] })
  it('refuses a host that is not loopback, saying why', async () => {
    await expect(prepareRun({ scenario: p, host: 'http://10.1.2.3:8080', users: 1, runTime: '1s' })).rejects.toThrow(/--host: refusing to send load to http:\/\/10\.1\.2\.3:8080: it is not loopback and not in the scenario's allowedHosts.*--allow-remote/)
  })
  it('accepts it with --allow-remote, and a host the scenario allows', async () => {
    await expect(prepareRun({ scenario: p, host: 'http://10.1.2.3:8080', users: 1, runTime: '1s', allowRemote: true })).resolves.toBeTruthy()
    await expect(prepareRun({ scenario: p, host: 'http://staging.internal', users: 1, runTime: '1s' })).resolves.toBeTruthy()
    await expect(prepareRun({ scenario: p, host: 'http://localhost:9', users: 1, runTime: '1s' })).resolves.toBeTruthy()
  })
  it('is exit 2 from the command line', async () => {
    const r = await runCli(['run', 'scenarios/example/scenario.ts', '--host', 'http://192.0.2.10', '-t', '1s', '--headless'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/refusing to send load/)
  })
})

describe('the cost budget', () => {
  it('--max-cost stops the run at the budget and the outputs say so', async () => {
    const p = plan({
      costs: { '/paid': 0.01, 'U.think': 0.005 },
      users: { U: { wait: constant(0.01), tasks: { think: async (u: any) => { await u.http.get('/paid') } } } }
    })
    const out = await runTest({ scenario: p, host: s.url, users: 5, spawnRate: 50, runTime: '30s', maxCost: 1, outDir: dir, ...quiet, quiet: false, stderr: new PassThrough() as unknown as NodeJS.WriteStream })
    const r = out.result
    expect(r.meta.stopReason).toBe('max-cost')
    expect(r.meta.endedAt - r.meta.startedAt).toBeLessThan(15_000)
    expect(r.cost!.total).toBeGreaterThanOrEqual(1)
    // users finish the request they had in flight: a few cents over at most
    expect(r.cost!.total).toBeLessThan(1.2)
    expect(r.cost!.byName['GET /paid']!.unit).toBe(0.01)
    expect(r.cost!.byName['TASK U.think']!.unit).toBe(0.005)
    expect(r.cost!.perUser).toBeCloseTo(r.cost!.total / 5, 5)
    const saved = JSON.parse(readFileSync(out.files.json!, 'utf8'))
    expect(saved.meta.stopMessage).toMatch(/cost budget of 1 reached/)
  })
})

describe('readiness (checklist items 8-10)', () => {
  it('passes a Prometheus endpoint that answers, alert rules and a written rollback plan', async () => {
    const rules = join(dir, 'alerts.yml')
    writeFileSync(rules, 'groups:\n  - name: api\n    rules:\n      - alert: HighErrorRate\n        expr: rate(errors[5m]) > 1\n      - alert: SlowP95\n        expr: p95 > 0.5\n')
    const plan2 = join(dir, 'rollback.md')
    writeFileSync(plan2, '# Rollback\n1. helm rollback api\n')
    const r = await checkReadiness({ monitoringUrl: `${s.url}/metrics`, errorTrackerDsn: 'https://abc123@sentry.example.com/42', alertRules: rules, rollbackPlan: plan2 })
    expect(r.monitoring).toMatchObject({ state: 'pass' })
    expect(r.monitoring!.evidence).toMatch(/answered with 2 samples.*error tracker is configured \(DSN for sentry\.example\.com, project 42\)/)
    expect(r.alerts).toEqual({ state: 'pass', evidence: `2 alert rules in ${rules}` })
    expect(r.rollback!.state).toBe('pass')
    const api = await checkReadiness({ alertRulesUrl: `${s.url}/rules` })
    expect(api.alerts!.evidence).toMatch(/1 alerting rules at/)
  })
  it('fails what is missing, empty or wrong, and leaves unconfigured items out', async () => {
    const empty = join(dir, 'empty.md')
    writeFileSync(empty, '  \n')
    const r = await checkReadiness({ monitoringUrl: 'http://127.0.0.1:9/metrics', errorTrackerDsn: 'not a dsn', alertRulesUrl: `${s.url}/norules`, rollbackPlan: empty })
    expect(r.monitoring!.state).toBe('fail')
    expect(r.monitoring!.evidence).toMatch(/did not answer.*DSN is not of the form/)
    expect(r.alerts).toMatchObject({ state: 'fail' })
    expect(r.rollback).toEqual({ state: 'fail', evidence: `${empty} is empty` })
    expect((await checkReadiness({ rollbackPlan: join(dir, 'nope.md') })).rollback!.evidence).toMatch(/does not exist/)
    expect(await checkReadiness({})).toEqual({})
  })
})

describe('the checklist on stored results', () => {
  it('marks advisory items, not-measured items, and gives the exit code', () => {
    const r = synthetic({ seconds: 40, users: ramp(10, 5), rps: () => 20, p50: () => 10, expectations: { failureRatio: 0, p95: 500 } })
    r.meta.readiness = { rollback: { state: 'fail', evidence: 'docs/rollback.md is empty' } }
    const items = evaluateChecklist(r)
    expect(items.map(i => i.id)).toEqual(['failures', 'latency', 'database', 'cache', 'memory', 'celery', 'logs', 'monitoring', 'alerts', 'rollback'])
    expect(items.find(i => i.id === 'failures')!.state).toBe('pass')
    expect(items.find(i => i.id === 'database')).toMatchObject({ state: 'not measured', evidence: 'no PostgreSQL probe (run with --pg URL)' })
    expect(checklistExitCode(items)).toBe(1)
    const advisory = evaluateChecklist(r, r.meta.readiness, ['rollback'])
    expect(advisory.find(i => i.id === 'rollback')).toMatchObject({ state: 'fail', required: false })
    expect(checklistExitCode(advisory)).toBe(0)
    expect(checklistExitCode(advisory, true)).toBe(1) // strict: required items not measured fail too
  })

  it('a log probe that could not read for a while in the steady state fails its item with the gap, not a pass', () => {
    const r = synthetic({
      seconds: 40, users: ramp(10, 5), rps: () => 20, p50: () => 10, expectations: { failureRatio: 0, p95: 500 },
      series: [{ probe: 'logs', metric: 'lines_per_s', labels: { level: 'info' }, value: (i) => (i >= 20 && i < 26 ? null : 5) }]
    })
    const t0 = r.timeline[0]!.t
    r.probes.status.find(x => x.probe === 'logs')!.gaps = [{ from: t0 + 20, to: t0 + 25, reason: 'the log command exited' }]
    r.diagnosis = diagnose(r)
    expect(evaluateChecklist(r).find(i => i.id === 'logs')).toMatchObject({ state: 'fail', evidence: 'the logs probe had no data for 6 s of the steady state (the log command exited)' })
    r.probes.status.find(s => s.probe === 'logs')!.gaps = []
    expect(evaluateChecklist(r).find(i => i.id === 'logs')!.state).toBe('pass')
  })

  it('loadlens check and compare gate a CI job', async () => {
    const good = synthetic({ seconds: 40, users: ramp(10, 5), rps: () => 20, p50: () => 10, expectations: { failureRatio: 0.01, p95: 500 } })
    const slow = synthetic({ seconds: 40, users: ramp(10, 5), rps: () => 20, p50: () => 300, p95: () => 700, expectations: { failureRatio: 0.01, p95: 500 } })
    const g = join(dir, 'good.json')
    const b = join(dir, 'slow.json')
    writeResult(g, good)
    writeResult(b, slow)
    const ok = await runCli(['check', g])
    expect(ok.code).toBe(0)
    expect(ok.stdout).toMatch(/PASS\s+2\. p95 and p99 within their targets/)
    const bad = await runCli(['check', b, '--junit', join(dir, 'checklist.xml'), '--md', join(dir, 'checklist.md')])
    expect(bad.code).toBe(1)
    expect(bad.stdout).toMatch(/FAIL\s+2\. p95 and p99/)
    // the README's CI-gate example: the checklist as JUnit XML and Markdown
    const xml = readFileSync(join(dir, 'checklist.xml'), 'utf8')
    expect(xml).toMatch(/<testsuite name="[^"]*checklist[^"]*" tests="\d+" failures="[1-9]/i)
    expect(xml).toMatch(/<testcase [^>]*name="[^"]*p95 and p99[^"]*"[^>]*>\s*<failure/)
    expect(readFileSync(join(dir, 'checklist.md'), 'utf8')).toMatch(/p95 and p99/)
    const plan2 = join(dir, 'rb.md')
    writeFileSync(plan2, 'roll back with helm\n')
    const withPlan = await runCli(['check', g, '--rollback-plan', plan2, '--json'])
    expect(JSON.parse(withPlan.stdout).find((i: any) => i.id === 'rollback').state).toBe('pass')
    const cmp = await runCli(['compare', g, b, '--fail-on-regression', '--md', join(dir, 'cmp.md')])
    expect(cmp.code).toBe(1)
    expect(cmp.stdout).toMatch(/API response p95 .* REGRESSION/)
    expect(readFileSync(join(dir, 'cmp.md'), 'utf8')).toMatch(/\*\*REGRESSION\*\*/)
    expect((await runCli(['compare', b, g, '--fail-on-regression'])).code).toBe(0)
    expect((await runCli(['check', join(dir, 'nope.json')])).code).toBe(2)
  })
})

describe('a stress profile', () => {
  it('ramps until the criteria break, stops, and reports the users it held', async () => {
    const p = plan({
      users: { U: { wait: constant(0), tasks: { a: async (u: any) => { await u.http.get('/stress') } } } },
      profiles: { stress: { stages: [{ duration: '40s', users: 40, spawnRate: 2 }], expect: { failureRatio: 0.01, p95: 200, findMaxUsers: true } } }
    })
    const out = await runTest({ scenario: p, profile: 'stress', host: s.url, outDir: dir, ...quiet })
    const r = out.result
    expect(r.meta.stopReason).toBe('capacity-found')
    expect(r.meta.endedAt - r.meta.startedAt).toBeLessThan(35_000)
    // about 12 requests at once is where the server slows down
    expect(r.diagnosis!.capacity!.maxUsers).toBeGreaterThanOrEqual(8)
    expect(r.diagnosis!.capacity!.maxUsers).toBeLessThanOrEqual(16)
    expect(r.diagnosis!.capacity!.reason).toMatch(/held up to \d+ concurrent users and broke/)
    expect(readdirSync(dir).some(f => f.endsWith('.json'))).toBe(true)
  }, 60_000)
})
