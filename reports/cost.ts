/**
 * The cost model: a scenario gives unit costs to request names, flows or tasks (e.g. the
 * voice flow calls a paid speech-to-text and language model); the result reports the
 * estimated cost in total and per user (the seed's "OpenAI cost per user").
 */
import type { CostSummary, RunResult } from '../shared/types.js'
import { costLookup } from '../loadgen/cost.js'

export function computeCost (result: RunResult, costs: Record<string, number>, currency = 'USD', budget?: number): CostSummary | undefined {
  const unit = costLookup(costs)
  if (!unit) return undefined
  const byName: CostSummary['byName'] = {}
  let total = 0
  for (const e of result.totals.entries) {
    const u = unit(e.type, e.name)
    if (!u) continue
    byName[e.key] = { count: e.requests, unit: u, total: e.requests * u }
    total += e.requests * u
  }
  for (const [key, count] of Object.entries(result.totals.tasks)) {
    const u = unit('TASK', key)
    if (!u) continue
    byName[`TASK ${key}`] = { count, unit: u, total: count * u }
    total += count * u
  }
  const users = Math.max(1, result.meta.peakUsers ?? 1)
  const out: CostSummary = { currency, total: round(total), perUser: round(total / users), users, byName }
  if (budget !== undefined) out.budget = budget
  return out
}

function round (v: number): number {
  return Math.round(v * 1e6) / 1e6
}
