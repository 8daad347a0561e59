/**
 * Ranking: the root cause first; symptoms explained by a cause are attached to it instead of
 * being listed on their own.
 */
import type { Finding, Severity, Window } from '../shared/types.js'

const SEVERITY: Record<Severity, number> = { critical: 0, warning: 1, info: 2 }

/** A finding of the key id is explained by any finding of the listed ids when both are present. */
const EXPLAINED_BY: Record<string, string[]> = {
  'pool-saturation': ['idle-in-transaction', 'slow-query', 'lock-waits'],
  'host-cpu': ['target-cpu'],
  'db-connections-growing': ['idle-in-transaction'],
  'lock-waits': ['idle-in-transaction']
}

function overlaps (a: Window, b: Window): boolean {
  return a.from <= b.to && b.from <= a.to
}

/** Causes that can explain failures of a kind (error bursts); latency limits any cause explains. */
const FAILURE_CAUSES: Record<string, string[]> = {
  timeout: ['pool-saturation', 'idle-in-transaction', 'slow-query', 'lock-waits', 'target-cpu', 'host-cpu', 'celery-backlog', 'db-connection-limit', 'memory-leak'],
  http: ['pool-saturation', 'idle-in-transaction', 'db-connection-limit', 'db-connections-over-limit', 'lock-waits', 'memory-leak'],
  reset: ['memory-leak', 'target-cpu'],
  refused: ['memory-leak', 'db-connection-limit'],
  check: ['celery-backlog']
}

function explains (cause: Finding, symptom: Finding): boolean {
  if (!overlaps(cause.evidence.window, symptom.evidence.window)) return false
  if (symptom.id !== 'error-burst') return true
  const kind = String(symptom.evidence.values.kind ?? '')
  return (FAILURE_CAUSES[kind] ?? []).includes(cause.id)
}

export function rank (causes: Finding[], symptoms: Finding[], order: string[]): Finding[] {
  const pos = (f: Finding): number => {
    const i = order.indexOf(f.id)
    return i < 0 ? order.length : i
  }
  const byRank = (a: Finding, b: Finding): number =>
    SEVERITY[a.severity] - SEVERITY[b.severity] || b.confidence - a.confidence || pos(a) - pos(b)
  // causes explained by a deeper cause become its symptoms
  const top: Finding[] = []
  const folded: Array<{ f: Finding; into: Finding }> = []
  for (const f of causes) {
    const deeper = (EXPLAINED_BY[f.id] ?? []).map(id => causes.find(c => c.id === id)).find(Boolean)
    if (deeper) folded.push({ f, into: deeper })
    else top.push(f)
  }
  top.sort(byRank)
  for (const { f, into } of folded) (into.symptoms ??= []).push(f)
  const loose: Finding[] = []
  for (const s of symptoms) {
    const cause = top.find(c => explains(c, s))
    if (cause) (cause.symptoms ??= []).push(s)
    else loose.push(s)
  }
  for (const c of top) c.symptoms?.sort(byRank)
  return [...top, ...loose.sort(byRank)]
}
