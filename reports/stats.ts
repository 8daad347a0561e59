/**
 * The statistics every output shows (terminal, CSV, HTML, Markdown, JUnit), computed once
 * from a result's encoded histograms.
 */
import { decodeHistogram, summarize } from '../shared/hist.js'
import type { LatencySummary } from '../shared/hist.js'
import type { EntryTotals, RunResult } from '../shared/types.js'

export interface RowStats extends LatencySummary {
  key: string
  type: string
  name: string
  requests: number
  failures: number
  failureRatio: number
  /** exact, not from the histogram */
  minMs: number
  maxMs: number
  avgMs: number
  rps: number
  failuresPerS: number
  avgBytes: number
}

export function runDurationS (result: RunResult): number {
  return Math.max(0.001, (result.meta.endedAt - result.meta.startedAt) / 1000)
}

export function rowStats (e: EntryTotals, durationS: number): RowStats {
  const h = decodeHistogram(e.hist)
  const s = summarize(h)
  h.destroy()
  return {
    ...s,
    key: e.key,
    type: e.type,
    name: e.name,
    requests: e.requests,
    failures: e.failures,
    failureRatio: e.requests ? e.failures / e.requests : 0,
    minMs: e.minUs / 1000,
    maxMs: e.maxUs / 1000,
    avgMs: e.requests ? e.sumUs / e.requests / 1000 : 0,
    rps: e.requests / durationS,
    failuresPerS: e.failures / durationS,
    avgBytes: e.requests ? e.bytes / e.requests : 0
  }
}

/** Rows sorted by name (requests first, flows after), plus the aggregated row. */
export function tableStats (result: RunResult): { rows: RowStats[]; overall: RowStats } {
  const d = runDurationS(result)
  const rows = result.totals.entries.map(e => rowStats(e, d))
  rows.sort((a, b) => Number(a.type === 'FLOW') - Number(b.type === 'FLOW') || a.name.localeCompare(b.name) || a.type.localeCompare(b.type))
  return { rows, overall: rowStats(result.totals.overall, d) }
}
