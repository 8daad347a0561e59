/**
 * CPU saturation of the target process or of the host, and the generator's check of itself
 * (which does not produce a finding but marks the run unreliable).
 */
import type { Diagnosis, Window } from '../../shared/types.js'
import { METRICS } from '../../shared/metrics.js'
import { seriesIds, sumColumns, valuesIn, typicalP95 } from '../grid.js'
import type { Grid } from '../grid.js'
import { median, shareOf } from '../stats.js'
import { latencyElevation, round, span } from '../context.js'
import type { Detector, DetectorContext } from '../context.js'
import { SATURATION } from '../../loadgen/health.js'

/** a single-threaded process is CPU-bound from this share of one core (percent); on a busy
 *  host it may not get more than this even when it wants the whole core */
const TARGET_BUSY_PCT = 70
/** ... when latency is also elevated (see latencyElevation) */
/** the host is saturated from this share of all cores (percent) */
const HOST_BUSY_PCT = 90
/** in at least this share of the steady-state samples */
const BUSY_SHARE = 0.6
const MIN_SAMPLES = 8

export const targetCpu: Detector = {
  id: 'target-cpu',
  kind: 'cause',
  run (ctx) {
    const ids = seriesIds(ctx.grid, 'target', METRICS.target.cpu)
    if (!ids.length) return { skipped: 'no target process series (run with --target-pid or --target-process)' }
    const cpu = valuesIn(ctx.grid, sumColumns(ctx.grid, ids), ctx.warm)
    if (cpu.length < MIN_SAMPLES) return { skipped: `only ${cpu.length} CPU samples of the target in the steady state` }
    const busy = shareOf(cpu, v => v >= TARGET_BUSY_PCT)
    if (busy < BUSY_SHARE) return []
    const typical = median(cpu)
    const p95 = typicalP95(ctx.grid, ctx.warm)
    // a busy process that still answers fast is not a bottleneck
    const lat = latencyElevation(ctx)
    if (!lat.elevated) return []
    return [{
      id: 'target-cpu',
      severity: busy >= 0.9 ? 'critical' : 'warning',
      title: `The target process is CPU-bound (${round(typical, 0)}% of a core while latency rose)`,
      cause: 'The target spends the whole of its core on computation, so requests wait for its event loop (or its threads) rather than for I/O.',
      evidence: {
        series: ids,
        window: ctx.warm,
        values: { 'typical CPU %': round(typical, 0), 'share of samples >= 85%': round(busy, 2), ...(p95 !== null ? { 'p95 ms': round(p95, 0) } : {}) },
        facts: [`the target used ${round(typical, 0)}% of a core (>= ${TARGET_BUSY_PCT}% in ${round(busy * 100, 0)}% of the samples, ${span(ctx, ctx.warm)})`, `latency rose: ${lat.why}`]
      },
      confidence: 0.8,
      recommendations: [
        'Profile the target under load (a CPU profile or flame graph) to find the hot code.',
        'Move CPU-heavy work off the request path (to a worker or a Celery task) or run more processes than cores allow one to use.'
      ]
    }]
  }
}

export const hostCpu: Detector = {
  id: 'host-cpu',
  kind: 'cause',
  run (ctx) {
    const ids = seriesIds(ctx.grid, 'host', METRICS.host.cpu)
    if (!ids.length) return { skipped: 'no host series' }
    const cpu = valuesIn(ctx.grid, sumColumns(ctx.grid, ids), ctx.warm)
    if (cpu.length < MIN_SAMPLES) return { skipped: `only ${cpu.length} host CPU samples in the steady state` }
    const busy = shareOf(cpu, v => v >= HOST_BUSY_PCT)
    if (busy < BUSY_SHARE) return []
    const gen = valuesIn(ctx.grid, sumColumns(ctx.grid, seriesIds(ctx.grid, 'generator', METRICS.generator.cpu)), ctx.warm)
    const facts = [`the host's CPUs were ${round(median(cpu), 0)}% busy (>= ${HOST_BUSY_PCT}% in ${round(busy * 100, 0)}% of the samples)`]
    if (gen.length) facts.push(`the load generator itself used ${round(median(gen), 0)}% of one core on this host`)
    return [{
      id: 'host-cpu',
      severity: 'warning',
      title: `The host is CPU-saturated (${round(median(cpu), 0)}% of all cores)`,
      cause: 'Every process on the host competes for CPU: the target, its database and cache, and the load generator if it runs there.',
      evidence: { series: ids, window: ctx.warm, values: { 'typical CPU %': round(median(cpu), 0), 'share of samples >= 90%': round(busy, 2) }, facts },
      confidence: 0.7,
      recommendations: ['Run the load generator on another machine, or give the system under test more cores.', 'Find the busiest process (target CPU, PostgreSQL, workers) before scaling.']
    }]
  }
}

/** the generator's own rule for a saturated second and run (loadgen/health.ts) */
const GEN_ELU = SATURATION.elu
const GEN_DELAY_MS = SATURATION.loopDelayMs
const GEN_MIN_S = SATURATION.minSeconds
const GEN_MIN_SHARE = SATURATION.minShare

/** The generator checking itself: when its own event loop was saturated, latencies include its own queueing. */
export function generatorCheck (grid: Grid, ctx: Pick<DetectorContext, 'result'>): Diagnosis['unreliable'] {
  // the run judged itself thread by thread (loadgen/health.ts); older results are judged here
  const sat = ctx.result.meta.saturation
  if (sat) return { reason: `${sat.message}: latencies include its own queueing; use --workers or more machines`, window: sat.window }
  const n = grid.t.length
  const bad: number[] = []
  const why = new Set<string>()
  for (let i = 0; i < n; i++) {
    const elu = grid.generator.elu[i]
    const delay = grid.generator.loopDelayMs[i]
    if ((elu ?? 0) >= GEN_ELU) { bad.push(i); why.add(`event-loop utilisation >= ${GEN_ELU * 100}%`) } else if ((delay ?? 0) >= GEN_DELAY_MS) { bad.push(i); why.add(`event-loop delay p99 >= ${GEN_DELAY_MS} ms`) }
  }
  if (bad.length < GEN_MIN_S || bad.length < GEN_MIN_SHARE * n) return undefined
  const window: Window = { from: grid.t[bad[0]!]!, to: grid.t[bad[bad.length - 1]!]! }
  const workers = ctx.result.meta.workers ?? 1
  return {
    reason: `the load generator was saturated in ${bad.length} of ${n} seconds (${[...why].join(', ')}${workers > 1 ? `, busiest of ${workers} worker threads` : ''}): latencies include its own queueing; use --workers or more machines`,
    window
  }
}
