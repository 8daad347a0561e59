/**
 * Error bursts: failures clustered by request row, kind and time (timeouts vs refusals vs
 * resets vs HTTP errors). A symptom: the ranking attaches it to the cause whose detector
 * declares it explains that kind of failure (explainsFailures), when there is one.
 *
 * Tuning cases: the errors faults (5-15 % of requests answered 500) fire; the healthy tuning
 * cases had no failed request.
 */
import type { ErrorGroup, Finding, FailureKind } from '../../shared/types.js'
import { at, pct, round } from '../context.js'
import type { Detector, DetectorContext } from '../context.js'
import { impact, impactFact } from '../impact.js'

/** seconds without failures that still belong to the same burst */
const MAX_GAP_S = 2
/** a burst has at least this many failures ... */
const MIN_FAILURES = 5
/** ... and at least this share of its row's requests in its window */
const MIN_SHARE = 0.05

const KIND_WORDS: Record<FailureKind, string> = {
  http: 'HTTP errors',
  check: 'failed checks',
  timeout: 'timeouts',
  refused: 'refused connections',
  reset: 'connections reset by the server',
  dns: 'DNS failures',
  blocked: 'requests not sent to a host that is not allowed',
  other: 'failures'
}

const KIND_ADVICE: Record<FailureKind, string> = {
  timeout: 'Timeouts mean requests waited longer than the request timeout: look for the queue they waited in (connection pool, workers, locks) in the findings above.',
  refused: 'Refused connections mean nothing accepted them: the target crashed, restarted, or its accept backlog overflowed.',
  reset: 'Resets mean the server closed connections mid-request: crashes, proxies timing out, or keep-alive mismatches.',
  http: "Read the target's logs for these statuses; 5xx under load often come from exhausted pools or the limits of services the target calls.",
  check: 'The responses arrived but their content was wrong: check what the endpoint returns under load.',
  dns: 'Check the host name and the resolver.',
  blocked: 'The target redirected (or a task pointed) to a host outside loopback and the scenario\'s allowedHosts, so loadlens did not send the request: list the host in allowedHosts if it is yours to load, or pass --allow-remote.',
  other: "Read the target's logs around this window."
}

interface Burst { groups: ErrorGroup[]; from: number; to: number; count: number }

export const errorBursts: Detector = {
  order: 140,
  id: 'error-burst',
  findings: ['error-burst'],
  kind: 'symptom',
  checklist: 'failures',
  needs: 'nothing beyond the load itself',
  run (ctx) {
    if (ctx.result.errors.length === 0) return []
    const out: Array<{ f: Finding; flow: number }> = []
    // group error groups by (row, kind): one burst can mix messages of the same kind
    const byRowKind = new Map<string, ErrorGroup[]>()
    for (const g of ctx.result.errors) {
      const k = `${g.type} ${g.name}\u0000${g.kind}`
      byRowKind.set(k, [...(byRowKind.get(k) ?? []), g])
    }
    for (const groups of byRowKind.values()) {
      const n = ctx.grid.t.length
      const counts = new Array<number>(n).fill(0)
      for (const g of groups) {
        const col = ctx.grid.errors.get(g.id)
        if (col) for (let i = 0; i < n; i++) counts[i]! += col[i]!
      }
      for (const b of bursts(counts)) {
        const rowKey = `${groups[0]!.type} ${groups[0]!.name}`
        const row = ctx.grid.rows.get(rowKey)
        let requests = 0
        if (row) for (let i = b.from; i <= b.to; i++) requests += row.requests[i]!
        const share = requests ? b.count / requests : 1
        if (b.count < MIN_FAILURES || share < MIN_SHARE) continue
        out.push({ f: describe(ctx, groups, { groups, from: ctx.grid.t[b.from]!, to: ctx.grid.t[b.to]!, count: b.count }, share, requests), flow: groups[0]!.type === 'FLOW' ? 1 : 0 })
      }
    }
    // a measured flow fails when a request inside it fails: a flow's burst that overlaps a
    // request's burst echoes it (summed over every step, so it looks larger) and is left out
    const requestWindows = out.filter(x => !x.flow).map(x => x.f.evidence.window!)
    const echoes = (w: { from: number; to: number }): boolean => requestWindows.some(r => r.from <= w.to && w.from <= r.to)
    return out.filter(x => !x.flow || !echoes(x.f.evidence.window!))
      .sort((a, b) => a.flow - b.flow || Number(b.f.evidence.values.failures) - Number(a.f.evidence.values.failures)).map(x => x.f)
  }
}

function bursts (counts: number[]): Array<{ from: number; to: number; count: number }> {
  const out: Array<{ from: number; to: number; count: number }> = []
  let cur: { from: number; to: number; count: number } | null = null
  for (let i = 0; i < counts.length; i++) {
    if (counts[i]! > 0) {
      if (cur && i - cur.to <= MAX_GAP_S + 1) { cur.to = i; cur.count += counts[i]! } else { if (cur) out.push(cur); cur = { from: i, to: i, count: counts[i]! } }
    }
  }
  if (cur) out.push(cur)
  return out
}

function describe (ctx: DetectorContext, groups: ErrorGroup[], b: Burst, share: number, requests: number): Finding {
  const g = groups[0]!
  const statuses = [...new Set(groups.map(x => x.status).filter(s => s !== undefined))]
  const what = g.kind === 'http' && statuses.length ? `HTTP ${statuses.join('/')} errors` : KIND_WORDS[g.kind]
  const duration = b.to - b.from + 1
  const messages = groups.slice(0, 3).map(x => `"${x.message}" x${x.count}`).join(', ')
  const limit = ctx.expect.failureRatio ?? 0.01
  const imp = impact(ctx, { from: b.from, to: b.to }, [], share > limit ? [`${pct(share)} of ${g.type} ${g.name} failed (limit ${pct(limit)})`] : [])
  return {
    id: 'error-burst',
    severity: imp.severity,
    title: `${b.count} ${what} on ${g.type} ${g.name} (${pct(share)} of its requests) ${duration > 1 ? `for ${duration} s from ${at(ctx, b.from)}` : `at ${at(ctx, b.from)}`}`,
    cause: `Requests to ${g.name} failed with ${what} in a burst.`,
    evidence: {
      series: [],
      window: { from: b.from, to: b.to },
      values: { failures: b.count, requests, share: round(share, 3), kind: g.kind, row: `${g.type} ${g.name}`, ...(statuses.length ? { statuses: statuses.join(',') } : {}) },
      facts: [`${b.count} of ${requests} requests to ${g.type} ${g.name} failed between ${at(ctx, b.from)} and ${at(ctx, b.to)}: ${messages}`, impactFact(imp)]
    },
    confidence: 0.9,
    recommendations: [KIND_ADVICE[g.kind]]
  }
}

