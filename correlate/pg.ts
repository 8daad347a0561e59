/**
 * What the PostgreSQL detectors share: whose sessions the pg probe counted (and the words
 * that say so), their columns on the grid, and what the probe measured of the database's own
 * time per statement.
 */
import { METRICS } from '../shared/metrics.js'
import type { PgFacts, Series, Window } from '../shared/types.js'
import { seriesIds, sumColumns, valuesIn } from './grid.js'
import type { Column } from './grid.js'
import type { DetectorContext } from './context.js'

const M = METRICS.pg

export function noPg (ctx: DetectorContext): string | null {
  if (seriesIds(ctx.grid, 'pg', M.connections).length === 0) return 'no PostgreSQL series (run with --pg URL)'
  return null
}

export interface Sessions {
  ids: string[]
  col: Column
  /** the target's sessions were told apart (by its processes or --pg-application) */
  attributed: boolean
  /** "the app's" or "the database's" */
  whose: string
  /** how they were told apart, or why not, in one sentence */
  how: string
  /** what is missing to tell them apart, for the finding's unmeasured list */
  caveat?: string
}

/** The target's sessions (pg.connections), with how the probe told them from the others. */
export function appSessions (ctx: DetectorContext): Sessions {
  const ids = seriesIds(ctx.grid, 'pg', M.connections)
  const col = sumColumns(ctx.grid, ids)
  const a = ctx.facts.pg?.attribution
  const application = ctx.facts.pg?.application
  if (a?.method === 'processes') {
    const app = a.owners?.app
    const others = [a.owners?.workers && `the workers' ${a.owners.workers.peakSessions}`, a.owners?.other && `other clients' ${a.owners.other.peakSessions}`].filter(Boolean)
    return {
      ids, col, attributed: true, whose: "the app's",
      how: `sessions from the target's own sockets${app?.processes[0] ? ` (${shortProcess(app.processes[0])})` : ''}${others.length ? `; ${others.join(' and ')} sessions counted apart` : ''}`
    }
  }
  if (a?.method === 'application_name' || (!a && application)) {
    return { ids, col, attributed: true, whose: "the app's", how: `sessions with application_name "${application ?? '?'}"` }
  }
  return {
    ids, col, attributed: false, whose: "the database's",
    how: a?.detail || 'every session of the database',
    caveat: "the app's sessions were not told apart from other clients' (workers, cron jobs, admins): give --target-pid (or --pg-application)"
  }
}

function shortProcess (cmd: string): string {
  return cmd.length > 60 ? `${cmd.slice(0, 59)}…` : cmd
}

export function stateColumn (ctx: DetectorContext, state: string): Column {
  return sumColumns(ctx.grid, seriesIds(ctx.grid, 'pg', M.connections, { state }))
}

/**
 * The database's own time per statement over a window, from pg_stat_statements: each read of
 * its sums covers the seconds since the read before (query_mean_ms and calls_per_s at the
 * read's second); the reads whose intervals lie inside the window are pooled, each weighted
 * by its calls (by its length when no calls were recorded), so the figure is the window's
 * total statement time over its statements. The probe reads the sums sparingly (a read scans
 * every entry of the server) and on the run's plan at the start of the steady state after
 * warm-up and before its end, so the window is covered by few, long intervals. Null when the
 * intervals cover less than half the window.
 */
export function statementMean (ctx: DetectorContext, w: Window): number | null {
  return statementMeanOf(ctx.result.probes.series, w)
}

/** over the whole run when no window is given */
export function statementMeanOf (series: Series[], w?: Window): number | null {
  const means = series.find(s => s.probe === 'pg' && s.metric === M.queryMeanMs)
  if (!means) return null
  const calls = new Map(series.find(s => s.probe === 'pg' && s.metric === M.callsPerS)?.points ?? [])
  let weighted = 0
  let weight = 0
  let covered = 0
  for (let i = 1; i < means.points.length; i++) {
    const from = means.points[i - 1]![0] + 1
    const [to, mean] = means.points[i]!
    if ((w && (from < w.from || to > w.to)) || to < from) continue
    const seconds = to - from + 1
    covered += seconds
    if (mean === null) continue
    const rate = calls.get(to)
    const n = rate === undefined ? seconds : rate === null ? 0 : rate * seconds
    weighted += mean * n
    weight += n
  }
  if ((w && covered < (w.to - w.from + 1) / 2) || weight <= 0) return null
  return weighted / weight
}

export function hasStatements (pg: PgFacts | undefined): boolean {
  return pg?.pgStatStatements === 'available'
}

/** share of the window's pg samples in which some app session waited on a Lock */
export function lockShare (ctx: DetectorContext, w: Window): { share: number; samples: number } {
  const locks = valuesIn(ctx.grid, sumColumns(ctx.grid, seriesIds(ctx.grid, 'pg', M.waiting, { wait_event_type: 'Lock' })), w)
  return { share: locks.length ? locks.filter(v => v >= 1).length / locks.length : 0, samples: locks.filter(v => v >= 1).length }
}
