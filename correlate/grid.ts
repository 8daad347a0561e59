/**
 * The join: the load timeline and every probe series on one grid of seconds. A second the
 * probe could not sample stays null (a gap is a gap, never a zero).
 */
import type { RunResult, Series, Window } from '../shared/types.js'

export type Column = Array<number | null>

export interface RowColumns {
  requests: number[]
  failures: number[]
  p95: Column
}

export interface Grid {
  /** epoch seconds, one per second from the first to the last second of the load */
  t: number[]
  users: number[]
  requests: number[]
  failures: number[]
  /** null in a second without requests */
  p50: Column
  p95: Column
  p99: Column
  dropped: number[]
  /** per request row ("GET /x"), flows included */
  rows: Map<string, RowColumns>
  /** failures per second by error group id */
  errors: Map<string, number[]>
  /** probe series by id, aligned to t */
  series: Map<string, Column>
  meta: Map<string, Series>
  generator: { elu: Column; loopDelayMs: Column; cpu: Column }
}

export function indexOf (grid: Grid, t: number): number {
  if (grid.t.length === 0) return -1
  const i = Math.round(t - grid.t[0]!)
  return i >= 0 && i < grid.t.length ? i : -1
}

export function join (result: RunResult): Grid {
  const timeline = result.timeline
  const t0 = timeline.length ? timeline[0]!.t : Math.floor(result.meta.startedAt / 1000)
  const t1 = timeline.length ? timeline[timeline.length - 1]!.t : t0
  const n = Math.max(0, t1 - t0 + 1)
  const zeros = (): number[] => new Array<number>(n).fill(0)
  const nulls = (): Column => new Array<number | null>(n).fill(null)
  const grid: Grid = {
    t: Array.from({ length: n }, (_, i) => t0 + i),
    users: zeros(),
    requests: zeros(),
    failures: zeros(),
    p50: nulls(),
    p95: nulls(),
    p99: nulls(),
    dropped: zeros(),
    rows: new Map(),
    errors: new Map(),
    series: new Map(),
    meta: new Map(),
    generator: { elu: nulls(), loopDelayMs: nulls(), cpu: nulls() }
  }
  // users carry over seconds that are missing from the timeline
  let lastUsers = 0
  const seen = new Set<number>()
  for (const s of timeline) {
    const i = s.t - t0
    if (i < 0 || i >= n) continue
    seen.add(i)
    grid.users[i] = s.users
    grid.requests[i] = s.overall.requests
    grid.failures[i] = s.overall.failures
    if (s.overall.requests > 0) {
      grid.p50[i] = s.overall.p50
      grid.p95[i] = s.overall.p95
      grid.p99[i] = s.overall.p99
    }
    grid.dropped[i] = s.dropped ?? 0
    for (const [key, e] of Object.entries(s.entries)) {
      let row = grid.rows.get(key)
      if (!row) {
        row = { requests: zeros(), failures: zeros(), p95: nulls() }
        grid.rows.set(key, row)
      }
      row.requests[i] = e.requests
      row.failures[i] = e.failures
      if (e.requests > 0) row.p95[i] = e.p95
    }
    for (const [id, count] of Object.entries(s.errors ?? {})) {
      let col = grid.errors.get(id)
      if (!col) { col = zeros(); grid.errors.set(id, col) }
      col[i] = count
    }
    if (s.generator) {
      grid.generator.elu[i] = s.generator.elu
      grid.generator.loopDelayMs[i] = s.generator.loopDelayP99Ms
      grid.generator.cpu[i] = s.generator.cpu ?? null
    }
  }
  for (let i = 0; i < n; i++) {
    if (seen.has(i)) lastUsers = grid.users[i]!
    else grid.users[i] = lastUsers
  }
  for (const s of result.probes.series) {
    const col = nulls()
    const counts = new Array<number>(n).fill(0)
    for (const [t, v] of s.points) {
      const i = Math.floor(t) - t0
      if (i < 0 || i >= n || v === null || !Number.isFinite(v)) continue
      col[i] = (col[i] ?? 0) + v
      counts[i]!++
    }
    for (let i = 0; i < n; i++) if (counts[i]! > 1) col[i] = col[i]! / counts[i]!
    grid.series.set(s.id, col)
    grid.meta.set(s.id, s)
  }
  return grid
}

/** Ids of the series of a probe metric (any labels, or the given ones). */
export function seriesIds (grid: Grid, probe: string, metric: string, labels?: Record<string, string>): string[] {
  const out: string[] = []
  for (const [id, s] of grid.meta) {
    if (s.probe !== probe || s.metric !== metric) continue
    if (labels && !Object.entries(labels).every(([k, v]) => s.labels?.[k] === v)) continue
    out.push(id)
  }
  return out.sort()
}

/** Element-wise sum of several series: null where none of them has a value. */
export function sumColumns (grid: Grid, ids: string[]): Column {
  const out: Column = new Array(grid.t.length).fill(null)
  for (const id of ids) {
    const col = grid.series.get(id)
    if (!col) continue
    for (let i = 0; i < col.length; i++) {
      const v = col[i]
      if (v !== null && v !== undefined) out[i] = (out[i] ?? 0) + v
    }
  }
  return out
}

/** Values of a column inside a window (inclusive epoch seconds), nulls dropped. */
export function valuesIn (grid: Grid, col: Column | number[], w: Window): number[] {
  const out: number[] = []
  const a = Math.max(0, w.from - (grid.t[0] ?? 0))
  const b = Math.min(grid.t.length - 1, w.to - (grid.t[0] ?? 0))
  for (let i = a; i <= b; i++) {
    const v = col[i]
    if (v !== null && v !== undefined && Number.isFinite(v)) out.push(v)
  }
  return out
}

/** (seconds since the window start, value) pairs inside a window, nulls dropped. */
export function pointsIn (grid: Grid, col: Column | number[], w: Window): { x: number[]; y: number[] } {
  const x: number[] = []
  const y: number[] = []
  const a = Math.max(0, w.from - (grid.t[0] ?? 0))
  const b = Math.min(grid.t.length - 1, w.to - (grid.t[0] ?? 0))
  for (let i = a; i <= b; i++) {
    const v = col[i]
    if (v !== null && v !== undefined && Number.isFinite(v)) { x.push(grid.t[i]! - w.from); y.push(v) }
  }
  return { x, y }
}

