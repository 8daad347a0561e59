/**
 * Transactions held open while the app does other work: the app's sessions sit "idle in
 * transaction" (a BEGIN, then an await on something else before the next statement or
 * COMMIT), holding a pooled connection and the transaction's locks meanwhile.
 *
 * Thresholds: idle-in-transaction sessions in >= 30 % of the steady samples, and sitting there
 * for a median >= 20 ms (between two statements of a transaction the session is idle in it
 * for well under a millisecond).
 *
 * Tuning cases: the idle-tx faults had the app's sessions idle in transaction in 91-100 % of
 * the steady samples, for a median of 132-253 ms; no other tuning case had one in any sample:
 * 30 % and 20 ms sit far from both.
 */
import { METRICS } from '../../shared/metrics.js'
import type { Column } from '../grid.js'
import { seriesIds, sumColumns, valuesIn } from '../grid.js'
import { median, quantile, shareOf } from '../stats.js'
import { confidenceWith, round } from '../context.js'
import type { Detector } from '../context.js'
import { asImpact, latencyView } from '../latency.js'
import { impact, impactFact } from '../impact.js'
import { appSessions, noPg, stateColumn } from '../pg.js'

const M = METRICS.pg
const MIN_SAMPLES = 8
/** seen in this share of the steady samples ... */
const IDLE_TX_SHARE = 0.3
/** ... sitting idle in the transaction at least this long (s, median of the samples) */
const IDLE_TX_AGE_S = 0.02

export const idleInTransaction: Detector = {
  order: 10,
  id: 'idle-in-transaction',
  findings: ['idle-in-transaction'],
  kind: 'cause',
  explains: ['pool-saturation', 'db-connections-growing', 'lock-waits'],
  explainsFailures: ['timeout', 'http'],
  checklist: 'database',
  needs: '--pg (the app\'s sessions told apart by --target-pid or --pg-application)',
  run (ctx) {
    const missing = noPg(ctx)
    if (missing) return { skipped: missing }
    const idle = stateColumn(ctx, 'idle in transaction')
    const aborted = stateColumn(ctx, 'idle in transaction (aborted)')
    const combined: Column = idle.map((v, i) => (v === null && aborted[i] === null ? null : (v ?? 0) + (aborted[i] ?? 0)))
    const values = valuesIn(ctx.grid, combined, ctx.steady)
    if (values.length < MIN_SAMPLES) return { skipped: `only ${values.length} PostgreSQL samples in the steady state` }
    const seen = shareOf(values, v => v >= 1)
    if (seen < IDLE_TX_SHARE) return []
    const ageIds = seriesIds(ctx.grid, 'pg', M.idleInXactS)
    const ages = valuesIn(ctx.grid, sumColumns(ctx.grid, ageIds), ctx.steady).filter(v => v > 0)
    const medianAge = ages.length ? median(ages) : null
    if (medianAge !== null && medianAge < IDLE_TX_AGE_S) return []
    const s = appSessions(ctx)
    const typical = round(quantile(values, 0.5), 1)
    const peak = Math.max(...values)
    const conns = valuesIn(ctx.grid, s.col, ctx.steady)
    const share = conns.length ? quantile(values, 0.5) / Math.max(1, median(conns)) : 0
    const maxAge = ages.length ? Math.max(...ages) : null
    const lat = latencyView(ctx)
    const rows = asImpact(lat.slowed)
    const imp = impact(ctx, ctx.steady, rows)
    const unmeasured = s.caveat ? [s.caveat] : []
    return [{
      id: 'idle-in-transaction',
      severity: imp.severity,
      title: `Transactions are held open while the app does other work (${typical} of ${s.whose} sessions idle in transaction, up to ${peak})`,
      cause: 'Sessions sit "idle in transaction": the app began a transaction and holds its connection (and its locks) while doing something else, so the pool runs dry and other requests wait.',
      evidence: {
        series: [...seriesIds(ctx.grid, 'pg', M.connections, { state: 'idle in transaction' }), ...ageIds],
        window: ctx.steady,
        values: { 'share of samples': round(seen, 2), 'typical sessions': typical, 'peak sessions': peak, ...(medianAge !== null ? { 'median idle age s': round(medianAge, 3) } : {}), ...(maxAge !== null ? { 'max idle age s': round(maxAge, 2) } : {}), 'share of the connections': round(share, 2) },
        facts: [
          `idle-in-transaction sessions (${s.how}) were present in ${round(seen * 100, 0)}% of the steady-state samples (typically ${typical}, at most ${peak})`,
          ...(medianAge !== null ? [`a session typically sat idle in its transaction for ${round(medianAge * 1000, 0)} ms before the next statement`] : []),
          ...(lat.slowed.length ? [`latency rose: ${lat.why}`] : []),
          impactFact(imp)
        ],
        rows
      },
      confidence: confidenceWith(0.6 + seen / 2, unmeasured),
      recommendations: [
        'Do not await other work (HTTP calls, storage, queues, sleeps) inside a transaction: commit first, or do the slow work before BEGIN.',
        "Set idle_in_transaction_session_timeout (e.g. '5s') so a stuck transaction cannot hold a connection and its locks for long.",
        'Check error paths: a transaction must be rolled back and its connection released when a request fails.'
      ],
      unmeasured
    }]
  }
}
