/**
 * Stress profiles (expect.findMaxUsers): the run ramps users until the criteria break, then
 * keeps going a little (so the break shows on the chart) and stops; the correlator reports
 * the most users held within the criteria from the stored timeline.
 */
import type { Expectations, TimelineSlice } from '../shared/types.js'
import { DEFAULT_CAPACITY_CRITERIA } from '../correlate/phases.js'

/** seconds judged together */
const WINDOW_S = 5
/** a break lasts this long ... */
const BREAK_S = 3
/** ... and the run goes on this long after it */
const AFTER_BREAK_S = 10

export class CapacityWatch {
  private readonly recent: TimelineSlice[] = []
  private bad = 0
  private brokeAt: number | null = null

  constructor (private readonly expect: Expectations, private readonly onFound: (message: string) => void) {}

  add (slice: TimelineSlice): void {
    this.recent.push(slice)
    if (this.recent.length > WINDOW_S) this.recent.shift()
    if (this.brokeAt !== null) {
      if (slice.t - this.brokeAt >= AFTER_BREAK_S) {
        this.onFound(`the criteria broke at ${slice.users} users; stopping ${AFTER_BREAK_S} s later`)
        this.brokeAt = Infinity
      }
      return
    }
    if (this.recent.length < WINDOW_S) return
    let req = 0
    let fail = 0
    const p95: number[] = []
    for (const s of this.recent) { req += s.overall.requests; fail += s.overall.failures; if (s.overall.requests) p95.push(s.overall.p95) }
    if (req === 0) return
    p95.sort((a, b) => a - b)
    const limitFail = this.expect.failureRatio ?? DEFAULT_CAPACITY_CRITERIA.failureRatio
    const limitP95 = this.expect.p95 ?? DEFAULT_CAPACITY_CRITERIA.p95
    const ok = (limitFail === 0 ? fail === 0 : fail / req < limitFail) && p95[Math.floor(p95.length / 2)]! < limitP95
    this.bad = ok ? 0 : this.bad + 1
    if (this.bad >= BREAK_S) this.brokeAt = slice.t
  }
}
