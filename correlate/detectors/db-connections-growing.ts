/**
 * The app's PostgreSQL connections keep growing through the steady state: under constant load
 * a pool settles, so steady growth is connections opened and not returned, or a pool without
 * a cap. Thresholds: >= 16 samples; Theil-Sen slope > 0 with Mann-Kendall p < 0.01, Kendall
 * tau >= 0.5, and growth >= max(3, 25 % of the start).
 *
 * No fault of the matrix grows the connections; the thresholds are the statistics'
 * conventional levels (p < 0.01, tau >= 0.5) and a floor that a pool filling up at the start
 * does not reach after warm-up (fixed and growing pools of the matrix: no finding).
 */
import { pointsIn } from '../grid.js'
import { trend } from '../stats.js'
import { confidenceWith, round } from '../context.js'
import type { Detector } from '../context.js'
import { impact, impactFact } from '../impact.js'
import { appSessions, noPg } from '../pg.js'

const MIN_SAMPLES = 16

export const dbConnectionsGrowing: Detector = {
  order: 70,
  id: 'db-connections-growing',
  findings: ['db-connections-growing'],
  kind: 'cause',
  checklist: 'database',
  needs: '--pg (the app\'s sessions told apart by --target-pid or --pg-application)',
  run (ctx) {
    const missing = noPg(ctx)
    if (missing) return { skipped: missing }
    const s = appSessions(ctx)
    const { x, y } = pointsIn(ctx.grid, s.col, ctx.warm)
    if (y.length < MIN_SAMPLES) return { skipped: `only ${y.length} PostgreSQL samples after warm-up (need ${MIN_SAMPLES})` }
    const tr = trend(x, y)
    const growth = tr.slope * (x[x.length - 1]! - x[0]!)
    if (!(tr.slope > 0 && tr.p < 0.01 && tr.tau >= 0.5 && growth >= Math.max(3, 0.25 * Math.max(1, y[0]!)))) return []
    const imp = impact(ctx, ctx.warm, [], ctx.expect.dbConnectionsStable ? ['the profile requires stable database connections (dbConnectionsStable)'] : [])
    const unmeasured = s.caveat ? [s.caveat] : []
    return [{
      id: 'db-connections-growing',
      severity: imp.severity,
      title: `PostgreSQL connections keep growing through the steady state (+${round(tr.slope * 60, 1)} per minute)`,
      cause: 'Under constant load the connection count should settle; steady growth points to connections opened and not returned (a connection leak) or a pool without a cap.',
      evidence: { series: s.ids, window: ctx.warm, values: { 'slope per min': round(tr.slope * 60, 2), tau: round(tr.tau, 2), 'p-value': round(tr.p, 4), from: y[0]!, to: y[y.length - 1]! }, facts: [`${s.whose} sessions (${s.how}) went from ${y[0]} to ${y[y.length - 1]} under constant load (Theil-Sen slope ${round(tr.slope * 60, 1)}/min, Kendall tau ${round(tr.tau, 2)})`, impactFact(imp)] },
      confidence: confidenceWith(Math.min(0.9, 0.5 + tr.tau / 2), unmeasured),
      recommendations: ['Check that every pooled connection is released (finally blocks, error paths) and that the pool has a maximum size.', 'Check background tasks: a task that opens a connection must close it.'],
      unmeasured
    }]
  }
}
