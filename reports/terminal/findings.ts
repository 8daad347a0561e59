/** The diagnosis in the terminal: causes first, each with its evidence and what to do. */
import type { Finding, RunResult } from '../../shared/types.js'
import { formatClock } from '../../shared/duration.js'

const MARK: Record<Finding['severity'], string> = { critical: 'CRITICAL', warning: 'WARNING', info: 'INFO' }

function when (result: RunResult, t: number): string {
  return formatClock(t - Math.floor(result.meta.startedAt / 1000))
}

function formatFinding (result: RunResult, f: Finding, index: number, indent = ''): string[] {
  const w = f.evidence.window
  const lines = [`${indent}${index}. [${MARK[f.severity]}] ${f.title}`]
  lines.push(`${indent}   ${f.cause}`)
  lines.push(`${indent}   window ${when(result, w.from)}-${when(result, w.to)}, confidence ${Math.round(f.confidence * 100)}%`)
  for (const fact of f.evidence.facts) lines.push(`${indent}   - ${fact}`)
  for (const u of f.unmeasured ?? []) lines.push(`${indent}   ? not measured: ${u}`)
  if (f.recommendations.length) {
    lines.push(`${indent}   What to do:`)
    for (const r of f.recommendations) lines.push(`${indent}   * ${r}`)
  }
  if (f.symptoms?.length) {
    lines.push(`${indent}   Explains:`)
    for (const s of f.symptoms) lines.push(`${indent}   - ${s.title}`)
  }
  return lines
}

export function formatDiagnosis (result: RunResult): string {
  const d = result.diagnosis
  if (!d) return 'Diagnosis: not computed.'
  const lines: string[] = []
  const phases = d.phases.map(p => `${p.kind} ${when(result, p.from)}-${when(result, p.to)}`).join(', ')
  lines.push(`Diagnosis (${phases || 'no timeline'})`)
  if (d.unreliable) lines.push(`  ! The measurements are unreliable: ${d.unreliable.reason}`)
  if (d.findings.length === 0) lines.push('  No bottleneck found: every detector that had data saw a healthy system.')
  d.findings.forEach((f, i) => lines.push(...formatFinding(result, f, i + 1, '  ')))
  if (d.capacity) {
    const c = d.capacity
    lines.push(`  Capacity: ${c.maxUsers} concurrent users held within the criteria: ${c.reason}.`)
    if (c.knee) lines.push(`  Throughput stopped following the users at ${c.knee.users} users (${when(result, c.knee.at)}, ${c.knee.rps} req/s).`)
  }
  if (d.notes?.length) for (const n of d.notes) lines.push(`  Noted, not a finding about the requests (${n.id}): ${n.text}`)
  if (d.skipped?.length) lines.push(`  Not checked: ${d.skipped.map(s => `${s.id} (${s.reason})`).join('; ')}`)
  return lines.join('\n')
}
