/**
 * JUnit XML for CI: the checklist items and the profile's expectations as test cases.
 * A failed item is a <failure> (type "advisory" for items that do not gate), an item that
 * could not be measured is <skipped> with what would measure it. Findings of the diagnosis
 * go into <system-out> of the suite, so CI test views show the cause next to the failure.
 */
import type { RunResult } from '../shared/types.js'
import { checkExpectations } from './expectations.js'
import type { ExpectationCheck } from './expectations.js'

/** XML 1.0 text: escaped, and without the control characters XML forbids. */
export function xmlText (s: string): string {
  return s
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '\ufffd')
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
}

interface Case {
  name: string
  classname: string
  failure?: { message: string; type: string; text: string }
  skipped?: string
  out?: string
}

function suite (name: string, cases: Case[], timestamp: string, timeS: number, out?: string): string {
  const failures = cases.filter(c => c.failure).length
  const skipped = cases.filter(c => c.skipped !== undefined).length
  const lines = [`  <testsuite name="${xmlText(name)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="${skipped}" timestamp="${timestamp}" time="${timeS.toFixed(3)}">`]
  for (const c of cases) {
    const open = `    <testcase classname="${xmlText(c.classname)}" name="${xmlText(c.name)}" time="0"`
    if (!c.failure && c.skipped === undefined && !c.out) { lines.push(`${open}/>`); continue }
    lines.push(`${open}>`)
    if (c.failure) lines.push(`      <failure message="${xmlText(c.failure.message)}" type="${xmlText(c.failure.type)}">${xmlText(c.failure.text)}</failure>`)
    if (c.skipped !== undefined) lines.push(`      <skipped message="${xmlText(c.skipped)}"/>`)
    if (c.out) lines.push(`      <system-out>${xmlText(c.out)}</system-out>`)
    lines.push('    </testcase>')
  }
  if (out) lines.push(`    <system-out>${xmlText(out)}</system-out>`)
  lines.push('  </testsuite>')
  return lines.join('\n')
}

export function junitXml (result: RunResult, checks: ExpectationCheck[] = checkExpectations(result)): string {
  const m = result.meta
  const timestamp = new Date(m.startedAt).toISOString().replace(/\.\d+Z$/, '')
  const timeS = Math.max(0, (m.endedAt - m.startedAt) / 1000)
  const base = `loadlens.${m.scenario}${m.profile ? `.${m.profile}` : ''}`
  const findings = (result.diagnosis?.findings ?? []).map(f => `[${f.severity}] ${f.title}\n  ${f.cause}\n${f.recommendations.map(r => `  - ${r}`).join('\n')}`).join('\n')
  const suites: string[] = []
  if (result.checklist?.length) {
    suites.push(suite(`${base} checklist`, result.checklist.map(item => {
      const c: Case = { classname: `${base}.checklist`, name: item.title, out: item.evidence }
      if (item.state === 'fail') c.failure = { message: `${item.required ? '' : 'advisory: '}${item.evidence}`, type: item.required ? 'checklist' : 'advisory', text: `${item.title}: ${item.evidence}` }
      else if (item.state === 'not measured') c.skipped = `not measured: ${item.evidence}`
      return c
    }), timestamp, timeS, findings || undefined))
  }
  const cases: Case[] = checks.map(c => ({
    classname: `${base}.expectations`,
    name: c.label,
    out: c.text,
    ...(c.pass ? {} : { failure: { message: c.text, type: 'expectation', text: `${c.label}: ${c.text}` } })
  }))
  if (cases.length || !result.checklist?.length) {
    // a run without criteria still yields one case: the run itself completed
    if (cases.length === 0) {
      const done = m.stopReason !== 'error'
      cases.push({
        classname: `${base}.run`,
        name: 'run completed',
        out: `${result.totals.overall.requests} requests, ${result.totals.overall.failures} failures`,
        ...(done ? {} : { failure: { message: `the run stopped: ${m.stopReason}${m.stopMessage ? ` (${m.stopMessage})` : ''}`, type: 'run', text: m.stopMessage ?? m.stopReason } })
      })
    }
    suites.push(suite(`${base} expectations`, cases, timestamp, timeS, result.checklist?.length ? undefined : findings || undefined))
  }
  const tests = suites.join('\n')
  const count = (re: RegExp): number => (tests.match(re) ?? []).length
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="loadlens" tests="${count(/<testcase /g)}" failures="${count(/<failure /g)}" errors="0" time="${timeS.toFixed(3)}">\n${tests}\n</testsuites>\n`
}
