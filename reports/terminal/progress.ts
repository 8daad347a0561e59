/**
 * The live view of a headless run: on a terminal one line redrawn every second (progress
 * bar, users, req/s, failures, current p50/p95/p99); elsewhere (CI logs) a line every 10 s.
 */
import { formatClock } from '../../shared/duration.js'
import type { LiveStats } from '../../loadgen/aggregate.js'
import { formatMs, formatNumber } from './table.js'

export interface ProgressOptions {
  durationS: number
  stream?: NodeJS.WriteStream
  /** print a line every N seconds when not on a terminal */
  plainEveryS?: number
}

export class ProgressPrinter {
  private readonly stream: NodeJS.WriteStream
  private readonly tty: boolean
  private lastPlain = 0
  private drawn = false

  constructor (private readonly o: ProgressOptions) {
    this.stream = o.stream ?? process.stderr
    this.tty = Boolean(this.stream.isTTY)
  }

  line (live: LiveStats, elapsedS: number): string {
    const failPct = live.requests ? (live.failures / live.requests) * 100 : 0
    const c = live.current
    return `${formatClock(elapsedS)}/${formatClock(this.o.durationS)}  users ${formatNumber(live.users)}  ` +
      `${formatNumber(live.rps, 1)} req/s  fail ${failPct.toFixed(2)}%  ` +
      `p50 ${formatMs(c.p50)} p95 ${formatMs(c.p95)} p99 ${formatMs(c.p99)} ms  reqs ${formatNumber(live.requests)}`
  }

  private bar (elapsedS: number): string {
    const width = 20
    const done = Math.min(width, Math.round((elapsedS / Math.max(1, this.o.durationS)) * width))
    return `[${'#'.repeat(done)}${'.'.repeat(width - done)}]`
  }

  update (live: LiveStats, elapsedS: number): void {
    if (this.tty) {
      const text = `${this.bar(elapsedS)} ${this.line(live, elapsedS)}`
      const cols = this.stream.columns || 120
      this.stream.write(`\r\u001b[2K${text.slice(0, cols - 1)}`)
      this.drawn = true
    } else if (elapsedS - this.lastPlain >= (this.o.plainEveryS ?? 10)) {
      this.lastPlain = elapsedS
      this.stream.write(`${this.line(live, elapsedS)}\n`)
    }
  }

  message (text: string): void {
    this.clear()
    this.stream.write(`${text}\n`)
  }

  clear (): void {
    if (this.tty && this.drawn) {
      this.stream.write('\r\u001b[2K')
      this.drawn = false
    }
  }
}
