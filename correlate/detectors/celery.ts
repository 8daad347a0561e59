/**
 * Celery detectors: a growing queue (tasks arrive faster than workers finish them), workers
 * all busy, and workers that disappear during the run.
 */
import { METRICS } from '../../shared/metrics.js'
import { seriesIds, sumColumns, pointsIn, valuesIn } from '../grid.js'
import { median, shareOf, trend } from '../stats.js'
import { at, round } from '../context.js'
import type { Detector } from '../context.js'
import type { Finding } from '../../shared/types.js'

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
  id: 'celery-backlog',
  kind: 'cause',
  run (ctx) {
    const qIds = seriesIds(ctx.grid, 'celery', M.queueDepth)
    const onlineIds = seriesIds(ctx.grid, 'celery', M.workersOnline)
    if (!qIds.length && !onlineIds.length) return { skipped: 'no Celery series (run with --celery-broker URL)' }
    const out: Finding[] = []
    const whole = { from: ctx.grid.t[0]!, to: ctx.grid.t[ctx.grid.t.length - 1]! }
    const depth = sumColumns(ctx.grid, qIds)
    const { x, y } = pointsIn(ctx.grid, depth, ctx.steady)
    const activeIds = seriesIds(ctx.grid, 'celery', M.active)
    const concIds = seriesIds(ctx.grid, 'celery', M.concurrency)
    if (y.length >= MIN_SAMPLES) {
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
      // a closed-model load cannot grow a queue forever (each user waits for its job): a queue
      // that stays full while every worker slot is busy is the same bottleneck
      const typicalDepth = median(y)
      const standing = busy >= SATURATED_SHARE && typicalDepth >= Math.max(MIN_STANDING, slots)
      if (growing || standing) {
        const facts = growing
          ? [`the queue grew from ${y[0]} to ${y[y.length - 1]} messages (+${round(tr.slope * 60, 0)} per minute, Kendall tau ${round(tr.tau, 2)})`]
          : [`typically ${round(typicalDepth, 0)} tasks waited in the queue through the steady state (up to ${Math.max(...y)})`]
        if (busyFlags.length) facts.push(`workers were running as many tasks as their concurrency (${slots || '?'}) in ${round(busy * 100, 0)}% of the samples`)
        out.push({
          id: 'celery-backlog',
          severity: 'critical',
          title: growing
            ? `Celery workers fall behind: the queue grows by ${round(tr.slope * 60, 0)} tasks per minute`
            : `Celery workers are saturated: ${round(typicalDepth, 0)} tasks wait while all ${slots} worker slots are busy`,
          cause: busy >= ALL_BUSY_SHARE
            ? 'Tasks arrive faster than the workers finish them and every worker slot is busy: the backlog, and the time users wait for results, keep growing.'
            : 'Tasks arrive faster than they are taken from the queue.',
          evidence: { series: [...qIds, ...activeIds], window: ctx.steady, values: { 'growth per min': round(tr.slope * 60, 1), tau: round(tr.tau, 2), 'start depth': y[0]!, 'end depth': y[y.length - 1]!, 'typical depth': round(typicalDepth, 1), 'all-busy share': round(busy, 2), 'worker slots': slots }, facts },
          confidence: busy >= ALL_BUSY_SHARE ? 0.9 : 0.75,
          recommendations: ['Add Celery workers or raise their concurrency (the seed: "add Celery workers").', 'Make the slow task faster or split it; check the AI provider rate limits when tasks wait on it.']
        })
      }
    }
    const online = valuesIn(ctx.grid, sumColumns(ctx.grid, onlineIds), whole)
    if (online.length >= MIN_SAMPLES) {
      const most = Math.max(...online)
      const col = sumColumns(ctx.grid, onlineIds)
      let missingFrom: number | null = null
      let missingCount = 0
      for (let i = 0; i < col.length; i++) {
        if (col[i] !== null && col[i]! < most) { missingCount++; if (missingFrom === null) missingFrom = ctx.grid.t[i]! }
      }
      if (most === 0 || missingCount >= 3) {
        out.push({
          id: 'celery-workers-missing',
          severity: 'critical',
          title: most === 0 ? 'No Celery worker answered during the run' : `Celery workers went missing during the run (${most - Math.min(...online)} of ${most})`,
          cause: 'Tasks are queued but no (or fewer) workers take them: results never arrive.',
          evidence: { series: onlineIds, window: whole, values: { 'most workers': most, 'fewest workers': Math.min(...online), 'samples short': missingCount }, facts: [most === 0 ? 'no worker replied to the remote-control broadcast' : `fewer workers answered from ${at(ctx, missingFrom!)} on (${missingCount} samples)`] },
          confidence: 0.85,
          recommendations: ['Check the worker logs (crashes, OOM kills) and that workers consume the queue the app publishes to.']
        })
      }
    }
    return out
  }
}
