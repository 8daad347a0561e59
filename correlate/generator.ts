/**
 * The generator's check of itself: when its own event loop was saturated, the latencies it
 * measured include its own queueing, and the diagnosis marks the run unreliable (not a
 * finding about the system under test).
 */
import type { Diagnosis, RunResult, Window } from '../shared/types.js'
import type { Grid } from './grid.js'
import { SATURATION } from '../loadgen/health.js'

/** the generator's own rule for a saturated second and run (loadgen/health.ts) */
const GEN_ELU = SATURATION.elu
const GEN_DELAY_MS = SATURATION.loopDelayMs
const GEN_MIN_S = SATURATION.minSeconds
const GEN_MIN_SHARE = SATURATION.minShare

/** The generator checking itself: when its own event loop was saturated, latencies include its own queueing. */
export function generatorCheck (grid: Grid, ctx: { result: RunResult }): Diagnosis['unreliable'] {
  // the run judged itself thread by thread (loadgen/health.ts); older results are judged here
  const sat = ctx.result.meta.saturation
  if (sat) return { reason: `${sat.message}: latencies include its own queueing; use --workers or more machines`, window: sat.window }
  const n = grid.t.length
  const bad: number[] = []
  const why = new Set<string>()
  for (let i = 0; i < n; i++) {
    const elu = grid.generator.elu[i]
    const delay = grid.generator.loopDelayMs[i]
    if ((elu ?? 0) >= GEN_ELU) { bad.push(i); why.add(`event-loop utilisation >= ${GEN_ELU * 100}%`) } else if ((delay ?? 0) >= GEN_DELAY_MS) { bad.push(i); why.add(`event-loop delay p99 >= ${GEN_DELAY_MS} ms`) }
  }
  if (bad.length < GEN_MIN_S || bad.length < GEN_MIN_SHARE * n) return undefined
  const window: Window = { from: grid.t[bad[0]!]!, to: grid.t[bad[bad.length - 1]!]! }
  const workers = ctx.result.meta.workers ?? 1
  return {
    reason: `the load generator was saturated in ${bad.length} of ${n} seconds (${[...why].join(', ')}${workers > 1 ? `, busiest of ${workers} worker threads` : ''}): latencies include its own queueing; use --workers or more machines`,
    window
  }
}
