/**
 * A Markdown summary for pull-request comments: the verdict, the checklist (or the
 * expectations), the findings with what to do, the per-request table and the top failures.
 * Every name from the scenario or the target is escaped (GitHub renders HTML in Markdown).
 */
import type { RunResult } from '../shared/types.js'
import { formatDuration } from '../shared/duration.js'
import { checkExpectations } from './expectations.js'
import type { ExpectationCheck } from './expectations.js'
import { tableStats } from './stats.js'
import { verdictOf } from './verdict.js'
import { formatMs, formatNumber } from './terminal/table.js'

/** Text for a Markdown paragraph or table cell: no HTML, no table breaks, no formatting. */
export function mdText (s: string, max = 200): string {
  let t = s.replace(/\r?\n|\r/g, ' ')
  if (t.length > max) t = t.slice(0, max - 1) + '…'
  return t
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|~])/g, '\\$1')
}

function table (head: string[], rows: string[][], align?: string[]): string {
  const sep = head.map((_, i) => align?.[i] ?? '---')
  return [head, sep, ...rows].map(r => `| ${r.join(' | ')} |`).join('\n')
}

const STATE_ICON: Record<string, string> = { pass: '✅', fail: '❌', 'not measured': '➖' }

export function markdownSummary (result: RunResult, checks: ExpectationCheck[] = checkExpectations(result)): string {
  const m = result.meta
  const v = verdictOf(result, checks)
  const { rows, overall } = tableStats(result)
  const icon = v.state === 'pass' ? '✅' : v.state === 'fail' ? '❌' : 'ℹ️'
  const out: string[] = []
  out.push(`### ${icon} loadlens: ${v.label} — ${mdText(m.scenario)}${m.profile ? ` / ${mdText(m.profile)}` : ''}`)
  out.push('')
  const d = (m.endedAt - m.startedAt) / 1000
  out.push(`${mdText(v.summary, 500)}.`)
  out.push('')
  out.push(`${formatDuration(d)} against \`${m.host.replace(/`/g, "'")}\`, ${m.model.kind === 'closed' ? `peak ${m.peakUsers ?? '?'} users` : 'open model'}: ` +
    `**${formatNumber(overall.requests)}** requests, **${(overall.failureRatio * 100).toFixed(2)}%** failed, ` +
    `p50 **${formatMs(overall.p50)} ms**, p95 **${formatMs(overall.p95)} ms**, p99 **${formatMs(overall.p99)} ms**, ${formatNumber(overall.rps, 1)} req/s.`)
  for (const n of v.notes) out.push(`\n> ⚠️ ${mdText(n, 500)}`)
  if (result.diagnosis?.capacity) {
    const c = result.diagnosis.capacity
    out.push('', `**Capacity:** ${formatNumber(c.maxUsers)} concurrent users held within the criteria (${mdText(c.reason, 300)}).`)
  }
  if (result.checklist?.length) {
    out.push('', '#### Checklist', '')
    out.push(table(['', 'Item', 'Evidence'], result.checklist.map(i => [
      `${STATE_ICON[i.state] ?? ''}${i.required ? '' : ' (advisory)'}`, mdText(i.title), mdText(i.evidence, 300)
    ])))
  } else if (checks.length) {
    out.push('', '#### Expectations', '')
    out.push(table(['', 'Check', 'Measured'], checks.map(c => [c.pass ? '✅' : '❌', mdText(c.label), mdText(c.text)])))
  }
  const findings = result.diagnosis?.findings ?? []
  if (findings.length) {
    out.push('', '#### Findings', '')
    for (const f of findings.slice(0, 8)) {
      const sev = f.severity === 'critical' ? '🔴' : f.severity === 'warning' ? '🟠' : '🔵'
      out.push(`- ${sev} **${mdText(f.title)}** (confidence ${Math.round(f.confidence * 100)}%)`)
      out.push(`  ${mdText(f.cause, 500)}`)
      for (const u of f.unmeasured ?? []) out.push(`  - not measured: ${mdText(u, 300)}`)
      for (const r of f.recommendations.slice(0, 4)) out.push(`  - ${mdText(r, 300)}`)
    }
    if (findings.length > 8) out.push(`- … and ${findings.length - 8} more in the HTML report`)
  }
  if (rows.length) {
    out.push('', '#### Requests', '')
    const shown = rows.slice(0, 30)
    out.push(table(
      ['Type', 'Name', 'Requests', 'Failures', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'],
      [...shown, { ...overall, type: '', name: 'Aggregated' }].map(r => [
        mdText(r.type, 20), r.name === 'Aggregated' && !r.type ? '**Aggregated**' : mdText(r.name, 80), formatNumber(r.requests),
        `${formatNumber(r.failures)} (${(r.failureRatio * 100).toFixed(1)}%)`, formatNumber(r.rps, 1),
        formatMs(r.p50), formatMs(r.p95), formatMs(r.p99), formatMs(r.maxMs)
      ]),
      ['---', '---', '---:', '---:', '---:', '---:', '---:', '---:', '---:']
    ))
    if (rows.length > shown.length) out.push('', `… ${rows.length - shown.length} more rows in the HTML report.`)
  }
  if (result.errors.length) {
    out.push('', '<details><summary>Failures</summary>', '')
    out.push(table(['Count', 'Request', 'Error'], result.errors.slice(0, 15).map(e => [formatNumber(e.count), mdText(`${e.type} ${e.name}`, 80), mdText(e.message, 200)]), ['---:', '---', '---']))
    out.push('', '</details>')
  }
  out.push('', `<sub>loadlens ${mdText(m.versions.loadlens)} · run ${mdText(m.runId)} · ${new Date(m.startedAt).toISOString().slice(0, 19).replace('T', ' ')} UTC</sub>`, '')
  return out.join('\n')
}
