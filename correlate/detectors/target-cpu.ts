/**
 * The target process is CPU-bound: it wants more than its core while latency rose. A busy
 * process that still answers as fast as at low load is not a bottleneck, so the finding
 * needs the per-request-name latency rise (latency.ts) or a profile limit crossed.
 *
 * Threshold: >= 70 % of one core in >= 60 % of the steady samples. A single-threaded server
 * (Node's event loop, a Python process holding the GIL) that wants its whole core gets 70-85 %
 * of it on a host the load generator and the database share.
 */
import { METRICS } from '../../shared/metrics.js'
import { seriesIds, sumColumns, valuesIn } from '../grid.js'
import { median, shareOf } from '../stats.js'
import { confidenceWith, round, span } from '../context.js'
import type { Detector, DetectorContext } from '../context.js'
import { asImpact, latencyView } from '../latency.js'
import { impact, impactFact } from '../impact.js'

/** percent of one core from which a process counts as CPU-bound */
export const TARGET_BUSY_PCT = 70
/** in at least this share of the steady samples */
const BUSY_SHARE = 0.6
const MIN_SAMPLES = 8

/** The target's CPU over the steady state (null when not measured). */
export function cpuBusy (ctx: DetectorContext): { busy: boolean; typical: number; share: number; ids: string[] } | null {
  const ids = seriesIds(ctx.grid, 'target', METRICS.target.cpu)
  if (!ids.length) return null
  const cpu = valuesIn(ctx.grid, sumColumns(ctx.grid, ids), ctx.warm)
  if (cpu.length < MIN_SAMPLES) return null
  const share = shareOf(cpu, v => v >= TARGET_BUSY_PCT)
  return { busy: share >= BUSY_SHARE, typical: median(cpu), share, ids }
}

export const targetCpu: Detector = {
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
      title: `The target process is CPU-bound (${round(cpu.typical, 0)}% of a core while latency rose)`,
      cause: 'The target spends its core on computation, so requests wait for its event loop (or its interpreter) rather than for I/O.',
      evidence: {
        series: cpu.ids,
        window: ctx.warm,
        values: { 'typical CPU %': round(cpu.typical, 0), [`share of samples >= ${TARGET_BUSY_PCT}%`]: round(cpu.share, 2), ...(lat.p95 !== null ? { 'p95 ms': round(lat.p95, 0) } : {}) },
        facts: [`the target used ${round(cpu.typical, 0)}% of a core (>= ${TARGET_BUSY_PCT}% in ${round(cpu.share * 100, 0)}% of the samples, ${span(ctx, ctx.warm)})`, `latency rose: ${lat.why}`, impactFact(imp)],
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
