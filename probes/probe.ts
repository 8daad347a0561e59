/**
 * The contract every probe keeps: start (connect, check rights; throw ProbeStartError with a
 * one-line reason when it cannot), sample(now) (read the service once and return readings;
 * throw when it cannot, and the scheduler records a gap), stop. Probes never schedule
 * themselves, never retry inside a sample and never throw out of stop: the scheduler owns
 * the clock, the timeouts and the reconnect backoff.
 */
import type { Unit } from '../shared/types.js'

/** One value of one series at the sample's time. */
export interface Reading {
  metric: string
  labels?: Record<string, string>
  unit: Unit
  /** null: the probe answered but this value cannot be known for the interval (e.g. no lookups) */
  value: number | null
  description?: string
}

export interface Probe {
  /** "pg", "redis", ... (the series prefix) */
  readonly name: string
  /** what it watches, passwords redacted */
  readonly target: string
  /** longest a sample may take; default 80 % of the interval */
  readonly timeoutMs?: number
  /** the scheduler samples once right after start to prime counters (readings dropped); not for probes whose samples consume what they count */
  readonly noPrime?: boolean
  start (): Promise<void>
  /** `now` is epoch ms; `signal` aborts when the sample timed out (drop the connection) */
  sample (now: number, signal: AbortSignal): Promise<Reading[]>
  stop (): Promise<void>
  /** facts that are not series (max_connections, top queries, log examples...) */
  facts? (): object
  /** values that are known even when the probe cannot sample (e.g. `up` = 0) */
  gapReadings? (): Reading[]
  /** what it could not measure (e.g. pg_stat_statements missing), for ProbeStatus.message */
  note? (): string | undefined
  /**
   * moments (epoch ms) the run's plan marks: the start of its steady state after warm-up and
   * its end (or now, when it stops early). A probe that reads a costly figure only now and
   * then reads it at its first sample from each, so the diagnosis's window has a reading at
   * both edges.
   */
  readAt? (moments: number[]): void
}

/** A probe that cannot start: bad URL, auth, missing permission, nothing to watch. */
export class ProbeStartError extends Error {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ProbeStartError'
  }
}

/** A failed sample that still knows some values (e.g. a scrape that failed: up = 0). */
export class SampleError extends Error {
  constructor (message: string, readonly readings: Reading[], options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'SampleError'
  }
}

/** The run's clock (shared/clock.ts), the same as the load generator's. */
export { epochNow as epochMs } from '../shared/clock.js'

/**
 * Turns cumulative counters into per-second rates between two samples. A counter that went
 * down (the server restarted or reset its statistics) gives null for that interval.
 */
export class Rates {
  private last = new Map<string, { value: number; at: number }>()

  /** rate per second since the previous call with this key; null on the first call or a reset */
  rate (key: string, value: number, at: number): number | null {
    const d = this.delta(key, value, at)
    return d === null ? null : d.delta / d.seconds
  }

  /** the increase since the previous call and the seconds it covers */
  delta (key: string, value: number, at: number): { delta: number; seconds: number } | null {
    const prev = this.last.get(key)
    this.last.set(key, { value, at })
    if (!prev || !Number.isFinite(value)) return null
    const seconds = (at - prev.at) / 1000
    const delta = value - prev.value
    if (seconds <= 0 || delta < 0) return null
    return { delta, seconds }
  }

  clear (): void {
    this.last.clear()
  }
}

export function truncate (text: string, max: number): string {
  const one = text.replace(/\s+/g, ' ').trim()
  return one.length > max ? `${one.slice(0, max - 1)}…` : one
}
