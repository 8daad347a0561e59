/**
 * diagnose(result): join, find the phases, run every detector, rank. Pure: the same result
 * gives the same diagnosis, so a stored result can be diagnosed again (`loadlens diagnose`).
 */
import type { Diagnosis, Finding, RunResult } from '../shared/types.js'
import { join } from './grid.js'
import { findCapacity, findPhases, steadyWindow, warmWindow } from './phases.js'
import { rank } from './rank.js'
import type { Detector, DetectorContext } from './context.js'
import { poolSaturation, dbConnections, idleInTransaction, slowQueries } from './detectors/postgres.js'
import { cacheHitRate } from './detectors/cache.js'
import { memoryLeak } from './detectors/memory.js'
import { targetCpu, hostCpu, generatorCheck } from './detectors/cpu.js'
import { celeryBacklog } from './detectors/celery.js'
import { errorBursts, latencyLimits } from './detectors/errors.js'

/** Every detector, in the order that breaks ties in the ranking (more specific causes first). */
export const DETECTORS: Detector[] = [
  idleInTransaction,
  slowQueries,
  poolSaturation,
  dbConnections,
  celeryBacklog,
  cacheHitRate,
  memoryLeak,
  targetCpu,
  hostCpu,
  errorBursts,
  latencyLimits
]

export function diagnose (result: RunResult, detectors: Detector[] = DETECTORS): Diagnosis {
  const grid = join(result)
  const phases = findPhases(grid, result.meta)
  const steady = steadyWindow(phases, grid)
  const facts: DetectorContext['facts'] = {}
  const status: DetectorContext['status'] = {}
  for (const s of result.probes.status) {
    status[s.probe] = s
    if (s.facts) facts[s.probe] = s.facts
  }
  const ctx: DetectorContext = { result, grid, phases, steady, warm: warmWindow(steady), expect: result.meta.expectations ?? {}, facts, status }
  const causes: Finding[] = []
  const symptoms: Finding[] = []
  const skipped: Array<{ id: string; reason: string }> = []
  const order: string[] = []
  for (const d of detectors) {
    order.push(d.id)
    let out
    try {
      out = grid.t.length ? d.run(ctx) : { skipped: 'the run has no timeline' }
    } catch (err) {
      out = { skipped: `the detector failed: ${err instanceof Error ? err.message : String(err)}` }
    }
    if (!Array.isArray(out)) { skipped.push({ id: d.id, reason: out.skipped }); continue }
    for (const f of out) {
      if (!order.includes(f.id)) order.push(f.id)
      ;(d.kind === 'cause' ? causes : symptoms).push(f)
    }
  }
  const diagnosis: Diagnosis = { phases, findings: rank(causes, symptoms, order) }
  const capacity = findCapacity(grid, result.meta, result.meta.expectations, phases)
  if (capacity) diagnosis.capacity = capacity
  const unreliable = generatorCheck(grid, { result })
  if (unreliable) diagnosis.unreliable = unreliable
  if (skipped.length) diagnosis.skipped = skipped
  return diagnosis
}
