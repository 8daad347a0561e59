/** The pre-deploy checklist in the terminal. */
import type { ChecklistItem } from '../../shared/types.js'

const MARK: Record<ChecklistItem['state'], string> = { pass: 'PASS', fail: 'FAIL', 'not measured': '----' }

export function formatChecklist (items: ChecklistItem[]): string {
  const lines = ['Pre-deploy checklist']
  items.forEach((i, n) => {
    lines.push(`  ${MARK[i.state]}  ${String(n + 1).padStart(2)}. ${i.title}${i.required ? '' : ' (advisory)'}${i.state === 'not measured' ? ': not measured' : ''}`)
    lines.push(`              ${i.evidence}`)
  })
  const failed = items.filter(i => i.state === 'fail' && i.required).length
  const unmeasured = items.filter(i => i.state === 'not measured').length
  lines.push(`  ${failed ? `${failed} required item${failed === 1 ? '' : 's'} failed` : 'every measured required item passed'}${unmeasured ? `; ${unmeasured} not measured` : ''}`)
  return lines.join('\n')
}
