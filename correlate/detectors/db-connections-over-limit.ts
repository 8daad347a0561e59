/** The target used more PostgreSQL connections than the profile allows (`expect.dbConnectionsMax`). */
import { valuesIn } from '../grid.js'
import { wholeRun } from '../context.js'
import type { Detector } from '../context.js'
import { impact, impactFact } from '../impact.js'
import { appSessions, noPg } from '../pg.js'

export const dbConnectionsOverLimit: Detector = {
  order: 60,
  id: 'db-connections-over-limit',
  findings: ['db-connections-over-limit'],
  kind: 'cause',
  explainsFailures: ['http'],
  checklist: 'database',
  needs: '--pg and the profile\'s expect.dbConnectionsMax',
  run (ctx) {
    const missing = noPg(ctx)
    if (missing) return { skipped: missing }
    const limit = ctx.expect.dbConnectionsMax
    if (limit === undefined) return []
    const s = appSessions(ctx)
    const all = valuesIn(ctx.grid, s.col, wholeRun(ctx))
    const max = all.length ? Math.max(...all) : 0
    if (max < limit) return []
    const imp = impact(ctx, ctx.steady, [], [`${max} connections against the profile's limit of ${limit}`])
    return [{
      id: 'db-connections-over-limit',
      severity: imp.severity,
      title: `The target used ${max} PostgreSQL connections, over the profile's limit of ${limit}`,
      cause: `The profile requires fewer than ${limit} database connections.`,
      evidence: { series: s.ids, window: ctx.steady, values: { 'peak connections': max, limit }, facts: [`peak of ${max} of ${s.whose} sessions (${s.how})`, impactFact(imp)] },
      confidence: s.attributed ? 0.95 : 0.7,
      recommendations: ['Size the pool (per process) so that the total stays under the limit; check for connections that are never returned.'],
      unmeasured: s.caveat ? [s.caveat] : undefined
    }]
  }
}
