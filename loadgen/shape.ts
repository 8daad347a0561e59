/**
 * The load over time, as piecewise-linear functions of the seconds since start:
 * the number of users (closed model) and the arrival rate (open model).
 */
import type { RateStage, UserStage } from '../shared/types.js'

type Point = [t: number, v: number]

function interpolate (points: Point[], t: number): number {
  if (t < points[0]![0]) return points[0]![1]
  for (let i = points.length - 1; i >= 0; i--) {
    const [t0, v0] = points[i]!
    if (t >= t0) {
      const next = points[i + 1]
      if (!next) return v0
      const [t1, v1] = next
      return t1 === t0 ? v1 : v0 + ((v1 - v0) * (t - t0)) / (t1 - t0)
    }
  }
  return points[points.length - 1]![1]
}

/**
 * Users over time. A stage with a spawn rate starts (or stops) one user at once and then
 * one every 1/rate seconds until it reaches its target (Locust); a stage without one moves
 * in a straight line over its duration (k6 ramping-vus). After the last stage the last
 * level is held.
 */
export class UserShape {
  private readonly points: Point[] = [[0, 0]]
  /** times where the level is changing: [from, to) */
  readonly ramps: Array<[number, number]> = []

  constructor (stages: UserStage[], startLevel = 0) {
    let t = 0
    let level = startLevel
    this.points[0] = [0, startLevel]
    for (const s of stages) {
      const end = t + s.durationS
      if (s.users !== level) {
        if (s.spawnRate !== undefined) {
          const dir = Math.sign(s.users - level)
          const first = level + dir // the first user starts (or stops) at once
          const reachAt = t + (Math.abs(s.users - level) - 1) / s.spawnRate
          this.points.push([t, level], [t, first])
          if (reachAt <= end) {
            this.points.push([reachAt, s.users])
            level = s.users
            this.ramps.push([t, reachAt])
          } else {
            level = first + (dir * (end - t)) * s.spawnRate
            this.points.push([end, level])
            this.ramps.push([t, end])
          }
        } else {
          this.points.push([t, level], [end, s.users])
          this.ramps.push([t, end])
          level = s.users
        }
      }
      t = end
      this.points.push([t, level])
    }
  }

  /** users that should be running `t` seconds after start */
  usersAt (t: number): number {
    return Math.max(0, Math.floor(interpolate(this.points, t) + 1e-9))
  }

  isRamping (t: number): boolean {
    return this.ramps.some(([a, b]) => t >= a && t < b)
  }

  /** when the next ramp starts after t (Infinity if none) */
  nextRampAt (t: number): number {
    let best = Infinity
    for (const [a] of this.ramps) if (a > t && a < best) best = a
    return best
  }

  get peak (): number {
    return Math.max(...this.points.map(p => p[1]))
  }
}

/**
 * Arrival rate over time (iterations per second), and the inverse of its integral: the time
 * at which the k-th iteration (from 0) is due.
 */
export class RateShape {
  private readonly segs: Array<{ t0: number; t1: number; r0: number; r1: number; n0: number }> = []

  constructor (startRate: number, stages: RateStage[]) {
    let t = 0
    let r = startRate
    let n = 0
    for (const s of stages) {
      const seg = { t0: t, t1: t + s.durationS, r0: r, r1: s.rate, n0: n }
      this.segs.push(seg)
      n += ((r + s.rate) / 2) * s.durationS
      t = seg.t1
      r = s.rate
    }
    this.segs.push({ t0: t, t1: Infinity, r0: r, r1: r, n0: n })
  }

  rateAt (t: number): number {
    for (const s of this.segs) {
      if (t < s.t1) return s.t1 === Infinity || s.t1 === s.t0 ? s.r0 : s.r0 + ((s.r1 - s.r0) * (t - s.t0)) / (s.t1 - s.t0)
    }
    return 0
  }

  /** seconds after start at which iteration k is due; Infinity if never */
  timeOf (k: number): number {
    for (const s of this.segs) {
      const d = s.t1 - s.t0
      const a = s.t1 === Infinity ? 0 : (s.r1 - s.r0) / d
      const nEnd = s.t1 === Infinity ? Infinity : s.n0 + ((s.r0 + s.r1) / 2) * d
      if (k < nEnd - 1e-9 || s.t1 === Infinity) {
        // a rate that ends at 0 starts nothing more (not even an iteration at its start)
        if (s.t1 === Infinity && s.r0 <= 0) return Infinity
        const need = k - s.n0
        if (need <= 0) return s.t0
        if (Math.abs(a) < 1e-12) return s.r0 > 0 ? s.t0 + need / s.r0 : Infinity
        // r0*x + a*x^2/2 = need
        const disc = s.r0 * s.r0 + 2 * a * need
        if (disc < 0) return Infinity
        return s.t0 + (-s.r0 + Math.sqrt(disc)) / a
      }
    }
    return Infinity
  }
}
