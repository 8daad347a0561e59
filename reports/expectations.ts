/**
 * A profile's expectations checked against a result: the failure ratio and the latency
 * limits, overall and per request name. Each check says what was measured.
 */
import type { Expectations, LatencyLimits, RunResult } from '../shared/types.js'
import { tableStats } from './stats.js'
import type { RowStats } from './stats.js'
import { formatMs } from './terminal/table.js'

export interface ExpectationCheck {
  /** "overall p95", "GET /users/[id]/stats failure ratio" */
  label: string
  /** what the row is: "overall" or its key */
  row: string
  metric: 'failureRatio' | 'p50' | 'p90' | 'p95' | 'p99'
  limit: number
  actual: number
  pass: boolean
  /** "p95 412 ms < 500 ms" */
  text: string
}

const METRICS = ['p50', 'p90', 'p95', 'p99'] as const

function checkRow (row: RowStats, limits: LatencyLimits, label: string, key: string): ExpectationCheck[] {
  const out: ExpectationCheck[] = []
  if (limits.failureRatio !== undefined) {
    const actual = row.failureRatio
    const pass = limits.failureRatio === 0 ? row.failures === 0 : actual < limits.failureRatio
    const pct = (x: number): string => `${(x * 100).toFixed(2)}%`
    out.push({
      label: `${label} failure ratio`,
      row: key,
      metric: 'failureRatio',
      limit: limits.failureRatio,
      actual,
      pass,
      text: limits.failureRatio === 0
        ? `${row.failures} failures of ${row.requests} requests (none allowed)`
        : `failures ${pct(actual)} (${row.failures} of ${row.requests}) ${pass ? '<' : '>='} ${pct(limits.failureRatio)}`
    })
  }
  for (const m of METRICS) {
    const limit = limits[m]
    if (limit === undefined) continue
    const actual = row[m]
    const pass = row.requests > 0 && actual < limit
    out.push({
      label: `${label} ${m}`,
      row: key,
      metric: m,
      limit,
      actual,
      pass,
      text: row.requests === 0 ? `no requests measured (limit ${limit} ms)` : `${m} ${formatMs(actual)} ms ${pass ? '<' : '>='} ${limit} ms`
    })
  }
  return out
}

/** Finds the rows a byName key means: "GET /x" (a row key) or "/x" (every type of that name). */
function rowsFor (rows: RowStats[], name: string): RowStats[] {
  const exact = rows.filter(r => r.key === name)
  return exact.length ? exact : rows.filter(r => r.name === name)
}

export function checkExpectations (result: RunResult, expectations: Expectations | undefined = result.meta.expectations): ExpectationCheck[] {
  if (!expectations) return []
  const { rows, overall } = tableStats(result)
  const out = checkRow(overall, expectations, 'overall', 'overall')
  for (const [name, limits] of Object.entries(expectations.byName ?? {})) {
    const matched = rowsFor(rows, name)
    if (matched.length === 0) {
      for (const m of ['failureRatio', ...METRICS] as const) {
        const limit = limits[m]
        if (limit === undefined) continue
        out.push({ label: `${name} ${m === 'failureRatio' ? 'failure ratio' : m}`, row: name, metric: m, limit, actual: NaN, pass: false, text: `no request named "${name}" was made` })
      }
      continue
    }
    for (const row of matched) out.push(...checkRow(row, limits, row.key, row.key))
  }
  return out
}
