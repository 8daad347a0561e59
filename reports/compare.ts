/**
 * Run comparison: the seed's baseline-vs-target table (p50, p95, DB query time, cache hit
 * rate, cost per user, concurrent users held) and per-request percentiles, with deltas and
 * regressions beyond a tolerance flagged.
 */
import type { RunResult } from '../shared/types.js'
import { keyMetrics } from '../correlate/key-metrics.js'
import { tableStats } from './stats.js'
import { formatTable, formatMs } from './terminal/table.js'

export interface CompareOptions {
  /** relative change that counts as a regression (0.1 = 10 %) */
  tolerance?: number
}

export interface MetricDelta {
  label: string
  unit: 'ms' | 'ratio' | 'money' | 'users'
  base: number | null
  next: number | null
  /** next - base */
  delta: number | null
  /** (next - base) / base */
  change: number | null
  better: 'lower' | 'higher'
  regression: boolean
  improvement: boolean
}

export interface Comparison {
  base: { runId: string; label: string }
  next: { runId: string; label: string }
  tolerance: number
  metrics: MetricDelta[]
  rows: Array<{ key: string; p50: MetricDelta; p95: MetricDelta; p99: MetricDelta; failureRatio: MetricDelta }>
  regressions: string[]
}

/** changes smaller than these are noise whatever their share */
const FLOOR: Record<MetricDelta['unit'], number> = { ms: 2, ratio: 0.01, money: 0.0001, users: 1 }

function delta (label: string, unit: MetricDelta['unit'], better: 'lower' | 'higher', base: number | null, next: number | null, tolerance: number): MetricDelta {
  if (base === null || next === null) return { label, unit, base, next, delta: null, change: null, better, regression: false, improvement: false }
  const d = next - base
  const change = base === 0 ? (d === 0 ? 0 : Infinity * Math.sign(d)) : d / Math.abs(base)
  const worse = better === 'lower' ? d > 0 : d < 0
  const beyond = Math.abs(d) >= FLOOR[unit] && (unit === 'ratio' ? Math.abs(d) >= tolerance / 2 : Math.abs(change) >= tolerance)
  return { label, unit, base, next, delta: d, change, better, regression: worse && beyond, improvement: !worse && beyond && d !== 0 }
}

function label (r: RunResult): string {
  return `${r.meta.scenario}${r.meta.profile ? `/${r.meta.profile}` : ''} ${new Date(r.meta.startedAt).toISOString().replace('T', ' ').slice(0, 19)}`
}

export function compareResults (base: RunResult, next: RunResult, o: CompareOptions = {}): Comparison {
  const tol = o.tolerance ?? 0.1
  const a = keyMetrics(base)
  const b = keyMetrics(next)
  const metrics = [
    delta('API response p50', 'ms', 'lower', a.p50Ms, b.p50Ms, tol),
    delta('API response p95', 'ms', 'lower', a.p95Ms, b.p95Ms, tol),
    delta('DB query time (avg)', 'ms', 'lower', a.dbQueryMs, b.dbQueryMs, tol),
    delta('Cache hit rate', 'ratio', 'higher', a.cacheHitRate, b.cacheHitRate, tol),
    delta('Cost per user', 'money', 'lower', a.costPerUser, b.costPerUser, tol),
    delta('Concurrent users held', 'users', 'higher', a.usersHeld, b.usersHeld, tol)
  ]
  const sa = new Map(tableStats(base).rows.map(r => [r.key, r]))
  const sb = tableStats(next).rows
  const rows = sb.filter(r => sa.has(r.key)).map(r => {
    const x = sa.get(r.key)!
    return {
      key: r.key,
      p50: delta('p50', 'ms', 'lower', x.p50, r.p50, tol),
      p95: delta('p95', 'ms', 'lower', x.p95, r.p95, tol),
      p99: delta('p99', 'ms', 'lower', x.p99, r.p99, tol),
      failureRatio: delta('failures', 'ratio', 'lower', x.failureRatio, r.failureRatio, tol)
    }
  })
  const regressions = [
    ...metrics.filter(m => m.regression).map(m => `${m.label}: ${show(m.unit, m.base)} -> ${show(m.unit, m.next)}`),
    ...rows.flatMap(r => [r.p50, r.p95, r.p99, r.failureRatio].filter(m => m.regression).map(m => `${r.key} ${m.label}: ${show(m.unit, m.base)} -> ${show(m.unit, m.next)}`))
  ]
  return { base: { runId: base.meta.runId, label: label(base) }, next: { runId: next.meta.runId, label: label(next) }, tolerance: tol, metrics, rows, regressions }
}

export function show (unit: MetricDelta['unit'], v: number | null): string {
  if (v === null) return 'n/a'
  if (unit === 'ms') return `${formatMs(v)} ms`
  if (unit === 'ratio') return `${(v * 100).toFixed(1)}%`
  if (unit === 'money') return `$${v.toFixed(4)}`
  return String(Math.round(v))
}

function change (m: MetricDelta): string {
  if (m.delta === null) return ''
  if (m.change === null || !Number.isFinite(m.change)) return m.delta === 0 ? '=' : m.delta > 0 ? '+' : '-'
  const pctText = m.unit === 'ratio' ? `${m.delta >= 0 ? '+' : ''}${(m.delta * 100).toFixed(1)} pt` : `${m.change >= 0 ? '+' : ''}${(m.change * 100).toFixed(1)}%`
  return `${pctText}${m.regression ? '  REGRESSION' : m.improvement ? '  better' : ''}`
}

export function formatComparison (c: Comparison): string {
  const lines = [`Comparing ${c.next.label} (new) with ${c.base.label} (base), tolerance ${(c.tolerance * 100).toFixed(0)}%`, '']
  lines.push(formatTable(c.metrics, [
    { title: 'Metric', value: m => m.label, align: 'left' },
    { title: 'Base', value: m => show(m.unit, m.base) },
    { title: 'New', value: m => show(m.unit, m.next) },
    { title: 'Change', value: m => change(m), align: 'left' }
  ]))
  if (c.rows.length) {
    lines.push('')
    lines.push(formatTable(c.rows, [
      { title: 'Request', value: r => r.key, align: 'left', max: 48 },
      { title: 'p50', value: r => `${show('ms', r.p50.base)} -> ${show('ms', r.p50.next)}` },
      { title: 'p95', value: r => `${show('ms', r.p95.base)} -> ${show('ms', r.p95.next)}` },
      { title: 'p99', value: r => `${show('ms', r.p99.base)} -> ${show('ms', r.p99.next)}` },
      { title: 'Change p95', value: r => change(r.p95), align: 'left' }
    ]))
  }
  lines.push('', c.regressions.length ? `Regressions (${c.regressions.length}):\n${c.regressions.map(r => `  - ${r}`).join('\n')}` : 'No regression beyond the tolerance.')
  return lines.join('\n')
}

const esc = (s: string): string => s.replace(/[|<>&]/g, ch => ({ '|': '\\|', '<': '&lt;', '>': '&gt;', '&': '&amp;' }[ch]!))

export function comparisonMarkdown (c: Comparison): string {
  const lines = [`### loadlens: ${esc(c.next.label)} vs ${esc(c.base.label)}`, '', '| Metric | Base | New | Change |', '|---|---:|---:|---|']
  for (const m of c.metrics) lines.push(`| ${m.label} | ${show(m.unit, m.base)} | ${show(m.unit, m.next)} | ${change(m).replace('REGRESSION', '**REGRESSION**')} |`)
  if (c.rows.length) {
    lines.push('', '| Request | p50 | p95 | p99 | Change p95 |', '|---|---:|---:|---:|---|')
    for (const r of c.rows) lines.push(`| ${esc(r.key)} | ${show('ms', r.p50.next)} | ${show('ms', r.p95.next)} | ${show('ms', r.p99.next)} | ${change(r.p95).replace('REGRESSION', '**REGRESSION**')} |`)
  }
  lines.push('', c.regressions.length ? `**${c.regressions.length} regression(s)** beyond ${(c.tolerance * 100).toFixed(0)}%:` : `No regression beyond ${(c.tolerance * 100).toFixed(0)}%.`)
  for (const r of c.regressions) lines.push(`- ${esc(r)}`)
  return lines.join('\n') + '\n'
}

export function comparisonHtml (c: Comparison): string {
  const h = (s: string): string => s.replace(/[&<>"']/g, ch => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[ch]!))
  const row = (cells: string[], bad = false): string => `<tr${bad ? ' class="bad"' : ''}>${cells.map(x => `<td>${h(x)}</td>`).join('')}</tr>`
  return `<!doctype html><html><head><meta charset="utf-8"><title>loadlens compare</title><style>
body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}td:first-child,th:first-child{text-align:left}tr.bad td{background:#fde2e2}</style></head><body>
<h1>${h(c.next.label)} vs ${h(c.base.label)}</h1>
<table><tr><th>Metric</th><th>Base</th><th>New</th><th>Change</th></tr>${c.metrics.map(m => row([m.label, show(m.unit, m.base), show(m.unit, m.next), change(m)], m.regression)).join('')}</table>
<table><tr><th>Request</th><th>p50</th><th>p95</th><th>p99</th><th>Change p95</th></tr>${c.rows.map(r => row([r.key, `${show('ms', r.p50.base)} -> ${show('ms', r.p50.next)}`, `${show('ms', r.p95.base)} -> ${show('ms', r.p95.next)}`, `${show('ms', r.p99.base)} -> ${show('ms', r.p99.next)}`, change(r.p95)], r.p95.regression || r.p99.regression)).join('')}</table>
<p>${c.regressions.length ? `${c.regressions.length} regression(s) beyond ${(c.tolerance * 100).toFixed(0)}%` : 'No regression beyond the tolerance.'}</p></body></html>`
}
