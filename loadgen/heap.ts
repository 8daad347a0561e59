/**
 * The generator's heap policy. Each request leaves objects that live about one think time
 * (undici's per-request timers, the users' sleeps); with thousands of users they outlive
 * two scavenges, are promoted to old space and die there, and V8's default heap growth (up
 * to 4x the live heap after a full GC) lets that garbage pile up: 5,000 users at 1 s think
 * time peaked at ~330 MB RSS with ~52 MB live. Letting the heap grow by at most the live size
 * (factor 2) keeps the peak near 230 MB for about 4 % more CPU per request (bench `loadgen`).
 *
 * Set once per process when a run starts (V8 flags are process-wide, so worker threads get
 * it too), unless the user chose heap flags (NODE_OPTIONS, node's own flags) or
 * LOADLENS_HEAP_GROWTH=0 asks for V8's default. LOADLENS_HEAP_GROWTH=<percent> picks another.
 */
import { setFlagsFromString } from 'node:v8'

export const DEFAULT_HEAP_GROWTH_PERCENT = 100

let applied: number | null | undefined

/** Applies the heap growth policy; returns the percent set, or null when V8's default stays. */
export function tuneHeapGrowth (env: NodeJS.ProcessEnv = process.env, execArgv: string[] = process.execArgv): number | null {
  if (applied !== undefined) return applied
  const userFlags = `${env.NODE_OPTIONS ?? ''} ${execArgv.join(' ')}`
  const asked = env.LOADLENS_HEAP_GROWTH
  const percent = asked === undefined || asked === '' ? DEFAULT_HEAP_GROWTH_PERCENT : Number(asked)
  if (!Number.isInteger(percent) || percent <= 0 || /heap-growing-percent|optimize-for-size/.test(userFlags)) {
    applied = null
    return applied
  }
  setFlagsFromString(`--heap-growing-percent=${percent}`)
  applied = percent
  return applied
}
