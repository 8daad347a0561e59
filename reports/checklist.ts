/**
 * The seed's pre-deploy checklist, ticked from measurements. Each item is pass, fail or
 * not measured (saying what would measure it) and carries its evidence. Items 8-10 read the
 * readiness facts that the run gathered (monitoring endpoint, alert rules, rollback plan).
 */
import type { ChecklistId, ChecklistItem, Expectations, Finding, Readiness, RunResult, Series } from '../shared/types.js'
import { METRICS } from '../shared/metrics.js'
import { checkExpectations } from './expectations.js'
import { HIT_RATE_TARGET } from '../correlate/measures.js'

export { CHECKLIST_IDS } from '../shared/types.js'
export type { ChecklistId } from '../shared/types.js'

/** failure ratio allowed when the profile says nothing (the seed: < 1 %) */
const DEFAULT_FAILURE_RATIO = 0.01

/** finding ids of each item, for results diagnosed before findings named their checklist item */
const LEGACY_ITEMS: Partial<Record<ChecklistId, string[]>> = {
  database: ['db-connections-growing', 'db-connections-over-limit', 'db-connection-limit', 'pool-saturation', 'idle-in-transaction', 'lock-waits', 'slow-query'],
  cache: ['cache-hit-rate'],
  memory: ['memory-leak'],
  celery: ['celery-backlog', 'celery-workers-missing']
}

function allFindings (result: RunResult): Finding[] {
  const out: Finding[] = []
  const walk = (list: Finding[] | undefined): void => { for (const f of list ?? []) { out.push(f); walk(f.symptoms) } }
  walk(result.diagnosis?.findings)
  return out
}

function has (result: RunResult, probe: string, metric?: string): Series[] {
  return result.probes.series.filter(s => s.probe === probe && (metric === undefined || s.metric === metric))
}

function sumPoints (series: Series[], from?: number, to?: number): number {
  let s = 0
  for (const x of series) for (const [t, v] of x.points) if (v !== null && (from === undefined || (t >= from && t <= to!))) s += v
  return s
}

function steady (result: RunResult): { from: number; to: number } | undefined {
  const p = result.diagnosis?.phases.find(x => x.kind === 'steady')
  return p ? { from: p.from, to: p.to } : undefined
}

/** a probe gap of at least this many seconds in the steady state fails the probe's item: an outage is no pass */
const GAP_FAILS_S = 2

/** The probe's gaps inside the window, in seconds, with the first one's reason. */
function gapsIn (result: RunResult, probe: string, w: { from: number; to: number } | undefined): { seconds: number; text: string } | null {
  const st = result.probes.status.find(s => s.probe === probe)
  if (!st || !w) return null
  let seconds = 0
  let first: { from: number; to: number; reason: string } | undefined
  for (const g of st.gaps) {
    const a = Math.max(g.from, w.from)
    const b = Math.min(g.to, w.to)
    if (b < a) continue
    seconds += b - a + 1
    first ??= g
  }
  if (seconds < GAP_FAILS_S || !first) return null
  return { seconds, text: `the ${probe} probe had no data for ${seconds} s of the steady state (${first.reason})` }
}

function item (id: ChecklistId, title: string, state: ChecklistItem['state'], evidence: string, advisory: Set<string>): ChecklistItem {
  return { id, title, state, required: !advisory.has(id), evidence }
}

export function evaluateChecklist (result: RunResult, readiness: Readiness = result.meta.readiness ?? {}, advisoryIds: string[] = result.meta.advisory ?? []): ChecklistItem[] {
  const e: Expectations = result.meta.expectations ?? {}
  const advisory = new Set(advisoryIds)
  const findings = allFindings(result)
  const found = (...ids: string[]): Finding[] => findings.filter(f => ids.includes(f.id))
  /** the findings that fail an item: those the detectors marked with it */
  const failing = (id: ChecklistId): Finding[] => findings.filter(f => f.checklist ? f.checklist === id : (LEGACY_ITEMS[id] ?? []).includes(f.id))
  const measures = result.diagnosis?.measures
  const titles = (fs: Finding[]): string => fs.map(f => f.title).join('; ')
  const items: ChecklistItem[] = []
  const checks = checkExpectations(result, { ...e, failureRatio: e.failureRatio ?? DEFAULT_FAILURE_RATIO })

  // 1. failures
  const total = result.totals.overall
  const fr = checks.find(c => c.metric === 'failureRatio' && c.row === 'overall')!
  // a run that measured nothing, or whose every task run threw, has not passed anything
  const thrown = result.exceptions.reduce((a, x) => a + x.count, 0)
  const taskRuns = Object.values(result.totals.tasks).reduce((a, n) => a + n, 0)
  const taskThrows = result.exceptions.filter(x => x.task !== 'onStart' && x.task !== 'onStop').reduce((a, x) => a + x.count, 0)
  const example = result.exceptions[0] ? `, e.g. ${result.exceptions[0].task}: "${result.exceptions[0].message.slice(0, 120)}"` : ''
  const failuresTitle = e.failureRatio === 0 ? 'No failed requests' : `Failures under ${((e.failureRatio ?? DEFAULT_FAILURE_RATIO) * 100).toFixed(1)}%`
  if (total.requests === 0) items.push(item('failures', failuresTitle, 'fail', `no request was measured${thrown ? `; ${thrown} exceptions in tasks${example}` : ''}`, advisory))
  else if (taskRuns > 0 && taskThrows >= taskRuns) items.push(item('failures', failuresTitle, 'fail', `every task run threw an exception (${taskThrows} of ${taskRuns})${example}`, advisory))
  else items.push(item('failures', failuresTitle, fr.pass ? 'pass' : 'fail', fr.text + (checks.some(c => c.metric === 'failureRatio' && c.row !== 'overall' && !c.pass) ? `; ${checks.filter(c => c.metric === 'failureRatio' && c.row !== 'overall' && !c.pass).map(c => `${c.label}: ${c.text}`).join('; ')}` : ''), advisory))

  // 2. latency targets
  const lat = checks.filter(c => c.metric !== 'failureRatio')
  if (lat.length === 0) items.push(item('latency', 'p95 and p99 within their targets', 'not measured', 'the profile sets no latency targets (expect: { p95, p99 })', advisory))
  else {
    const failed = lat.filter(c => !c.pass)
    // measured latencies that include the generator's own delay are an upper bound: a pass
    // holds, a fail may be the generator's; either way the item says so
    const distorted = result.meta.distortion ? `; the generator's own event loop delayed the timing in ${result.meta.distortion.seconds} of ${result.meta.distortion.ofSeconds} seconds (up to ${Math.round(result.meta.distortion.worstLoopDelayP99Ms)} ms): latencies there include its own delay` : ''
    items.push(item('latency', 'p95 and p99 within their targets', failed.length ? 'fail' : 'pass', (failed.length ? failed : lat).map(c => `${c.label}: ${c.text}`).join('; ') + distorted, advisory))
  }

  // 3. database stable
  if (!has(result, 'pg').length) items.push(item('database', 'Database stable under load', 'not measured', 'no PostgreSQL probe (run with --pg URL)', advisory))
  else {
    const bad = failing('database')
    const deadlocks = sumPoints(has(result, 'pg', METRICS.pg.deadlocks))
    let peak = measures?.dbConnections?.peak
    if (peak === undefined) {
      const byT = new Map<number, number>()
      for (const s of has(result, 'pg', METRICS.pg.connections)) for (const [t, v] of s.points) if (v !== null) byT.set(t, (byT.get(t) ?? 0) + v)
      peak = byT.size ? Math.max(...byT.values()) : 0
    }
    const problems: string[] = []
    if (bad.length) problems.push(titles(bad))
    if (deadlocks > 0) problems.push(`${deadlocks} deadlocks`)
    if (e.dbConnectionsMax !== undefined && peak >= e.dbConnectionsMax && !found('db-connections-over-limit').length) problems.push(`${peak} connections, limit ${e.dbConnectionsMax}`)
    const gap = gapsIn(result, 'pg', measures?.window ?? steady(result))
    if (gap) problems.push(gap.text)
    items.push(item('database', 'Database stable under load', problems.length ? 'fail' : 'pass',
      problems.length ? problems.join('; ') : `${measures?.dbConnections ? measures.dbConnections.attribution.split(':')[0] : 'the sessions'} peaked at ${peak} connections and did not grow through the steady state${e.dbConnectionsMax !== undefined ? ` (limit ${e.dbConnectionsMax})` : ''}; no deadlocks, no pool, query or transaction problems`, advisory))
  }

  // 4. cache hit rate
  const hits = has(result, 'redis', METRICS.redis.hitsPerS)
  const misses = has(result, 'redis', METRICS.redis.missesPerS)
  const min = e.cacheHitRateMin ?? HIT_RATE_TARGET
  if (!hits.length) items.push(item('cache', `Redis cache hit rate above ${Math.round(min * 100)}%`, 'not measured', 'no Redis probe (run with --redis URL)', advisory))
  else {
    // the diagnosis's figure (steady state after warm-up), so both say the same number
    const c = measures ? measures.cache : undefined
    const w = steady(result)
    const h = measures ? c?.hits ?? 0 : sumPoints(hits, w?.from, w?.to)
    const m = measures ? c?.misses ?? 0 : sumPoints(misses, w?.from, w?.to)
    const bad = failing('cache')
    const gap = gapsIn(result, 'redis', measures?.window ?? steady(result))
    if (gap) items.push(item('cache', `Redis cache hit rate above ${Math.round(min * 100)}%`, 'fail', gap.text, advisory))
    else if (h + m === 0) items.push(item('cache', `Redis cache hit rate above ${Math.round(min * 100)}%`, 'not measured', 'Redis saw no key lookups during the steady state', advisory))
    else if (c?.warming && h / (h + m) < min && c.warming.lastRate >= min && !bad.length) {
      items.push(item('cache', `Redis cache hit rate above ${Math.round(min * 100)}%`, 'pass', `the cache was still filling and reached ${(c.warming.lastRate * 100).toFixed(1)}% in the last third of the steady state (${(c.warming.firstRate * 100).toFixed(1)}% in the first, ${(h / (h + m) * 100).toFixed(1)}% over it)`, advisory))
    } else if (c?.warming && h / (h + m) < min && !bad.length) {
      items.push(item('cache', `Redis cache hit rate above ${Math.round(min * 100)}%`, 'not measured', `the cache was still filling: hit rate ${(c.warming.firstRate * 100).toFixed(1)}% in the first third of the steady state, ${(c.warming.lastRate * 100).toFixed(1)}% in the last (${(h / (h + m) * 100).toFixed(1)}% over it): run longer, or warm the cache first`, advisory))
    } else {
      const rate = h / (h + m)
      const ok = rate >= min && !bad.length
      items.push(item('cache', `Redis cache hit rate above ${Math.round(min * 100)}%`, ok ? 'pass' : 'fail', `hit rate ${(rate * 100).toFixed(1)}% over the steady state after warm-up (${Math.round(h)} hits, ${Math.round(m)} misses)${bad.length ? `: ${titles(bad)}` : ''}`, advisory))
    }
  }

  // 5. memory leaks
  if (!has(result, 'target', METRICS.target.rss).length) items.push(item('memory', 'No memory leaks', 'not measured', 'no target process probe (run with --target-pid or --target-process)', advisory))
  else {
    const leak = failing('memory')
    const skipped = result.diagnosis?.skipped?.find(s => s.id === 'memory-leak')
    const gap = gapsIn(result, 'target', measures?.window ?? steady(result))
    if (leak.length) items.push(item('memory', 'No memory leaks', 'fail', titles(leak), advisory))
    else if (gap) items.push(item('memory', 'No memory leaks', 'fail', gap.text, advisory))
    else if (skipped) items.push(item('memory', 'No memory leaks', 'not measured', skipped.reason, advisory))
    else items.push(item('memory', 'No memory leaks', 'pass', "the target's memory did not keep rising through the steady state", advisory))
  }

  // 6. Celery
  if (!has(result, 'celery').length) items.push(item('celery', 'Celery workers process their tasks', 'not measured', 'no Celery probe (run with --celery-broker URL)', advisory))
  else {
    const bad = failing('celery')
    const gap = gapsIn(result, 'celery', measures?.window ?? steady(result))
    const online = has(result, 'celery', METRICS.celery.workersOnline)
    const ok = sumPoints(has(result, 'celery', METRICS.celery.succeededPerS))
    const workers = online.length ? Math.max(0, ...online.flatMap(s => s.points.map(p => p[1] ?? 0))) : 0
    const problems: string[] = []
    if (bad.length) problems.push(titles(bad))
    if (workers === 0) problems.push('no worker answered')
    if (gap) problems.push(gap.text)
    items.push(item('celery', 'Celery workers process their tasks', problems.length ? 'fail' : 'pass',
      problems.length ? problems.join('; ') : `${workers} worker${workers === 1 ? '' : 's'} online, the queue did not grow${ok ? `, ${Math.round(ok)} tasks succeeded` : ''}`, advisory))
  }

  // 7. logs
  const logSeries = has(result, 'logs', METRICS.logs.linesPerS)
  const logStatus = result.probes.status.find(s => s.probe === 'logs')
  if (!logSeries.length && (!logStatus || logStatus.state === 'not configured' || logStatus.state === 'failed')) items.push(item('logs', 'Logs hold no critical errors', 'not measured', 'no log probe (run with --log FILE or --log-command)', advisory))
  else {
    const count = (level: string): number => sumPoints(logSeries.filter(s => s.labels?.level === level))
    const critical = count('critical')
    const errors = count('error')
    const tracebacks = count('traceback')
    const examples = logStatus?.facts?.examples as Record<string, Array<string | { line: string }>> | undefined
    const text = (x: string | { line: string }): string => (typeof x === 'string' ? x : x.line)
    const sample = examples ? [...(examples.critical ?? []), ...(examples.error ?? [])].slice(0, 2).map(x => `"${text(x).slice(0, 120)}"`).join(', ') : ''
    const bad = critical + errors + tracebacks > 0
    // lines written while the probe could not read them were not seen: no pass for that window
    const gap = gapsIn(result, 'logs', measures?.window ?? steady(result))
    const problems: string[] = []
    if (bad) problems.push(`${Math.round(critical)} critical, ${Math.round(errors)} error lines and ${Math.round(tracebacks)} tracebacks during the run${sample ? `, e.g. ${sample}` : ''}`)
    if (gap) problems.push(gap.text)
    items.push(item('logs', 'Logs hold no critical errors', problems.length ? 'fail' : 'pass',
      problems.length ? problems.join('; ') : 'no critical or error lines during the run', advisory))
  }

  // 8-10. readiness of the deployment around the target
  const ready = (id: 'monitoring' | 'alerts' | 'rollback', title: string, missing: string): void => {
    const r = readiness[id]
    items.push(item(id, title, r ? r.state : 'not measured', r ? r.evidence : missing, advisory))
  }
  ready('monitoring', 'Monitoring set up (Prometheus, error tracker)', 'not configured: give --monitoring-url (or --target-metrics) and/or --error-tracker-dsn')
  ready('alerts', 'Alerts set up', 'not configured: give --alert-rules FILE or --alert-rules-url URL')
  ready('rollback', 'Rollback plan documented', 'not configured: give --rollback-plan FILE')
  return items
}

/** 0 when no required item failed, 1 otherwise; `strict` also fails required items not measured. */
export function checklistExitCode (items: ChecklistItem[], strict = false): number {
  return items.some(i => i.required && (i.state === 'fail' || (strict && i.state === 'not measured'))) ? 1 : 0
}
