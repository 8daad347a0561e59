/**
 * The single-file HTML report: verdict and checklist first, then the findings (each with the
 * chart that proves it), the per-request table, the charts over time, failures, probe panels,
 * probe status and the run's metadata. uPlot, the chart script and the styles are inlined, so
 * the file works offline. Every value from the scenario, the target or the user is escaped by
 * the template (<%= %>) or embedded as script-safe JSON.
 */
import { createRequire } from 'node:module'
import type ejs from 'ejs'
import type { Finding, RunResult } from '../../shared/types.js'
import { formatDuration } from '../../shared/duration.js'
import { checkExpectations } from '../expectations.js'
import type { ExpectationCheck } from '../expectations.js'
import { tableStats } from '../stats.js'
import type { RowStats } from '../stats.js'
import { verdictOf } from '../verdict.js'
import type { Verdict } from '../verdict.js'
import { findingChart, gridOf, loadCharts, probePanels } from '../charts.js'
import type { ChartSpec, ProbePanel } from '../charts.js'
import { formatMs, formatNumber } from '../terminal/table.js'
import { inlineCode, readShipped, scriptJson, sourcePath, uplotAssets } from '../assets.js'

export interface FindingView {
  f: Finding
  chartId?: string
  symptoms: FindingView[]
}

export interface ReportView {
  result: RunResult
  title: string
  verdict: Verdict
  checks: ExpectationCheck[]
  rows: RowStats[]
  overall: RowStats
  durationS: number
  findings: FindingView[]
  loadCharts: ChartSpec[]
  probePanels: ProbePanel[]
  charts: Record<string, ChartSpec>
}

/** Everything the template shows, computed from the result (no HTML here). */
export function reportView (result: RunResult): ReportView {
  const checks = checkExpectations(result)
  const { rows, overall } = tableStats(result)
  const grid = gridOf(result)
  const charts: Record<string, ChartSpec> = {}
  const load = loadCharts(result, grid)
  for (const c of load) charts[c.id] = c
  const panels = probePanels(result, grid)
  for (const p of panels) for (const c of p.charts) charts[c.id] = c
  let n = 0
  const view = (f: Finding, withChart: boolean): FindingView => {
    const id = `finding-${n++}`
    const spec = withChart && f.evidence ? findingChart(result, f, id, grid) : undefined
    if (spec) charts[id] = spec
    return { f, chartId: spec ? id : undefined, symptoms: (f.symptoms ?? []).map(s => view(s, false)) }
  }
  const findings = (result.diagnosis?.findings ?? []).map(f => view(f, true))
  const m = result.meta
  return {
    result,
    title: `${m.scenario}${m.profile ? ` / ${m.profile}` : ''}`,
    verdict: verdictOf(result, checks),
    checks,
    rows,
    overall,
    durationS: Math.max(0, (m.endedAt - m.startedAt) / 1000),
    findings,
    loadCharts: load,
    probePanels: panels,
    charts
  }
}

// ---------------------------------------------------------------------------------------
// helpers the templates use

export const fmt = {
  ms: (v: number): string => formatMs(v),
  num: (v: number, digits = 0): string => formatNumber(v, digits),
  pct: (ratio: number, digits = 2): string => `${(ratio * 100).toFixed(digits)}%`,
  bytes: (b: number): string => {
    const u = ['B', 'KB', 'MB', 'GB', 'TB']
    let i = 0
    while (b >= 1024 && i < u.length - 1) { b /= 1024; i++ }
    return `${b.toFixed(b < 10 && i > 0 ? 1 : 0)} ${u[i]}`
  },
  time: (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC'),
  duration: (s: number): string => formatDuration(s),
  /** "+1:05" from the start of the run (t in epoch seconds) */
  rel: (t: number, startedAt: number): string => {
    const d = Math.round(t - Math.floor(startedAt / 1000))
    const sign = d < 0 ? '-' : '+'
    const a = Math.abs(d)
    return `${sign}${Math.floor(a / 60)}:${String(a % 60).padStart(2, '0')}`
  },
  value: (v: unknown): string => (typeof v === 'number' ? (Number.isInteger(v) ? formatNumber(v) : formatNumber(v, Math.abs(v) < 10 ? 3 : 1)) : typeof v === 'string' ? v : JSON.stringify(v, null, 1)),
  json: (v: unknown): string => JSON.stringify(v, null, 2) ?? '',
  stages: (r: RunResult): string => {
    const m = r.meta.model
    if (m.kind === 'closed') return m.stages.map(s => `${formatDuration(s.durationS)} → ${s.users} users${s.spawnRate ? ` @ ${s.spawnRate}/s` : ''}`).join(', ')
    return `from ${m.startRate}/s: ${m.stages.map(s => `${formatDuration(s.durationS)} → ${s.rate}/s`).join(', ')} (VUs ${m.preAllocatedVUs}..${m.maxVUs})`
  }
}

const TEMPLATE = 'templates/report.ejs'
let compiled: ejs.TemplateFunction | undefined

/** The page's own styles and scripts, inlined. */
export function pageAssets (): { css: string; js: string } {
  const u = uplotAssets()
  return {
    css: inlineCode(u.css + '\n' + readShipped(import.meta.url, 'assets/report.css')),
    js: inlineCode(u.js + '\n' + readShipped(import.meta.url, 'assets/charts.js'))
  }
}

export interface RenderOptions {
  /** links shown in the header (the web UI's navigation); none in a file report */
  nav?: Array<{ href: string; label: string }>
  /** a line above the report (e.g. "diagnosis recomputed") */
  banner?: string
}

export function renderHtml (result: RunResult, options: RenderOptions = {}): string {
  const file = sourcePath(import.meta.url, TEMPLATE)
  // ejs loads here, not with the module: a run without an HTML report never loads it
  compiled ??= (createRequire(import.meta.url)('ejs') as typeof ejs).compile(readShipped(import.meta.url, TEMPLATE), { filename: file })
  const view = reportView(result)
  const assets = pageAssets()
  return compiled({
    v: view,
    r: result,
    m: result.meta,
    fmt,
    assets,
    chartsJson: scriptJson(view.charts),
    reportJs: inlineCode(readShipped(import.meta.url, 'assets/report.js')),
    nav: options.nav ?? [],
    banner: options.banner
  })
}
