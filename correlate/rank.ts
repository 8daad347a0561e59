/**
 * Ranking: the root cause first. What each detector declares decides the folding: a cause
 * whose finding another present cause `explains` becomes that cause's symptom (a saturated
 * pool under transactions held open); an error burst goes under the cause that explains its
 * kind of failure (`explainsFailures`), or on a request row the cause names as affected, in an
 * overlapping window; a latency-limit symptom under
 * any cause whose window overlaps it. The rest is ordered by severity, confidence, then the
 * detectors' order.
 */
import type { Finding, Severity, Window } from '../shared/types.js'
import type { Detector } from './context.js'

const SEVERITY: Record<Severity, number> = { critical: 0, warning: 1, info: 2 }

function overlaps (a: Window, b: Window): boolean {
  return a.from <= b.to && b.from <= a.to
}

export function rank (causes: Finding[], symptoms: Finding[], detectors: Detector[]): Finding[] {
  const byFinding = new Map<string, Detector>()
  const order: string[] = []
  for (const d of detectors) for (const id of d.findings) { if (!byFinding.has(id)) byFinding.set(id, d); order.push(id) }
  const pos = (f: Finding): number => {
    const i = order.indexOf(f.id)
    return i < 0 ? order.length : i
  }
  const byRank = (a: Finding, b: Finding): number =>
    SEVERITY[a.severity] - SEVERITY[b.severity] || b.confidence - a.confidence || pos(a) - pos(b)
  const explainsCause = (deeper: Finding, f: Finding): boolean => deeper !== f && (byFinding.get(deeper.id)?.explains ?? []).includes(f.id)
  const top: Finding[] = []
  const folded: Array<{ f: Finding; into: Finding }> = []
  for (const f of causes) {
    const deeper = causes.find(c => explainsCause(c, f) && !explainsCause(f, c))
    if (deeper) folded.push({ f, into: deeper })
    else top.push(f)
  }
  top.sort(byRank)
  for (const { f, into } of folded) (into.symptoms ??= []).push(f)
  const explainsSymptom = (cause: Finding, s: Finding): boolean => {
    if (!overlaps(cause.evidence.window, s.evidence.window)) return false
    if (s.id !== 'error-burst') return true
    const kind = String(s.evidence.values.kind ?? '')
    // failures of a kind the cause explains, or of a request row (or flow) the cause itself names as affected
    return (byFinding.get(cause.id)?.explainsFailures ?? []).includes(kind as never) ||
      (cause.evidence.rows ?? []).some(r => r.key === s.evidence.values.row)
  }
  const loose: Finding[] = []
  for (const s of symptoms) {
    const cause = top.find(c => explainsSymptom(c, s))
    if (cause) (cause.symptoms ??= []).push(s)
    else loose.push(s)
  }
  for (const c of top) c.symptoms?.sort(byRank)
  return [...top, ...loose.sort(byRank)]
}
