/**
 * Stress profiles (expect.findMaxUsers): the run ramps users until the criteria break, then
 * keeps going a little (so the break shows on the chart) and stops; the correlator reports
 * the most users held within the criteria from the stored timeline.
 */
import type { Expectations, TimelineSlice } from '../shared/types.js'
import { capacityHeld } from '../correlate/phases.js'

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
    // the same rule as the stored timeline's capacity (correlate/phases.ts), p99 included
    const ok = capacityHeld(this.recent.map(s => ({ requests: s.overall.requests, failures: s.overall.failures, p95: s.overall.p95, p99: s.overall.p99 })), this.expect)
    if (ok === null) return
    this.bad = ok ? 0 : this.bad + 1
    if (this.bad >= BREAK_S) this.brokeAt = slice.t
  }
}
