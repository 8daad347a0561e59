/**
 * Celery workers went missing: no worker answered, or fewer than the most seen answered in
 * >= 3 samples (whole run). No fault of the case matrix stops a worker; 3 samples keep one
 * reply that missed a sample's deadline from counting (the Celery probe's own test stops a
 * worker and sees it go). When no worker answered and the broker's queues stayed empty in
 * every sample, nothing the run did waited on one: a note, not a finding (the app's tested
 * endpoints queue no task, or its workers are not part of this deployment).
 */
import { METRICS } from '../../shared/metrics.js'
import { seriesIds, sumColumns, valuesIn } from '../grid.js'
import { at, wholeRun } from '../context.js'
import type { Detector } from '../context.js'
import { impact, impactFact } from '../impact.js'

const MIN_SAMPLES = 8
const MIN_SHORT = 3

export const celeryWorkersMissing: Detector = {
  order: 90,
  id: 'celery-workers-missing',
  findings: ['celery-workers-missing'],
  kind: 'cause',
  explainsFailures: ['timeout', 'check'],
  checklist: 'celery',
  needs: '--celery-broker or --celery-flower',
  run (ctx) {
    const ids = seriesIds(ctx.grid, 'celery', METRICS.celery.workersOnline)
    if (!ids.length) return { skipped: 'no Celery series (run with --celery-broker URL)' }
    const whole = wholeRun(ctx)
    const online = valuesIn(ctx.grid, sumColumns(ctx.grid, ids), whole)
    if (online.length < MIN_SAMPLES) return { skipped: `only ${online.length} Celery samples` }
    const most = Math.max(...online)
    const col = sumColumns(ctx.grid, ids)
    let missingFrom: number | null = null
    let missingCount = 0
    for (let i = 0; i < col.length; i++) {
      if (col[i] !== null && col[i]! < most) { missingCount++; if (missingFrom === null) missingFrom = ctx.grid.t[i]! }
    }
    if (most > 0 && missingCount < MIN_SHORT) return []
    const queueIds = seriesIds(ctx.grid, 'celery', METRICS.celery.queueDepth)
    const depths = queueIds.length ? valuesIn(ctx.grid, sumColumns(ctx.grid, queueIds), whole) : []
    const deepest = depths.length ? Math.max(...depths) : null
    if (most === 0 && deepest === 0) {
      return { noted: `no Celery worker answered during the run, and the broker's queues were empty in all ${depths.length} samples: nothing the run did waited on a worker` }
    }
    const imp = impact(ctx, whole, [], most === 0 ? ['no worker processed tasks'] : [])
    return [{
      id: 'celery-workers-missing',
      severity: imp.severity,
      title: most === 0 ? 'No Celery worker answered during the run' : `Celery workers went missing during the run (${most - Math.min(...online)} of ${most})`,
      cause: deepest === null ? 'No (or fewer) workers answered: tasks the app queues are not taken, and their results never arrive.'
        : deepest > 0 ? 'Tasks are queued but no (or fewer) workers take them: results never arrive.'
          : 'Fewer workers answered: a worker stopped during the run (a crash, an OOM kill); nothing waited in the queues yet.',
      evidence: {
        series: [...ids, ...queueIds],
        window: whole,
        values: { 'most workers': most, 'fewest workers': Math.min(...online), 'samples short': missingCount, ...(deepest !== null ? { 'deepest queue': deepest } : {}) },
        facts: [
          most === 0 ? 'no worker replied to the remote-control broadcast' : `fewer workers answered from ${at(ctx, missingFrom!)} on (${missingCount} samples)`,
          ...(deepest === null ? [] : [deepest > 0 ? `the broker's queues held up to ${deepest} messages` : 'the broker\'s queues stayed empty']),
          impactFact(imp)
        ]
      },
      ...(deepest === null ? { unmeasured: ['the broker\'s queue depth (give --celery-broker): whether tasks waited for the missing workers'] } : {}),
      confidence: 0.85,
      recommendations: ['Check the worker logs (crashes, OOM kills) and that workers consume the queue the app publishes to.']
    }]
  }
}
