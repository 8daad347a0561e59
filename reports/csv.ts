/**
 * CSV files with Locust's names and columns, so tools written for `locust --csv PREFIX`
 * keep working: PREFIX_stats.csv, PREFIX_stats_history.csv, PREFIX_failures.csv and
 * PREFIX_exceptions.csv. Times in milliseconds; a row without requests has "N/A" percentiles.
 *
 * The history has one row per second of the run (from the result's timeline) for every
 * request name and the "Aggregated" row, like Locust's --csv-full-history: Requests/s,
 * Failures/s and the percentiles are those of that second; the Total columns are cumulative.
 */
import { LOCUST_PERCENTILES, createHistogram, decodeCompressed, decodeHistogram } from '../shared/hist.js'
import type { Histogram } from '../shared/hist.js'
import type { RunResult } from '../shared/types.js'
import { tableStats } from './stats.js'

export const PERCENTILE_COLUMNS = LOCUST_PERCENTILES.map(p => `${p}%`)

export const STATS_COLUMNS = ['Type', 'Name', 'Request Count', 'Failure Count', 'Median Response Time', 'Average Response Time', 'Min Response Time', 'Max Response Time', 'Average Content Size', 'Requests/s', 'Failures/s', ...PERCENTILE_COLUMNS]

export const HISTORY_COLUMNS = ['Timestamp', 'User Count', 'Type', 'Name', 'Requests/s', 'Failures/s', ...PERCENTILE_COLUMNS, 'Total Request Count', 'Total Failure Count', 'Total Median Response Time', 'Total Average Response Time', 'Total Min Response Time', 'Total Max Response Time', 'Total Average Content Size']

export const FAILURES_COLUMNS = ['Method', 'Name', 'Error', 'Occurrences']

export const EXCEPTIONS_COLUMNS = ['Count', 'Message', 'Traceback', 'Nodes']

type Cell = string | number

/** RFC 4180 quoting, as Python's csv module writes it (quotes only when needed). */
export function csvCell (v: Cell): string {
  const s = typeof v === 'number' ? num(v) : v
  return /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

function num (v: number): string {
  if (!Number.isFinite(v)) return 'N/A'
  if (Number.isInteger(v)) return String(v)
  return String(Math.round(v * 100) / 100)
}

export function csvLines (rows: Cell[][]): string {
  return rows.map(r => r.map(csvCell).join(',')).join('\r\n') + '\r\n'
}

function percentiles (h: Histogram): Cell[] {
  if (h.totalCount === 0) return PERCENTILE_COLUMNS.map(() => 'N/A')
  return LOCUST_PERCENTILES.map(p => h.getValueAtPercentile(p) / 1000)
}

export function statsCsv (result: RunResult): string {
  const { rows, overall } = tableStats(result)
  const out: Cell[][] = [STATS_COLUMNS]
  const byKey = new Map(result.totals.entries.map(e => [e.key, e]))
  const all = [...rows.map(r => ({ r, hist: byKey.get(r.key)?.hist ?? '' })), { r: { ...overall, type: '', name: 'Aggregated' }, hist: result.totals.overall.hist }]
  for (const { r, hist } of all) {
    const h = decodeHistogram(hist)
    out.push([r.type, r.name, r.requests, r.failures, r.requests ? r.p50 : 0, r.avgMs, r.minMs, r.maxMs, r.avgBytes, r.rps, r.failuresPerS, ...percentiles(h)])
    h.destroy()
  }
  return csvLines(out)
}

export function historyCsv (result: RunResult): string {
  const out: Cell[][] = [HISTORY_COLUMNS]
  // running totals per row key ('' = Aggregated)
  const totals = new Map<string, { type: string; name: string; requests: number; failures: number; sumUs: number; bytes: number; minUs: number; maxUs: number; hist: Histogram }>()
  const names = new Map(result.totals.entries.map(e => [e.key, { type: e.type, name: e.name }]))
  const order = [...names.keys()].sort()
  for (const slice of result.timeline) {
    const keys: Array<[string, string, string]> = order.filter(k => slice.entries[k]).map(k => [k, names.get(k)!.type, names.get(k)!.name])
    keys.push(['', '', 'Aggregated'])
    for (const [key, type, name] of keys) {
      const e = key === '' ? slice.overall : slice.entries[key]!
      let tot = totals.get(key)
      if (!tot) {
        tot = { type, name, requests: 0, failures: 0, sumUs: 0, bytes: 0, minUs: Infinity, maxUs: 0, hist: createHistogram() }
        totals.set(key, tot)
      }
      // the slice's own histogram, not widened to the full range: history files of long
      // runs decode thousands of them
      const h = e.hist ? decodeCompressed(e.hist) : createHistogram()
      tot.requests += e.requests
      tot.failures += e.failures
      tot.sumUs += e.sumUs
      tot.bytes += e.bytes
      tot.maxUs = Math.max(tot.maxUs, e.maxUs)
      if (h.totalCount > 0) tot.minUs = Math.min(tot.minUs, h.minNonZeroValue)
      tot.hist.add(h)
      const current = percentiles(h)
      h.destroy()
      const median = tot.hist.totalCount ? tot.hist.getValueAtPercentile(50) / 1000 : 0
      out.push([
        slice.t, slice.users, type, name, e.requests, e.failures, ...current,
        tot.requests, tot.failures, median, tot.requests ? tot.sumUs / tot.requests / 1000 : 0,
        tot.minUs === Infinity ? 0 : tot.minUs / 1000, tot.maxUs / 1000, tot.requests ? tot.bytes / tot.requests : 0
      ])
    }
  }
  for (const t of totals.values()) t.hist.destroy()
  return csvLines(out)
}

export function failuresCsv (result: RunResult): string {
  const out: Cell[][] = [FAILURES_COLUMNS]
  for (const e of result.errors) out.push([e.type, e.name, e.message, e.count])
  return csvLines(out)
}

export function exceptionsCsv (result: RunResult): string {
  const out: Cell[][] = [EXCEPTIONS_COLUMNS]
  for (const x of result.exceptions) out.push([x.count, `${x.userClass}.${x.task}: ${x.message}`, x.stack ?? '', result.meta.machine.hostname])
  return csvLines(out)
}

/** {suffix: text} of the four files: "_stats.csv", ... */
export function locustCsvFiles (result: RunResult): Record<string, string> {
  return {
    '_stats.csv': statsCsv(result),
    '_stats_history.csv': historyCsv(result),
    '_failures.csv': failuresCsv(result),
    '_exceptions.csv': exceptionsCsv(result)
  }
}
