/**
 * diagnose(result): join, find the phases, run every detector, rank, and keep the figures the
 * checklist states too. Pure: the same result gives the same diagnosis, so a stored result
 * can be diagnosed again (`loadlens diagnose`) and recorded cases replayed in tests.
 */
import type { Diagnosis, Finding, ProbeStatus, RunResult } from '../shared/types.js'
import { join } from './grid.js'
import { findCapacity, findPhases, steadyWindow, warmWindow } from './phases.js'
import { rank } from './rank.js'
import type { Detector, DetectorContext } from './context.js'
import { probeFacts } from './facts.js'
import { measures } from './measures.js'
import { generatorCheck } from './generator.js'
import { DETECTORS } from './detectors/index.js'

export { DETECTORS } from './detectors/index.js'

export function diagnose (result: RunResult, detectors: Detector[] = DETECTORS): Diagnosis {
  const grid = join(result)
  const phases = findPhases(grid, result.meta)
  const steady = steadyWindow(phases, grid)
  const status: Record<string, ProbeStatus> = {}
  for (const s of result.probes.status) status[s.probe] = s
  const ctx: DetectorContext = { result, grid, phases, steady, warm: warmWindow(steady), expect: result.meta.expectations ?? {}, facts: probeFacts(result.probes.status), status, cache: {} }
  const causes: Finding[] = []
  const symptoms: Finding[] = []
  const skipped: Array<{ id: string; reason: string }> = []
  const notes: Array<{ id: string; text: string }> = []
  for (const d of detectors) {
    let out
    try {
      out = grid.t.length ? d.run(ctx) : { skipped: 'the run has no timeline' }
    } catch (err) {
      out = { skipped: `the detector failed: ${err instanceof Error ? err.message : String(err)}` }
    }
    if (!Array.isArray(out)) {
      if ('noted' in out) notes.push({ id: d.id, text: out.noted })
      else skipped.push({ id: d.id, reason: out.skipped })
      continue
    }
    for (const f of out) {
      if (d.checklist) f.checklist = d.checklist
      if (f.unmeasured && !f.unmeasured.length) delete f.unmeasured
      ;(d.kind === 'cause' ? causes : symptoms).push(f)
    }
  }
  const diagnosis: Diagnosis = { phases, findings: rank(causes, symptoms, detectors) }
  const capacity = findCapacity(grid, result.meta, result.meta.expectations, phases)
  if (capacity) diagnosis.capacity = capacity
  const unreliable = generatorCheck(grid, { result })
  if (unreliable) diagnosis.unreliable = unreliable
  if (skipped.length) diagnosis.skipped = skipped
  if (notes.length) diagnosis.notes = notes
  if (grid.t.length) diagnosis.measures = measures(ctx)
  return diagnosis
}
