/**
 * The one-line verdict every output leads with: from the checklist when the result has one
 * (a required item failed -> fail), otherwise from the profile's expectations.
 */
import type { RunResult } from '../shared/types.js'
import { checkExpectations } from './expectations.js'
import type { ExpectationCheck } from './expectations.js'

export interface Verdict {
  state: 'pass' | 'fail' | 'none'
  /** "PASS", "FAIL", "NO CRITERIA" */
  label: string
  /** one sentence: what decided it */
  summary: string
  source: 'checklist' | 'expectations' | 'none'
  /** things a reader must know besides the verdict (stop reason, unreliable generator) */
  notes: string[]
}

export function verdictOf (result: RunResult, checks: ExpectationCheck[] = checkExpectations(result)): Verdict {
  const notes: string[] = []
  const m = result.meta
  if (m.stopReason !== 'completed') notes.push(`the run stopped early: ${m.stopReason}${m.stopMessage ? ` (${m.stopMessage})` : ''}`)
  if (result.diagnosis?.unreliable) notes.push(`the load generator was not reliable: ${result.diagnosis.unreliable.reason}`)
  if (result.totals.overall.requests === 0) notes.push('no request was made')
  const items = result.checklist
  if (items && items.length) {
    const failed = items.filter(i => i.state === 'fail' && i.required)
    const advisory = items.filter(i => i.state === 'fail' && !i.required)
    const unmeasured = items.filter(i => i.state === 'not measured')
    const passed = items.filter(i => i.state === 'pass')
    const tail = `${passed.length} passed, ${unmeasured.length} not measured${advisory.length ? `, ${advisory.length} advisory failed` : ''}`
    if (failed.length) {
      return { state: 'fail', label: 'FAIL', summary: `${failed.length} required checklist item${failed.length === 1 ? '' : 's'} failed: ${failed.map(i => i.title).join('; ')} (${tail})`, source: 'checklist', notes }
    }
    return { state: 'pass', label: 'PASS', summary: `every required checklist item passed (${tail})`, source: 'checklist', notes }
  }
  if (checks.length) {
    const failed = checks.filter(c => !c.pass)
    if (failed.length) return { state: 'fail', label: 'FAIL', summary: `${failed.length} of ${checks.length} expectations failed: ${failed.map(c => c.label).join('; ')}`, source: 'expectations', notes }
    return { state: 'pass', label: 'PASS', summary: `all ${checks.length} expectations of the profile were met`, source: 'expectations', notes }
  }
  return { state: 'none', label: 'NO CRITERIA', summary: 'the profile sets no expectations and the result has no checklist', source: 'none', notes }
}
