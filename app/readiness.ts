/**
 * Checklist items 8-10 need a look outside the run: does the target's monitoring endpoint
 * answer, is an error tracker configured, do alert rules exist where the user points, is the
 * rollback plan written down. Each check is a single read, never load.
 */
import { readFileSync, statSync } from 'node:fs'
import { redactUrl } from '../shared/redact.js'
import { describeError } from '../shared/errors.js'
import type { Readiness, ReadinessCheck } from '../shared/types.js'

export interface ReadinessOptions {
  /** a Prometheus endpoint of the target (--monitoring-url, default --target-metrics) */
  monitoringUrl?: string
  /** an error tracker DSN (--error-tracker-dsn, default SENTRY_DSN) */
  errorTrackerDsn?: string
  /** a Prometheus rules file (--alert-rules) */
  alertRules?: string
  /** a Prometheus or Alertmanager rules API (--alert-rules-url) */
  alertRulesUrl?: string
  /** the rollback plan (--rollback-plan) */
  rollbackPlan?: string
}

async function get (url: string): Promise<{ status: number; body: string }> {
  // undici loads only when a readiness URL is checked (a run that gives none does not pay for it)
  const { request } = await import('undici')
  const res = await request(url, { headersTimeout: 3000, bodyTimeout: 3000 })
  return { status: res.statusCode, body: await res.body.text() }
}

/** Sentry-style DSN: scheme://publicKey@host/projectId */
function dsnParts (dsn: string): { host: string; project: string } | null {
  try {
    const u = new URL(dsn)
    const project = u.pathname.split('/').filter(Boolean).pop()
    if (!u.username || !project || !/^https?:$/.test(u.protocol)) return null
    return { host: u.host, project }
  } catch {
    return null
  }
}

async function monitoring (o: ReadinessOptions): Promise<ReadinessCheck | undefined> {
  const found: string[] = []
  const problems: string[] = []
  if (o.monitoringUrl) {
    const shown = redactUrl(o.monitoringUrl)
    try {
      const r = await get(o.monitoringUrl)
      const series = r.body.split('\n').filter(l => l && !l.startsWith('#')).length
      if (r.status === 200 && series > 0) found.push(`the Prometheus endpoint ${shown} answered with ${series} samples`)
      else problems.push(`${shown} answered HTTP ${r.status}${r.status === 200 ? ' with no samples' : ''}`)
    } catch (err) {
      problems.push(`${shown} did not answer (${describeError(err)})`)
    }
  }
  if (o.errorTrackerDsn) {
    const d = dsnParts(o.errorTrackerDsn)
    if (d) found.push(`an error tracker is configured (DSN for ${d.host}, project ${d.project})`)
    else problems.push('the error tracker DSN is not of the form https://<key>@<host>/<project>')
  }
  if (!found.length && !problems.length) return undefined
  return found.length ? { state: 'pass', evidence: [...found, ...problems].join('; ') } : { state: 'fail', evidence: problems.join('; ') }
}

function countAlertRules (text: string): number {
  try {
    const doc = JSON.parse(text) as { groups?: Array<{ rules?: Array<{ alert?: string; type?: string }> }>; data?: { groups?: Array<{ rules?: Array<{ type?: string; name?: string }> }> } }
    const groups = doc.data?.groups ?? doc.groups ?? []
    return groups.reduce((a, g) => a + (g.rules ?? []).filter(r => ('alert' in r && r.alert) || r.type === 'alerting').length, 0)
  } catch {
    // YAML rule files: "- alert: Name" entries
    return (text.match(/^\s*-?\s*alert:\s*\S+/gm) ?? []).length
  }
}

async function alerts (o: ReadinessOptions): Promise<ReadinessCheck | undefined> {
  if (o.alertRules) {
    let text: string
    try {
      text = readFileSync(o.alertRules, 'utf8')
    } catch (err) {
      return { state: 'fail', evidence: `the alert rules file ${o.alertRules} cannot be read (${describeError(err)})` }
    }
    const n = countAlertRules(text)
    return n > 0 ? { state: 'pass', evidence: `${n} alert rules in ${o.alertRules}` } : { state: 'fail', evidence: `${o.alertRules} holds no alert rule` }
  }
  if (o.alertRulesUrl) {
    const shown = redactUrl(o.alertRulesUrl)
    try {
      const r = await get(o.alertRulesUrl)
      if (r.status !== 200) return { state: 'fail', evidence: `${shown} answered HTTP ${r.status}` }
      const n = countAlertRules(r.body)
      return n > 0 ? { state: 'pass', evidence: `${n} alerting rules at ${shown}` } : { state: 'fail', evidence: `${shown} lists no alerting rule` }
    } catch (err) {
      return { state: 'fail', evidence: `${shown} did not answer (${describeError(err)})` }
    }
  }
  return undefined
}

function rollback (o: ReadinessOptions): ReadinessCheck | undefined {
  if (!o.rollbackPlan) return undefined
  try {
    const st = statSync(o.rollbackPlan)
    if (!st.isFile()) return { state: 'fail', evidence: `${o.rollbackPlan} is not a file` }
    const text = readFileSync(o.rollbackPlan, 'utf8').trim()
    if (!text) return { state: 'fail', evidence: `${o.rollbackPlan} is empty` }
    return { state: 'pass', evidence: `${o.rollbackPlan} (${text.split('\n').length} lines)` }
  } catch {
    return { state: 'fail', evidence: `${o.rollbackPlan} does not exist` }
  }
}

export async function checkReadiness (o: ReadinessOptions): Promise<Readiness> {
  const out: Readiness = {}
  const m = await monitoring({ ...o, errorTrackerDsn: o.errorTrackerDsn ?? process.env.SENTRY_DSN })
  if (m) out.monitoring = m
  const a = await alerts(o)
  if (a) out.alerts = a
  const r = rollback(o)
  if (r) out.rollback = r
  return out
}
