/**
 * Deterministic splitting of a load between executors (worker threads, or machines running
 * `--segment i/N`), in the manner of k6's execution segments. A share [from, to) owns a
 * fixed subset of the global user slots and arrival iterations; the shares of a partition
 * of [0, 1) together own every slot and every iteration exactly once.
 */
import { SettingError } from '../shared/errors.js'
import type { Share } from '../shared/types.js'

export const WHOLE: Share = { from: 0, to: 1 }
const EPS = 1e-9

/** How many of the first `n` global slots belong to the share. */
export function portion (share: Share, n: number): number {
  if (share.from === 0 && share.to === 1) return n
  return Math.floor(n * share.to + EPS) - Math.floor(n * share.from + EPS)
}

/** Whether global slot (or iteration) `k`, counted from 0, belongs to the share. */
export function owns (share: Share, k: number): boolean {
  return portion(share, k + 1) - portion(share, k) === 1
}

/** The part `i` of `n` equal parts of a share (for worker threads inside a segment). */
export function subShare (share: Share, i: number, n: number): Share {
  const width = share.to - share.from
  return { from: share.from + (width * i) / n, to: i === n - 1 ? share.to : share.from + (width * (i + 1)) / n }
}

/** Parses "--segment 2/4" (1-based, as a user writes it) or "0:0.25". */
export function parseSegment (text: string, flag = '--segment'): { share: Share; label: string } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim())
  if (m) {
    const i = Number(m[1])
    const n = Number(m[2])
    if (n >= 1 && i >= 1 && i <= n) return { share: { from: (i - 1) / n, to: i / n }, label: `${i}/${n}` }
  }
  throw new SettingError(`${flag}: expected i/N with 1 <= i <= N (e.g. 1/4 for the first of four segments), got "${text}"`)
}

/**
 * Which user class each global slot gets: a smooth weighted round robin, so that the first n
 * slots hold the classes in proportion to their weights for every n.
 */
export class ClassSequence {
  private readonly seq: number[] = []
  private readonly counts: number[]
  private readonly total: number
  constructor (private readonly weights: number[]) {
    this.counts = weights.map(() => 0)
    this.total = weights.reduce((a, b) => a + b, 0)
  }

  classOf (slot: number): number {
    if (this.weights.length === 1) return 0
    while (this.seq.length <= slot) {
      const n = this.seq.length + 1
      let best = 0
      let bestDeficit = -Infinity
      for (let c = 0; c < this.weights.length; c++) {
        const deficit = (n * this.weights[c]!) / this.total - this.counts[c]!
        if (deficit > bestDeficit + 1e-12) { best = c; bestDeficit = deficit }
      }
      this.counts[best]!++
      this.seq.push(best)
    }
    return this.seq[slot]!
  }
}
