/**
 * The generator's heap policy. Each request leaves objects that live about one think time
 * (undici's per-request timers, the users' sleeps); with thousands of users they outlive
 * two scavenges, are promoted to old space and die there, and V8's default heap growth (up
 * to 4x the live heap after a full GC) lets that garbage pile up: 5,000 users at 1 s think
 * time peaked at ~330 MB RSS with ~52 MB live. Letting the heap grow by at most the live size
 * (factor 2) keeps the peak near 230 MB for about 4 % more CPU per request (bench `loadgen`).
 *
 * With fewer users the cap saves no memory and costs CPU: the heap is small, so a tighter
 * growth means more full collections (a 1-user 1-s run: 34 ms more CPU, about 8 %, 15
 * interleaved pairs). The threshold was chosen on these CLI runs (1 s think time, 15 s, one run
 * each unless said; cap vs V8's default, peak RSS and CPU; no held-out run): 200 users 83 vs
 * 83 MB, 1.23 vs 1.16 s; 1,000 users 109 vs 106 MB, 2.13 vs 1.79 s; 2,500 users 129 vs 128 MB,
 * 2.72 vs 3.04 s; 3,500 users (two runs each) 142 vs 146-156 MB, 3.5-3.8 vs 3.4-4.7 s; 5,000
 * users 165 vs 201 MB, 4.36 vs 4.38 s. So it applies from HEAP_CAP_FROM_USERS planned users in
 * this process (an open model: its peak arrival rate per second), where the memory saved first
 * shows.
 *
 * Set once per process when such a run starts (V8 flags are process-wide, so worker threads get
 * it too), unless the user chose heap flags (NODE_OPTIONS, node's own flags) or
 * LOADLENS_HEAP_GROWTH=0 asks for V8's default. LOADLENS_HEAP_GROWTH=<percent> picks another,
 * and applies it whatever the users.
 */
import { setFlagsFromString } from 'node:v8'
import type { LoadModel } from '../shared/types.js'

export const DEFAULT_HEAP_GROWTH_PERCENT = 100
/** the cap applies from this many users (or iterations per second) in one process */
export const HEAP_CAP_FROM_USERS = 3000

let applied: number | undefined

/** The most users a model holds at once (an open model: its highest arrival rate per second). */
export function plannedPeak (model: LoadModel): number {
  if (model.kind === 'closed') return Math.max(0, ...model.stages.map(s => s.users))
  return Math.max(model.startRate, ...model.stages.map(s => s.rate))
}

/** The growth percent to set for a run of `peakUsers` in this process, or null for V8's default. */
export function heapGrowthPolicy (peakUsers: number, env: NodeJS.ProcessEnv = process.env, execArgv: string[] = process.execArgv): number | null {
  const userFlags = `${env.NODE_OPTIONS ?? ''} ${execArgv.join(' ')}`
  if (/heap-growing-percent|optimize-for-size/.test(userFlags)) return null
  const asked = env.LOADLENS_HEAP_GROWTH
  if (asked !== undefined && asked !== '') {
    const percent = Number(asked)
    return Number.isInteger(percent) && percent > 0 ? percent : null
  }
  return peakUsers >= HEAP_CAP_FROM_USERS ? DEFAULT_HEAP_GROWTH_PERCENT : null
}

/** Applies the heap growth policy for a run of `peakUsers` in this process; returns the percent in force, or null while V8's default stays. */
export function tuneHeapGrowth (peakUsers: number, env: NodeJS.ProcessEnv = process.env, execArgv: string[] = process.execArgv): number | null {
  if (applied !== undefined) return applied
  const percent = heapGrowthPolicy(peakUsers, env, execArgv)
  if (percent === null) return null
  setFlagsFromString(`--heap-growing-percent=${percent}`)
  applied = percent
  return applied
}
