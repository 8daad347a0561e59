/**
 * The server is near max_connections: new connections will be refused ("too many clients
 * already") once every slot is taken. Counts every client connection of the server (whole
 * run), since the limit is the server's.
 *
 * No case of the matrix comes near max_connections; 90 % is from first principles (the slots
 * superuser_reserved_connections keeps, and a margin for a deploy's second set of pools).
 */
import { METRICS } from '../../shared/metrics.js'
import { seriesIds, sumColumns, valuesIn } from '../grid.js'
import { wholeRun } from '../context.js'
import type { Detector } from '../context.js'
import { impact, impactFact } from '../impact.js'
import { noPg } from '../pg.js'

/** near the limit from this share of max_connections */
const NEAR_MAX_SHARE = 0.9

export const dbConnectionLimit: Detector = {
  order: 50,
  id: 'db-connection-limit',
  findings: ['db-connection-limit'],
  kind: 'cause',
  explains: ['pool-saturation'],
  explainsFailures: ['timeout', 'http', 'refused'],
  checklist: 'database',
  needs: '--pg',
  run (ctx) {
    const missing = noPg(ctx)
    if (missing) return { skipped: missing }
    const maxConnections = ctx.facts.pg?.maxConnections
    const ids = seriesIds(ctx.grid, 'pg', METRICS.pg.serverConnections)
    const server = valuesIn(ctx.grid, sumColumns(ctx.grid, ids), wholeRun(ctx))
    if (!maxConnections || !server.length) return { skipped: 'max_connections or the server\'s connection count was not read' }
    const peak = Math.max(...server)
    if (peak < NEAR_MAX_SHARE * maxConnections) return []
    // near the limit is a warning, like any finding that crosses no limit; every slot taken
    // (new connections refused) crosses the server's own
    const imp = impact(ctx, ctx.steady, [], peak >= maxConnections ? [`all ${maxConnections} of max_connections taken: new connections are refused`] : [])
    return [{
      id: 'db-connection-limit',
      severity: imp.severity,
      title: `PostgreSQL is near its connection limit (${peak} of max_connections ${maxConnections})`,
      cause: 'New connections will be refused ("too many clients already") once every slot is taken.',
      evidence: { series: ids, window: ctx.steady, values: { 'peak connections': peak, max_connections: maxConnections }, facts: [`the server held up to ${peak} client connections; max_connections is ${maxConnections}`, impactFact(imp)] },
      confidence: 0.9,
      recommendations: ['Lower the pool size per app process or the number of processes, or put PgBouncer in front of PostgreSQL.', 'Raise max_connections only with the memory to back it (each connection is a backend process with its own work_mem).']
    }]
  }
}
