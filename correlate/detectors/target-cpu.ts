/**
 * The target process is CPU-bound: it wants more than its core while latency rose. A busy
 * process that still answers as fast as at low load is not a bottleneck, so the finding
 * needs the per-request-name latency rise (latency.ts) or a profile limit crossed.
 *
 * Threshold: >= 70 % of one core (the busiest process's, or all the cores for the processes
 * together) in >= 60 % of the steady samples. A single-threaded server
 * (Node's event loop, a Python process holding the GIL) that wants its whole core gets 70-85 %
 * of it on a host the load generator and the database share.
 *
 * Tuning cases: the CPU faults CPU-bound in 76-100 % of the steady samples (87-99 % of a core
 * typically); every other tuning case in none (at most 21 % of a core typically).
 */
import { METRICS } from '../../shared/metrics.js'
import { seriesIds, sumColumns } from '../grid.js'
import { median } from '../stats.js'
import { confidenceWith, round, span } from '../context.js'
import type { Detector, DetectorContext } from '../context.js'
import { asImpact, latencyView } from '../latency.js'
import { impact, impactFact } from '../impact.js'

/** percent of one core from which a process counts as CPU-bound */
export const TARGET_BUSY_PCT = 70
/** in at least this share of the steady samples */
const BUSY_SHARE = 0.6
const MIN_SAMPLES = 8

/**
 * The target's CPU over the steady state (null when not measured). A target of several
 * processes (uvicorn --workers, gunicorn, a cluster) is CPU-bound when its busiest process
 * wants its whole core (an event loop, an interpreter's lock) or the processes together take
 * the machine's cores; their sum against one core would call four half-idle workers busy.
 * Results recorded before the busiest process was sampled are judged by the sum.
 */
export function cpuBusy (ctx: DetectorContext): { busy: boolean; typical: number; share: number; ids: string[]; busiestProcess: boolean } | null {
  const ids = seriesIds(ctx.grid, 'target', METRICS.target.cpu)
  if (!ids.length) return null
  const total = sumColumns(ctx.grid, ids)
  const busiestIds = seriesIds(ctx.grid, 'target', METRICS.target.cpuBusiest)
  const busiest = busiestIds.length ? sumColumns(ctx.grid, busiestIds) : null
  const cores = Math.max(1, ctx.result.meta.machine?.cpus ?? 1)
  const per: number[] = []
  const busyAt: boolean[] = []
  for (const t of ctx.grid.t) {
    if (t < ctx.warm.from || t > ctx.warm.to) continue
    const i = t - ctx.grid.t[0]!
    const sum = total[i]
    if (sum === null || sum === undefined) continue
    const one = busiest?.[i] ?? null
    per.push(one ?? sum)
    busyAt.push(one === null ? sum >= TARGET_BUSY_PCT : one >= TARGET_BUSY_PCT || sum >= TARGET_BUSY_PCT * cores)
  }
  if (per.length < MIN_SAMPLES) return null
  const share = busyAt.filter(Boolean).length / busyAt.length
  return { busy: share >= BUSY_SHARE, typical: median(per), share, ids: busiestIds.length ? [...busiestIds, ...ids] : ids, busiestProcess: busiest !== null }
}

export const targetCpu: Detector = {
  order: 120,
  id: 'target-cpu',
  findings: ['target-cpu'],
  kind: 'cause',
  explains: ['host-cpu'],
  explainsFailures: ['timeout', 'reset'],
  needs: '--target-pid or --target-process',
  run (ctx) {
    if (!seriesIds(ctx.grid, 'target', METRICS.target.cpu).length) return { skipped: 'no target process series (run with --target-pid or --target-process)' }
    const cpu = cpuBusy(ctx)
    if (!cpu) return { skipped: 'too few CPU samples of the target in the steady state' }
    if (!cpu.busy) return []
    const lat = latencyView(ctx)
    if (!lat.raised) return []
    const rows = asImpact(lat.slowed.length ? lat.slowed : lat.compared)
    const imp = impact(ctx, ctx.warm, rows)
    const unmeasured = lat.noReference ? [`latency per request name could not be compared with low load: ${lat.noReference}`] : []
    return [{
      id: 'target-cpu',
      severity: imp.severity,
      title: `The target process is CPU-bound (${round(cpu.typical, 0)}% of a core${cpu.busiestProcess ? ' in its busiest process' : ''} while latency rose)`,
      cause: 'The target spends its core on computation, so requests wait for its event loop (or its interpreter) rather than for I/O.',
      evidence: {
        series: cpu.ids,
        window: ctx.warm,
        values: { 'typical CPU %': round(cpu.typical, 0), [`share of samples >= ${TARGET_BUSY_PCT}%`]: round(cpu.share, 2), ...(lat.p95 !== null ? { 'p95 ms': round(lat.p95, 0) } : {}) },
        facts: [`the target${cpu.busiestProcess ? '\'s busiest process' : ''} used ${round(cpu.typical, 0)}% of a core (CPU-bound in ${round(cpu.share * 100, 0)}% of the samples, ${span(ctx, ctx.warm)}: a process at >= ${TARGET_BUSY_PCT}% of its core${cpu.busiestProcess ? `, or the processes together at >= ${TARGET_BUSY_PCT}% of the machine's ${ctx.result.meta.machine?.cpus ?? 1} cores` : ''})`, `latency rose: ${lat.why}`, impactFact(imp)],
        rows
      },
      confidence: confidenceWith(0.8, unmeasured),
      recommendations: [
        'Profile the target under load (a CPU profile or flame graph) to find the hot code.',
        'Move CPU-heavy work off the request path (to a worker or a task queue), or run more processes so each core serves requests.'
      ],
      unmeasured
    }]
  }
}
