/**
 * Two results side by side, row by row (request type + name): p50, p95, p99, req/s and the
 * failure ratio of each, with the change. The web UI's simple compare; the baseline-vs-target
 * table with regressions flagged is `loadlens compare`.
 */
import type { RunResult } from '../shared/types.js'
import { tableStats } from './stats.js'
import type { RowStats } from './stats.js'

export interface SideBySideRow {
  key: string
  type: string
  name: string
  a?: Pick<RowStats, 'requests' | 'failureRatio' | 'rps' | 'p50' | 'p95' | 'p99'>
  b?: Pick<RowStats, 'requests' | 'failureRatio' | 'rps' | 'p50' | 'p95' | 'p99'>
  /** relative change b/a - 1 of p50, p95, p99 (undefined when either side lacks requests) */
  change: { p50?: number; p95?: number; p99?: number }
}

function pick (r: RowStats): NonNullable<SideBySideRow['a']> {
  return { requests: r.requests, failureRatio: r.failureRatio, rps: r.rps, p50: r.p50, p95: r.p95, p99: r.p99 }
}

function change (a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || !(a > 0)) return undefined
  return b / a - 1
}

export function sideBySide (a: RunResult, b: RunResult): { rows: SideBySideRow[]; overall: SideBySideRow } {
  const ta = tableStats(a)
  const tb = tableStats(b)
  const keys = new Map<string, { type: string; name: string }>()
  for (const r of [...ta.rows, ...tb.rows]) keys.set(r.key, { type: r.type, name: r.name })
  const row = (key: string, type: string, name: string, x?: RowStats, y?: RowStats): SideBySideRow => {
    const xa = x && x.requests > 0 ? pick(x) : undefined
    const yb = y && y.requests > 0 ? pick(y) : undefined
    return {
      key,
      type,
      name,
      a: x ? pick(x) : undefined,
      b: y ? pick(y) : undefined,
      change: { p50: change(xa?.p50, yb?.p50), p95: change(xa?.p95, yb?.p95), p99: change(xa?.p99, yb?.p99) }
    }
  }
  const rows = [...keys.entries()]
    .map(([k, v]) => row(k, v.type, v.name, ta.rows.find(r => r.key === k), tb.rows.find(r => r.key === k)))
    .sort((x, y) => x.name.localeCompare(y.name) || x.type.localeCompare(y.type))
  return { rows, overall: row('Aggregated', '', 'Aggregated', ta.overall, tb.overall) }
}
