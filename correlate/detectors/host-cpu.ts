/**
 * The host is CPU-saturated while latency rose: every process on it (the target, its
 * database and cache, and the load generator when it runs there) competes for the cores.
 * A busy host whose requests are as fast as at low load is not a bottleneck.
 *
 * Threshold: host CPU >= 90 % of all cores in >= 60 % of the steady samples.
 *
 * Tuning cases: the host at >= 90 % in 97 % of the samples beside the slow-query fault at 50
 * users (folded under the slow query, which explains it), 32-45 % beside the CPU fault, at
 * most 9 % in every other tuning case.
 */
import { METRICS } from '../../shared/metrics.js'
import { seriesIds, sumColumns, valuesIn } from '../grid.js'
import { median, shareOf } from '../stats.js'
import { confidenceWith, round } from '../context.js'
import type { Detector, DetectorContext } from '../context.js'
import { asImpact, latencyView } from '../latency.js'
import { impact, impactFact } from '../impact.js'

/** the host is saturated from this share of all cores (percent) */
const HOST_BUSY_PCT = 90
const BUSY_SHARE = 0.6
const MIN_SAMPLES = 8

export function hostBusy (ctx: DetectorContext): { busy: boolean; typical: number; share: number; ids: string[] } | null {
  const ids = seriesIds(ctx.grid, 'host', METRICS.host.cpu)
  if (!ids.length) return null
  const cpu = valuesIn(ctx.grid, sumColumns(ctx.grid, ids), ctx.warm)
  if (cpu.length < MIN_SAMPLES) return null
  const share = shareOf(cpu, v => v >= HOST_BUSY_PCT)
  return { busy: share >= BUSY_SHARE, typical: median(cpu), share, ids }
}

export const hostCpu: Detector = {
  order: 130,
  id: 'host-cpu',
  findings: ['host-cpu'],
  kind: 'cause',
  explainsFailures: ['timeout'],
  needs: 'the host probe (on by default)',
  run (ctx) {
    if (!seriesIds(ctx.grid, 'host', METRICS.host.cpu).length) return { skipped: 'no host series' }
    const host = hostBusy(ctx)
    if (!host) return { skipped: 'too few host CPU samples in the steady state' }
    if (!host.busy) return []
    const lat = latencyView(ctx)
    if (!lat.raised) return []
    const gen = valuesIn(ctx.grid, sumColumns(ctx.grid, seriesIds(ctx.grid, 'generator', METRICS.generator.cpu)), ctx.warm)
    const rows = asImpact(lat.slowed.length ? lat.slowed : lat.compared)
    const imp = impact(ctx, ctx.warm, rows)
    const facts = [`the host's CPUs were ${round(host.typical, 0)}% busy (>= ${HOST_BUSY_PCT}% in ${round(host.share * 100, 0)}% of the samples)`, `latency rose: ${lat.why}`]
    if (gen.length) facts.push(`the load generator itself used ${round(median(gen), 0)}% of one core on this host`)
    facts.push(impactFact(imp))
    return [{
      id: 'host-cpu',
      severity: imp.severity,
      title: `The host is CPU-saturated (${round(host.typical, 0)}% of all cores)`,
      cause: 'Every process on the host competes for CPU: the target, its database and cache, and the load generator if it runs there.',
      evidence: { series: host.ids, window: ctx.warm, values: { 'typical CPU %': round(host.typical, 0), [`share of samples >= ${HOST_BUSY_PCT}%`]: round(host.share, 2) }, facts, rows },
      confidence: confidenceWith(0.7, lat.noReference ? [`latency per request name could not be compared with low load: ${lat.noReference}`] : []),
      recommendations: ['Run the load generator on another machine, or give the system under test more cores.', 'Find the busiest process (the target, PostgreSQL, workers) before scaling.']
    }]
  }
}
