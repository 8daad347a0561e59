/** The pre-deploy checklist in the terminal. */
import type { ChecklistItem } from '../../shared/types.js'

const MARK: Record<ChecklistItem['state'], string> = { pass: 'PASS', fail: 'FAIL', 'not measured': '----' }

/** @param strict required items not measured fail the gate too (--strict-checklist) */
export function formatChecklist (items: ChecklistItem[], strict = false): string {
  const lines = ['Pre-deploy checklist']
  items.forEach((i, n) => {
    lines.push(`  ${MARK[i.state]}  ${String(n + 1).padStart(2)}. ${i.title}${i.required ? '' : ' (advisory)'}${i.state === 'not measured' ? ': not measured' : ''}`)
    lines.push(`              ${i.evidence}`)
  })
  const failed = items.filter(i => i.state === 'fail' && i.required).length
  const unmeasured = items.filter(i => i.state === 'not measured').length
  const unmeasuredRequired = items.filter(i => i.state === 'not measured' && i.required).length
  const verdict = failed
    ? `${failed} required item${failed === 1 ? '' : 's'} failed`
    : strict && unmeasuredRequired ? `${unmeasuredRequired} required item${unmeasuredRequired === 1 ? ' was' : 's were'} not measured, which fails the gate with --strict-checklist` : 'every measured required item passed'
  lines.push(`  ${verdict}${unmeasured && !(strict && unmeasuredRequired && !failed) ? `; ${unmeasured} not measured` : ''}`)
  return lines.join('\n')
}
