/**
 * The probe scheduler: samples every probe on one clock, at the boundaries of the interval in
 * epoch time (the load generator cuts its timeline slices on the same second boundaries).
 * A tick at boundary B stores its values at epoch second floor((B - interval) / 1000): rates
 * cover the interval that just ended and gauges are its closing state, like a timeline slice's
 * `users`.
 *
 * Sampling never holds up the load: samples are asynchronous I/O, each bounded by a timeout;
 * a probe whose previous sample is still running skips the tick (counted in skippedTicks).
 * A failed or timed-out sample writes null points for the probe's series and opens (or
 * extends) a gap with the reason; the probe is not asked again until a backoff (1 s, 2 s,
 * 4 s ... 15 s) has passed, and sampling resumes by itself when the service answers again.
 */
import { describeError } from '../shared/errors.js'
import { redactText } from '../shared/redact.js'
import type { ProbeGap, ProbeStatus, Series } from '../shared/types.js'
import { epochMs, ProbeStartError, SampleError } from './probe.js'
import type { Probe, Reading } from './probe.js'
import { SeriesStore } from './series-store.js'
import type { PointListener } from './series-store.js'
import { within } from '../shared/wait.js'

export interface SchedulerOptions {
  /** sampling interval in ms (default 1000) */
  intervalMs?: number
  /** the run's clock in epoch ms */
  clock?: () => number
  /** most points kept per series */
  maxPoints?: number
  /** how long a probe may take to start (connect, check rights) */
  startTimeoutMs?: number
  /** one-line messages: probes that cannot start, gaps opening and closing */
  log?: (line: string) => void
  /** longest wait between reconnect attempts */
  maxBackoffMs?: number
}

interface Entry {
  probe: Probe
  state: 'starting' | 'running' | 'failed' | 'stopped'
  message?: string
  busy: Promise<unknown> | null
  priming: boolean
  samples: number
  skippedTicks: number
  gaps: ProbeGap[]
  openGap: ProbeGap | null
  sumMs: number
  maxMs: number
  backoffMs: number
  retryAt: number
  lastError: string
}

export interface StartReport {
  started: Probe[]
  failed: Array<{ probe: Probe; reason: string }>
}

export class ProbeScheduler {
  readonly intervalMs: number
  private readonly clock: () => number
  private readonly store: SeriesStore
  private readonly entries: Entry[] = []
  private timer: NodeJS.Timeout | null = null
  private stopped = false
  private readonly log: (line: string) => void

  constructor (probes: Probe[], private readonly o: SchedulerOptions = {}) {
    this.intervalMs = Math.max(100, Math.round(o.intervalMs ?? 1000))
    this.clock = o.clock ?? epochMs
    this.store = new SeriesStore(o.maxPoints)
    this.log = o.log ?? (() => {})
    for (const probe of probes) {
      this.entries.push({
        probe, state: 'starting', busy: null, priming: false, samples: 0, skippedTicks: 0, gaps: [], openGap: null,
        sumMs: 0, maxMs: 0, backoffMs: 0, retryAt: 0, lastError: ''
      })
    }
  }

  /** Starts every probe (in parallel) and the clock. Probes that cannot start are reported, not thrown. */
  async start (): Promise<StartReport> {
    const startTimeout = this.o.startTimeoutMs ?? 10_000
    await Promise.all(this.entries.map(async (e) => {
      let timer: NodeJS.Timeout | undefined
      try {
        await Promise.race([
          e.probe.start(),
          new Promise((_resolve, reject) => { timer = setTimeout(() => reject(new ProbeStartError(`no answer within ${startTimeout / 1000} s`)), startTimeout) })
        ])
        e.state = 'running'
      } catch (err) {
        e.state = 'failed'
        e.message = redactText(describeError(err))
        await e.probe.stop().catch(() => {})
      } finally {
        clearTimeout(timer)
      }
    }))
    // prime the counters so the first tick already has rates; its readings are not stored
    for (const e of this.entries) {
      if (e.state !== 'running' || e.probe.noPrime) continue
      e.priming = true
      void this.bounded(e, this.clock(), new AbortController()).catch(() => {})
      void e.busy?.then(() => { e.priming = false })
    }
    if (this.entries.some(e => e.state === 'running')) this.schedule()
    return {
      started: this.entries.filter(e => e.state === 'running').map(e => e.probe),
      failed: this.entries.filter(e => e.state === 'failed').map(e => ({ probe: e.probe, reason: e.message ?? 'failed' }))
    }
  }

  private schedule (): void {
    if (this.stopped) return
    const now = this.clock()
    const next = (Math.floor(now / this.intervalMs) + 1) * this.intervalMs
    this.timer = setTimeout(() => {
      this.tick(next)
      this.schedule()
    }, next - now + 2)
    this.timer.unref()
  }

  private timeoutOf (e: Entry): number {
    return Math.max(50, Math.min(e.probe.timeoutMs ?? this.intervalMs * 0.8, this.intervalMs * 5))
  }

  /** runs probe.sample with the timeout; resolves readings or rejects with the reason */
  private async bounded (e: Entry, now: number, ac: AbortController): Promise<Reading[]> {
    const ms = this.timeoutOf(e)
    let timer: NodeJS.Timeout | undefined
    const work = e.probe.sample(now, ac.signal)
    // the probe stays busy until its own promise settles, even after a timeout
    const settled = work.then(() => {}, () => {})
    e.busy = settled
    void settled.then(() => { if (e.busy === settled) e.busy = null })
    try {
      return await Promise.race([
        work,
        new Promise<never>((_resolve, reject) => {
          timer = setTimeout(() => {
            ac.abort()
            reject(new Error(`sample timed out after ${ms} ms`))
          }, ms)
        })
      ])
    } finally {
      clearTimeout(timer)
    }
  }

  /** one boundary: every running probe samples (those still busy skip) */
  private tick (boundary: number): void {
    const t = Math.floor((boundary - this.intervalMs) / 1000)
    for (const e of this.entries) {
      if (e.state !== 'running') continue
      if (e.busy) {
        if (!e.priming) e.skippedTicks++
        continue
      }
      const now = this.clock()
      if (now < e.retryAt) {
        this.recordGap(e, t, e.lastError)
        continue
      }
      void this.runSample(e, t, now)
    }
  }

  private async runSample (e: Entry, t: number, now: number): Promise<void> {
    const started = performance.now()
    const ac = new AbortController()
    const p = this.bounded(e, now, ac)
    try {
      const readings = await p
      const ms = performance.now() - started
      if (this.stopped && e.state === 'stopped') return
      for (const r of readings) this.store.put(e.probe.name, r.metric, r.labels, r.unit, t, r.value, r.description)
      e.samples++
      e.sumMs += ms
      e.maxMs = Math.max(e.maxMs, ms)
      e.backoffMs = 0
      e.retryAt = 0
      if (e.openGap) {
        this.log(`${e.probe.name}: sampling again after a gap of ${e.openGap.to - e.openGap.from + 1} s`)
        e.openGap = null
      }
    } catch (err) {
      const reason = redactText(describeError(err))
      e.backoffMs = Math.min(this.o.maxBackoffMs ?? 15_000, e.backoffMs ? e.backoffMs * 2 : 1000)
      e.retryAt = this.clock() + e.backoffMs - 50
      e.lastError = reason
      this.recordGap(e, t, reason)
      if (err instanceof SampleError) {
        for (const r of err.readings) this.store.put(e.probe.name, r.metric, r.labels, r.unit, t, r.value, r.description)
      }
    }
  }

  private recordGap (e: Entry, t: number, reason: string): void {
    this.store.gap(e.probe.name, t)
    for (const r of e.probe.gapReadings?.() ?? []) this.store.put(e.probe.name, r.metric, r.labels, r.unit, t, r.value, r.description)
    if (e.openGap && e.openGap.reason === reason && t - e.openGap.to <= Math.ceil(this.intervalMs / 1000) * 8) {
      e.openGap.to = Math.max(e.openGap.to, t)
      return
    }
    if (!e.openGap) this.log(`${e.probe.name}: cannot sample (${reason}); retrying with backoff`)
    const gap: ProbeGap = { from: t, to: t, reason }
    e.gaps.push(gap)
    e.openGap = gap
  }

  /** Stops the clock, waits for running samples (bounded), stops every probe. */
  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    const pending = this.entries.map(e => e.busy).filter((b): b is Promise<unknown> => b !== null)
    if (pending.length) await within(Promise.all(pending), this.intervalMs * 2)
    await Promise.all(this.entries.map(async (e) => {
      if (e.state !== 'running') return
      e.state = 'stopped'
      await within(e.probe.stop().catch(() => {}), 5000)
    }))
  }

  series (): Series[] {
    return this.store.series()
  }

  /** the run's plan: moments at which probes read their costly figures (Probe.readAt) */
  readAt (moments: number[]): void {
    for (const e of this.entries) if (e.state === 'running') safe(() => e.probe.readAt?.(moments))
  }

  /** every point as it is stored, gaps included (the run's journal) */
  onPoint (fn: PointListener | null): void {
    this.store.listen(fn)
  }

  status (): ProbeStatus[] {
    return this.entries.map((e) => {
      const note = e.state === 'failed' ? undefined : safe(() => e.probe.note?.())
      const facts = e.state === 'failed' ? undefined : safe(() => e.probe.facts?.())
      const st: ProbeStatus = {
        probe: e.probe.name,
        target: e.probe.target,
        state: e.state === 'failed' ? 'failed' : (e.gaps.length || note ? 'degraded' : 'ok'),
        samples: e.samples,
        skippedTicks: e.skippedTicks,
        gaps: e.gaps.map(g => ({ ...g }))
      }
      const message = e.state === 'failed' ? e.message : note
      if (message) st.message = redactText(message)
      if (e.samples) {
        st.maxSampleMs = round(e.maxMs)
        st.meanSampleMs = round(e.sumMs / e.samples)
      }
      if (facts && Object.keys(facts).length) st.facts = facts as Record<string, unknown>
      return st
    })
  }
}

function safe<T> (fn: () => T): T | undefined {
  try {
    return fn()
  } catch {
    return undefined
  }
}

function round (x: number): number {
  return Math.round(x * 100) / 100
}
