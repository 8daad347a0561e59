/**
 * Celery workers fall behind: the queue grows (Kendall tau >= 0.5, +10 messages over the
 * steady state), or a queue stands (typically >= max(3, worker slots) tasks waiting) while
 * every worker slot is busy in >= 80 % of the samples or the measured flows that wait for
 * the tasks slowed (a closed-model load cannot grow a queue for ever: each user waits for its
 * job, so a full queue that stays full is the same bottleneck). The remote-control snapshot
 * of active tasks misses slots that turn over within the sample, so the slowed flow counts
 * as the users' side of the same fact (tuning case: the express target's 8 worker threads at
 * 50 users, a queue standing at ~20 and the measured flow 2.3 s instead of 0.66 s, with slots
 * seen all busy in a minority of samples).
 */
import { METRICS } from '../../shared/metrics.js'
import { seriesIds, sumColumns, pointsIn, valuesIn } from '../grid.js'
import { median, shareOf, trend } from '../stats.js'
import { round } from '../context.js'
import type { Detector } from '../context.js'
import { asImpact, flowImpacts, latencyView } from '../latency.js'
import { impact, impactFact } from '../impact.js'

const M = METRICS.celery
const MIN_SAMPLES = 8
/** a backlog: the queue grows by at least this many messages over the window ... */
const MIN_GROWTH = 10
/** ... monotonically enough */
const MIN_TAU = 0.5
/** workers count as all busy when active tasks reach their concurrency in this share of samples */
const ALL_BUSY_SHARE = 0.5
/** a standing queue: every slot busy in this share of the steady samples ... */
const SATURATED_SHARE = 0.8
/** ... with at least this many tasks typically waiting */
const MIN_STANDING = 3

export const celeryBacklog: Detector = {
  order: 80,
  id: 'celery-backlog',
  findings: ['celery-backlog'],
  kind: 'cause',
  explainsFailures: ['timeout', 'check'],
  checklist: 'celery',
  needs: '--celery-broker (and --celery-queue) or --celery-flower',
  run (ctx) {
    const qIds = seriesIds(ctx.grid, 'celery', M.queueDepth)
    if (!qIds.length && !seriesIds(ctx.grid, 'celery', M.workersOnline).length) return { skipped: 'no Celery series (run with --celery-broker URL)' }
    const depth = sumColumns(ctx.grid, qIds)
    const { x, y } = pointsIn(ctx.grid, depth, ctx.steady)
    if (y.length < MIN_SAMPLES) return { skipped: `only ${y.length} queue samples in the steady state` }
    const activeIds = seriesIds(ctx.grid, 'celery', M.active)
    const concIds = seriesIds(ctx.grid, 'celery', M.concurrency)
    const tr = trend(x, y)
    const growth = y[y.length - 1]! - Math.min(...y.slice(0, Math.max(1, Math.floor(y.length / 4))))
    const active = sumColumns(ctx.grid, activeIds)
    const conc = sumColumns(ctx.grid, concIds)
    const busyFlags: number[] = []
    const a = ctx.steady.from - ctx.grid.t[0]!
    const b = ctx.steady.to - ctx.grid.t[0]!
    for (let i = Math.max(0, a); i <= b && i < active.length; i++) {
      if (active[i] !== null && conc[i] !== null && conc[i]! > 0) busyFlags.push(active[i]! >= conc[i]! ? 1 : 0)
    }
    const busy = shareOf(busyFlags, v => v === 1)
    const concurrency = valuesIn(ctx.grid, conc, ctx.steady)
    const slots = concurrency.length ? Math.max(...concurrency) : 0
    const growing = tr.slope > 0 && tr.tau >= MIN_TAU && growth >= MIN_GROWTH
    const typicalDepth = median(y)
    const lat = latencyView(ctx)
    const flows = lat.rows.filter(r => r.flow)
    const flowSlowed = flows.some(r => r.slowed)
    const standing = typicalDepth >= Math.max(MIN_STANDING, slots) && (busy >= SATURATED_SHARE || flowSlowed)
    if (!growing && !standing) return []
    const facts = growing
      ? [`the queue grew from ${y[0]} to ${y[y.length - 1]} messages (+${round(tr.slope * 60, 0)} per minute, Kendall tau ${round(tr.tau, 2)})`]
      : [`typically ${round(typicalDepth, 0)} tasks waited in the queue through the steady state (up to ${Math.max(...y)})`]
    if (busyFlags.length) facts.push(`workers were running as many tasks as their concurrency (${slots || '?'}) in ${round(busy * 100, 0)}% of the samples`)
    if (flowSlowed) facts.push(`measured flows slowed: ${flows.map(r => `${r.key} ${r.lowP50Ms !== undefined ? `${round(r.lowP50Ms, 0)} -> ` : ''}${round(r.p50Ms, 0)} ms`).join(', ')}`)
    const flowRows = flowImpacts(ctx, ctx.steady)
    const rows = flowRows.length ? flowRows : asImpact(lat.slowed)
    const imp = impact(ctx, ctx.steady, rows)
    facts.push(impactFact(imp))
    return [{
      id: 'celery-backlog',
      severity: imp.severity,
      title: growing
        ? `Celery workers fall behind: the queue grows by ${round(tr.slope * 60, 0)} tasks per minute`
        : busy >= SATURATED_SHARE
          ? `Celery workers are saturated: ${round(typicalDepth, 0)} tasks wait while all ${slots} worker slots are busy`
          : `Celery workers fall behind: ${round(typicalDepth, 0)} tasks wait in the queue for ${slots} worker slots, and the flows waiting for them slowed`,
      cause: busy >= ALL_BUSY_SHARE
        ? 'Tasks arrive faster than the workers finish them and every worker slot is busy: the backlog, and the time users wait for results, keep growing.'
        : 'Tasks arrive faster than they are taken from the queue.',
      evidence: { series: [...qIds, ...activeIds], window: ctx.steady, values: { 'growth per min': round(tr.slope * 60, 1), tau: round(tr.tau, 2), 'start depth': y[0]!, 'end depth': y[y.length - 1]!, 'typical depth': round(typicalDepth, 1), 'all-busy share': round(busy, 2), 'worker slots': slots }, facts, rows },
      confidence: busy >= ALL_BUSY_SHARE ? 0.9 : 0.75,
      recommendations: ['Add Celery workers or raise their concurrency.', 'Make the slow task faster or split it; check the rate limits of the external services the tasks call.']
    }]
  }
}
