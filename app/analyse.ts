/**
 * analyse(result): the one place where a result gets what loadlens says about it, in order:
 * the diagnosis, the cost summary, the readiness of the deployment (its checks are run by the
 * caller: they are the only part that talks to the network) and the pre-deploy checklist. Used
 * by run (and demo, ui, locust through it), recover, merge, check, diagnose and the web UI.
 */
import type { Readiness, RunResult } from '../shared/types.js'
import { diagnose } from '../correlate/diagnose.js'
import { computeCost } from '../reports/cost.js'
import { evaluateChecklist } from '../reports/checklist.js'

export interface AnalyseOptions {
  /** 'always' (default) computes the diagnosis again; 'if-missing' keeps a stored one; false leaves it */
  diagnose?: 'always' | 'if-missing' | false
  /** the scenario's unit costs: the cost summary (left as it is when not given) */
  costs?: { units: Record<string, number>; currency?: string; budget?: number }
  /** readiness checked by the caller (checkReadiness), merged over the stored one */
  readiness?: Readiness
  /** checklist ids that only warn, on top of the profile's */
  advisory?: string[]
  /** the checklist: true (default), false to leave it, or 'if-present' to redo one only where the result had one */
  checklist?: boolean | 'if-present'
}

/** Fills in the result's diagnosis, cost, readiness and checklist (the result itself is changed and returned). */
export function analyse (result: RunResult, o: AnalyseOptions = {}): RunResult {
  const mode = o.diagnose ?? 'always'
  if (mode === 'always' || (mode === 'if-missing' && !result.diagnosis)) result.diagnosis = diagnose(result)
  if (o.costs && Object.keys(o.costs.units).length) result.cost = computeCost(result, o.costs.units, o.costs.currency, o.costs.budget)
  if (o.readiness && Object.keys(o.readiness).length) result.meta.readiness = { ...(result.meta.readiness ?? {}), ...o.readiness }
  const checklist = o.checklist ?? true
  if (checklist === true || (checklist === 'if-present' && result.checklist)) {
    result.checklist = evaluateChecklist(result, result.meta.readiness, [...(result.meta.advisory ?? []), ...(o.advisory ?? [])])
  }
  return result
}
