/**
 * The phases of a run (ramp-up, steady state, ramp-down) and, for rising load, the
 * capacity: the most concurrent users the system held within the profile's criteria.
 */
import type { Expectations, LoadModel, Phase, RunMeta, Window } from '../shared/types.js'
import { RateShape, UserShape } from '../loadgen/shape.js'
import type { Grid } from './grid.js'
import { median, quantile } from './stats.js'

/** a second belongs to the steady state when its load is within this share of the peak */
const STEADY_SHARE = 0.9
/** the first part of the steady state is warm-up: at least this many seconds ... */
const WARMUP_MIN_S = 5
/** ... or this share of it */
const WARMUP_SHARE = 0.2

/** Load level per second: running users (closed) or the planned arrival rate (open). */
export function loadLevel (grid: Grid, meta: RunMeta): number[] {
  if (meta.model.kind === 'open' && grid.t.length) {
    const shape = new RateShape(meta.model.startRate, meta.model.stages)
    const start = meta.startedAt / 1000
    return grid.t.map(t => shape.rateAt(Math.max(0, t + 0.5 - start)))
  }
  return grid.users
}

export function findPhases (grid: Grid, meta: RunMeta): Phase[] {
  const n = grid.t.length
  if (n === 0) return []
  const stretch = steadyStretch(loadLevel(grid, meta))
  if (!stretch) return [{ kind: 'steady', from: grid.t[0]!, to: grid.t[n - 1]! }]
  const [a, b] = stretch
  const phases: Phase[] = []
  if (a > 0) phases.push({ kind: 'ramp-up', from: grid.t[0]!, to: grid.t[a - 1]! })
  phases.push({ kind: 'steady', from: grid.t[a]!, to: grid.t[b]! })
  if (b < n - 1) phases.push({ kind: 'ramp-down', from: grid.t[b + 1]!, to: grid.t[n - 1]! })
  return phases
}

/** the longest stretch of seconds at (nearly) the peak level, as [first, last] indices; null without load */
function steadyStretch (level: number[]): [number, number] | null {
  const n = level.length
  const peak = Math.max(...level)
  if (!(peak > 0)) return null
  let best: [number, number] | null = null
  let start = -1
  for (let i = 0; i <= n; i++) {
    const ok = i < n && level[i]! >= STEADY_SHARE * peak
    if (ok && start < 0) start = i
    if (!ok && start >= 0) {
      if (!best || i - 1 - start >= best[1] - best[0]) best = [start, i - 1]
      start = -1
    }
  }
  return best
}

/**
 * The steady state after warm-up as the load model plans it, in seconds since the start
 * ([from, to], whole seconds), found by the same rules the diagnosis applies to the load that
 * ran; null for a run with no load. Probes read their costly figures at its edges.
 */
export function plannedWarmWindow (model: LoadModel, durationS: number): Window | null {
  const seconds = Math.max(1, Math.ceil(durationS))
  const level: number[] = []
  if (model.kind === 'open') {
    const shape = new RateShape(model.startRate, model.stages)
    for (let i = 0; i < seconds; i++) level.push(shape.rateAt(i + 0.5))
  } else {
    const shape = new UserShape(model.stages)
    for (let i = 0; i < seconds; i++) level.push(shape.usersAt(i + 0.5))
  }
  const stretch = steadyStretch(level)
  return stretch ? warmWindow({ from: stretch[0], to: stretch[1] }) : null
}

export function steadyWindow (phases: Phase[], grid: Grid): Window {
  const s = phases.find(p => p.kind === 'steady')
  if (s) return { from: s.from, to: s.to }
  return { from: grid.t[0] ?? 0, to: grid.t[grid.t.length - 1] ?? 0 }
}

/** The steady state without its first seconds (caches fill, pools grow, JIT warms up). */
export function warmWindow (steady: Window): Window {
  const len = steady.to - steady.from + 1
  const skip = Math.min(Math.floor(len / 2), Math.max(WARMUP_MIN_S, Math.round(len * WARMUP_SHARE)))
  return { from: steady.from + skip, to: steady.to }
}

/** Criteria used to find the capacity when the profile gives none (the pre-deploy checklist's production targets). */
export const DEFAULT_CAPACITY_CRITERIA = { failureRatio: 0.01, p95: 1000 }

/** One second as the capacity criteria read it. */
export interface CapacitySecond { requests: number; failures: number; p95: number | null; p99: number | null }

/**
 * The capacity criteria, one rule for the live watch (a stress run stops once they break) and
 * for the stored timeline: over a window of seconds, the failure ratio under the profile's
 * (or 1 %; none at all when the profile allows none), and the median of the seconds' p95 under
 * the profile's p95 (or 1000 ms) and of their p99 under the profile's p99 when it sets one.
 * Null when the window has no request.
 */
export function capacityHeld (seconds: CapacitySecond[], expect: Expectations | undefined): boolean | null {
  let req = 0
  let fail = 0
  const p95s: number[] = []
  const p99s: number[] = []
  for (const s of seconds) {
    req += s.requests
    fail += s.failures
    if (s.requests && s.p95 !== null) p95s.push(s.p95)
    if (s.requests && s.p99 !== null) p99s.push(s.p99)
  }
  if (req === 0) return null
  const limitFail = expect?.failureRatio ?? DEFAULT_CAPACITY_CRITERIA.failureRatio
  const limitP95 = expect?.p95 ?? DEFAULT_CAPACITY_CRITERIA.p95
  const limitP99 = expect?.p99
  return (limitFail === 0 ? fail === 0 : fail / req < limitFail) && median(p95s) < limitP95 && (!limitP99 || median(p99s) < limitP99)
}
/** seconds in the rolling window that judges whether the criteria held */
const CAPACITY_WINDOW_S = 5
/** a violation must last this many seconds to count as the break */
const CAPACITY_BREAK_S = 3

export interface Capacity {
  maxUsers: number
  at: number
  reason: string
  window?: Window
  /** where throughput stopped rising with users, if it did */
  knee?: { users: number; at: number; rps: number }
}

/**
 * Walks the run in time order while the load rises: a second "holds" when the last
 * CAPACITY_WINDOW_S seconds meet the criteria. The capacity is the most users seen in a
 * holding second before the first break of CAPACITY_BREAK_S seconds.
 */
export function findCapacity (grid: Grid, meta: RunMeta, expect: Expectations | undefined, phases: Phase[]): Capacity | undefined {
  const n = grid.t.length
  if (n < CAPACITY_WINDOW_S * 2) return undefined
  const level = loadLevel(grid, meta)
  const rising = phases.find(p => p.kind === 'ramp-up')
  const wantsIt = Boolean(expect?.findMaxUsers)
  if (!wantsIt && (!rising || rising.to - rising.from + 1 < 10)) return undefined
  const limitP95 = expect?.p95 ?? DEFAULT_CAPACITY_CRITERIA.p95
  const limitP99 = expect?.p99
  const limitFail = expect?.failureRatio ?? DEFAULT_CAPACITY_CRITERIA.failureRatio
  const criteria = `failures ${limitFail === 0 ? '= 0' : `< ${(limitFail * 100).toFixed(1)}%`}, p95 < ${limitP95} ms${limitP99 ? `, p99 < ${limitP99} ms` : ''}`
  const endIdx = wantsIt ? n - 1 : grid.t.indexOf(rising!.to + 1) >= 0 ? Math.min(n - 1, grid.t.indexOf(rising!.to + 1) + 10) : n - 1
  let maxUsers = 0
  let at = grid.t[0]!
  let badRun = 0
  let brokeAt: number | null = null
  for (let i = CAPACITY_WINDOW_S - 1; i <= endIdx; i++) {
    const window: CapacitySecond[] = []
    for (let k = i - CAPACITY_WINDOW_S + 1; k <= i; k++) window.push({ requests: grid.requests[k]!, failures: grid.failures[k]!, p95: grid.p95[k] ?? null, p99: grid.p99[k] ?? null })
    const ok = capacityHeld(window, expect)
    if (ok === null) continue
    if (ok) {
      badRun = 0
      const u = Math.min(...grid.users.slice(i - CAPACITY_WINDOW_S + 1, i + 1))
      if (u > maxUsers) { maxUsers = u; at = grid.t[i]! }
    } else if (++badRun >= CAPACITY_BREAK_S) {
      brokeAt = grid.t[i - CAPACITY_BREAK_S + 1]!
      break
    }
  }
  const peak = Math.max(...grid.users)
  const knee = throughputKnee(grid, level, endIdx)
  if (brokeAt === null) {
    return { maxUsers: peak, at, reason: `the criteria (${criteria}) held up to the peak of ${peak} users; the capacity is at least that`, knee }
  }
  const tBreak = brokeAt - grid.t[0]!
  return {
    maxUsers,
    at,
    reason: `the criteria (${criteria}) held up to ${maxUsers} concurrent users and broke ${tBreak} s into the run with ${grid.users[brokeAt - grid.t[0]!]} users`,
    window: { from: at, to: brokeAt },
    knee
  }
}

/** Where requests per second stop following the users: throughput per user falls under 70 % of its early value. */
function throughputKnee (grid: Grid, level: number[], endIdx: number): Capacity['knee'] {
  const eff: Array<{ i: number; e: number }> = []
  for (let i = 2; i <= endIdx; i++) {
    const u = grid.users[i]!
    if (u <= 0) continue
    const rps = (grid.requests[i]! + grid.requests[i - 1]! + grid.requests[i - 2]!) / 3
    eff.push({ i, e: rps / u })
  }
  if (eff.length < 10) return undefined
  const base = quantile(eff.slice(0, Math.max(3, Math.floor(eff.length / 4))).map(x => x.e), 0.5)
  if (!(base > 0)) return undefined
  let run = 0
  for (const { i, e } of eff) {
    if (e < 0.7 * base && level[i]! > level[Math.max(0, i - 5)]!) {
      if (++run >= 3) {
        const k = i - 2
        return { users: grid.users[k]!, at: grid.t[k]!, rps: grid.requests[k]! }
      }
    } else run = 0
  }
  return undefined
}
