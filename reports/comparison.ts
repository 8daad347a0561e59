/**
 * Run comparison: the seed's baseline-vs-target table (p50, p95, DB query time, cache hit
 * rate, cost per user, concurrent users held) and per-request percentiles, with deltas and
 * regressions flagged only where the data support them:
 *   - a percentile is compared only when each side has at least MIN_TAIL requests on each
 *     side of it (a p95 needs 100 requests, a p99 500); otherwise "not enough data";
 *   - a latency change counts when it is beyond the tolerance and the two runs' 95 %
 *     confidence intervals of that percentile do not overlap (distribution-free: the order
 *     statistics around rank n*q, read from the exact HDR histograms of the whole run);
 *   - a failure-ratio change counts when it is beyond the tolerance and a two-proportion
 *     z-test puts it beyond chance (z >= 1.96).
 * Results of different scenarios or targets do not compare: compareResults says so
 * (`mismatch`), and `loadlens compare` refuses them unless --force.
 */
import type { EntryTotals, RunResult } from '../shared/types.js'
import { decodeHistogram } from '../shared/hist.js'
import type { Histogram } from '../shared/hist.js'
import { keyMetrics } from '../correlate/key-metrics.js'
import { tableStats } from './stats.js'
import type { ChartSpec } from './charts.js'
import { pageAssets } from './html/report.js'
import { inlineCode, readShipped, scriptJson } from './assets.js'

/** where the report's shipped assets are found (reports/html/) */
const reportUrl = new URL('./html/report.js', import.meta.url).href
import { formatTable, formatMs } from './terminal/table.js'

export interface CompareOptions {
  /** relative change that counts as a regression (0.1 = 10 %) */
  tolerance?: number
}

/** requests needed on each side of a percentile for it to be compared (a p95 needs 100 requests) */
export const MIN_TAIL = 5
/** requests a failure ratio needs on each side */
const MIN_REQUESTS_FOR_RATIO = 30
const Z95 = 1.96

/** What the data say about a change: beyond chance, within it, or too little to tell. */
export type Support = 'significant' | 'within-noise' | 'not-enough-data'

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
  /** how far the data support the change (percentiles and failure ratios; absent: not tested) */
  support?: Support
  /** why: "n = 18 and 32: a p95 needs 100 requests a side", "95 % intervals 16.1-18.9 and 17.4-21.0 ms overlap" */
  why?: string
}

export interface Comparison {
  base: { runId: string; label: string }
  next: { runId: string; label: string }
  /** what makes the two results not comparable (different scenarios or targets); empty when they compare */
  mismatch: string[]
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

/** The q-quantile (0..1) of a histogram with its 95 % confidence interval, in ms, from the order statistics around rank n*q. */
export function quantileInterval (h: Histogram, q: number): { n: number; value: number; lo: number; hi: number } {
  const n = h.totalCount
  const at = (rank: number): number => h.getValueAtPercentile(Math.min(100, Math.max(0, (rank / n) * 100))) / 1000
  const se = Math.sqrt(n * q * (1 - q))
  return { n, value: h.getValueAtPercentile(q * 100) / 1000, lo: at(Math.floor(n * q - Z95 * se)), hi: at(Math.ceil(n * q + Z95 * se)) }
}

const round1 = (v: number): string => (Math.round(v * 10) / 10).toString()

/** Judges a percentile change between two rows (histograms of the whole run) by the data. */
function judgeQuantile (m: MetricDelta, a: EntryTotals | undefined, b: EntryTotals | undefined, q: number): MetricDelta {
  if (!a || !b || m.delta === null) return m
  const need = Math.ceil(MIN_TAIL / Math.min(q, 1 - q))
  if (a.requests < need || b.requests < need) {
    return { ...m, regression: false, improvement: false, support: 'not-enough-data', why: `n = ${a.requests} and ${b.requests}: a p${Math.round(q * 100)} needs ${need} requests a side` }
  }
  const x = quantileInterval(decodeHistogram(a.hist), q)
  const y = quantileInterval(decodeHistogram(b.hist), q)
  const apart = y.lo > x.hi || y.hi < x.lo
  const why = `95 % intervals ${round1(x.lo)}-${round1(x.hi)} and ${round1(y.lo)}-${round1(y.hi)} ms ${apart ? 'do not overlap' : 'overlap'}`
  if (!apart) return { ...m, regression: false, improvement: false, support: 'within-noise', why }
  return { ...m, support: 'significant', why }
}

/** Judges a failure-ratio change by a two-proportion z-test. */
function judgeRatio (m: MetricDelta, a: EntryTotals | undefined, b: EntryTotals | undefined): MetricDelta {
  if (!a || !b || m.delta === null) return m
  if (a.requests < MIN_REQUESTS_FOR_RATIO || b.requests < MIN_REQUESTS_FOR_RATIO) {
    return { ...m, regression: false, improvement: false, support: 'not-enough-data', why: `n = ${a.requests} and ${b.requests}: a failure ratio needs ${MIN_REQUESTS_FOR_RATIO} requests a side` }
  }
  const p = (a.failures + b.failures) / (a.requests + b.requests)
  const se = Math.sqrt(p * (1 - p) * (1 / a.requests + 1 / b.requests))
  const z = se > 0 ? (b.failures / b.requests - a.failures / a.requests) / se : 0
  const why = `z = ${round1(z)} (${a.failures}/${a.requests} and ${b.failures}/${b.requests})`
  if (Math.abs(z) < Z95) return { ...m, regression: false, improvement: false, support: 'within-noise', why }
  return { ...m, support: 'significant', why }
}

/** What keeps two results from comparing: another scenario, another target. */
export function mismatchOf (base: RunResult, next: RunResult): string[] {
  const out: string[] = []
  if (base.meta.scenario !== next.meta.scenario) out.push(`different scenarios (${base.meta.scenario} and ${next.meta.scenario})`)
  if (base.meta.host !== next.meta.host) out.push(`different targets (${base.meta.host} and ${next.meta.host})`)
  return out
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
  // the whole run's p50 and p95 are judged on the aggregated histograms
  metrics[0] = judgeQuantile(metrics[0]!, base.totals.overall, next.totals.overall, 0.5)
  metrics[1] = judgeQuantile(metrics[1]!, base.totals.overall, next.totals.overall, 0.95)
  const sa = new Map(tableStats(base).rows.map(r => [r.key, r]))
  const ea = new Map(base.totals.entries.map(e => [e.key, e]))
  const eb = new Map(next.totals.entries.map(e => [e.key, e]))
  const sb = tableStats(next).rows
  const rows = sb.filter(r => sa.has(r.key)).map(r => {
    const x = sa.get(r.key)!
    const a = ea.get(r.key)
    const b = eb.get(r.key)
    return {
      key: r.key,
      p50: judgeQuantile(delta('p50', 'ms', 'lower', x.p50, r.p50, tol), a, b, 0.5),
      p95: judgeQuantile(delta('p95', 'ms', 'lower', x.p95, r.p95, tol), a, b, 0.95),
      p99: judgeQuantile(delta('p99', 'ms', 'lower', x.p99, r.p99, tol), a, b, 0.99),
      failureRatio: judgeRatio(delta('failures', 'ratio', 'lower', x.failureRatio, r.failureRatio, tol), a, b)
    }
  })
  const regressions = [
    ...metrics.filter(m => m.regression).map(m => `${m.label}: ${show(m.unit, m.base)} -> ${show(m.unit, m.next)}`),
    ...rows.flatMap(r => [r.p50, r.p95, r.p99, r.failureRatio].filter(m => m.regression).map(m => `${r.key} ${m.label}: ${show(m.unit, m.base)} -> ${show(m.unit, m.next)}`))
  ]
  return { base: { runId: base.meta.runId, label: label(base) }, next: { runId: next.meta.runId, label: label(next) }, mismatch: mismatchOf(base, next), tolerance: tol, metrics, rows, regressions }
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
  if (m.support === 'not-enough-data') return 'not enough data'
  if (m.change === null || !Number.isFinite(m.change)) return m.delta === 0 ? '=' : m.delta > 0 ? '+' : '-'
  const pctText = m.unit === 'ratio' ? `${m.delta >= 0 ? '+' : ''}${(m.delta * 100).toFixed(1)} pt` : `${m.change >= 0 ? '+' : ''}${(m.change * 100).toFixed(1)}%`
  return `${pctText}${m.regression ? '  REGRESSION' : m.improvement ? '  better' : m.support === 'within-noise' ? '  within noise' : ''}`
}

/** the line under a comparison: how regressions are judged, and what had too little data */
function judgedLine (c: Comparison): string {
  const few = c.rows.filter(r => [r.p50, r.p95, r.p99, r.failureRatio].some(m => m.support === 'not-enough-data')).length
  return `A change is a regression when it is beyond the tolerance and the data support it (95 % intervals of the percentile apart; failure ratios by a z-test)` +
    (few ? `; ${few} request row${few === 1 ? '' : 's'} had too few requests for some percentiles ("not enough data")` : '') + '.'
}

export function formatComparison (c: Comparison): string {
  const lines = [`Comparing ${c.next.label} (new) with ${c.base.label} (base), tolerance ${(c.tolerance * 100).toFixed(0)}%`, '']
  if (c.mismatch.length) lines.splice(1, 0, `warning: ${c.mismatch.join(' and ')}; compared anyway (--force)`)
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
  lines.push('', judgedLine(c))
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
  lines.push('', judgedLine(c))
  lines.push('', c.regressions.length ? `**${c.regressions.length} regression(s)** beyond ${(c.tolerance * 100).toFixed(0)}%:` : `No regression beyond ${(c.tolerance * 100).toFixed(0)}%.`)
  for (const r of c.regressions) lines.push(`- ${esc(r)}`)
  return lines.join('\n') + '\n'
}

/**
 * The comparison as a page: the tables, then A and B overlaid on the same charts (throughput,
 * p95, the main request names' p95 and the key probe series; see overlayCharts), drawn with
 * the report's uPlot charts, inlined (the page works offline).
 */
export function comparisonHtml (c: Comparison, charts: ChartSpec[] = []): string {
  const h = (s: string): string => s.replace(/[&<>"']/g, ch => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[ch]!))
  const row = (cells: string[], bad = false): string => `<tr${bad ? ' class="bad"' : ''}>${cells.map(x => `<td>${h(x)}</td>`).join('')}</tr>`
  const assets = charts.length ? pageAssets() : undefined
  const specs = Object.fromEntries(charts.map(ch => [ch.id, ch]))
  const chartBoxes = charts.map(ch => `<div class="chartbox"><div class="title">${h(ch.title)}</div><div class="chart" data-chart="${h(ch.id)}"></div></div>`).join('\n')
  return `<!doctype html><html><head><meta charset="utf-8"><title>loadlens compare</title>${assets ? `<style>${assets.css}</style>` : ''}<style>
body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}td:first-child,th:first-child{text-align:left}tr.bad td{background:#fde2e2}.why{color:#64748b;font-size:12px}</style></head><body>
<h1>${h(c.next.label)} vs ${h(c.base.label)}</h1>
${c.mismatch.length ? `<p class="bad">Warning: ${h(c.mismatch.join(' and '))}; compared anyway (--force).</p>` : ''}
<table><tr><th>Metric</th><th>Base</th><th>New</th><th>Change</th></tr>${c.metrics.map(m => row([m.label, show(m.unit, m.base), show(m.unit, m.next), change(m)], m.regression)).join('')}</table>
<table><tr><th>Request</th><th>p50</th><th>p95</th><th>p99</th><th>Change p95</th><th>Evidence (p95)</th></tr>${c.rows.map(r => row([r.key, `${show('ms', r.p50.base)} -> ${show('ms', r.p50.next)}`, `${show('ms', r.p95.base)} -> ${show('ms', r.p95.next)}`, `${show('ms', r.p99.base)} -> ${show('ms', r.p99.next)}`, change(r.p95), r.p95.why ?? ''], r.p95.regression || r.p99.regression)).join('')}</table>
<p>${h(judgedLine(c))}</p>
<p>${c.regressions.length ? `${c.regressions.length} regression(s) beyond ${(c.tolerance * 100).toFixed(0)}%` : 'No regression beyond the tolerance.'}</p>
${charts.length ? `<h2>A (dashed) and B (solid), from each run's start</h2>\n<div id="overlay">${chartBoxes}</div>
<script>${assets!.js}</script>
<script id="loadlens-charts" type="application/json">${scriptJson(specs)}</script>
<script>${inlineCode(readShipped(reportUrl, 'assets/report.js'))}</script>` : ''}
</body></html>`
}
