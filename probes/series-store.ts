/**
 * Probe series in bounded memory. Each series keeps at most `maxPoints` points in typed
 * arrays (12 bytes a point); when full it halves its resolution: pairs of points merge
 * (mean of the values that are not null, null when both are) and from then on every
 * `stride` samples make one point. At 1 s sampling the default 3,600 points hold an hour
 * at full resolution, so a 30-minute run is never downsampled.
 */
import { seriesId } from '../shared/metrics.js'
import type { Series, Unit } from '../shared/types.js'

export const DEFAULT_MAX_POINTS = 3600

export class SeriesBuffer {
  readonly id: string
  private t: Int32Array
  private v: Float64Array
  private n = 0
  /** samples per stored point */
  stride = 1
  private pendingT = 0
  private pendingSum = 0
  private pendingCount = 0
  private pendingSeen = 0

  constructor (
    readonly probe: string,
    readonly metric: string,
    readonly labels: Record<string, string> | undefined,
    readonly unit: Unit,
    readonly description: string | undefined,
    maxPoints = DEFAULT_MAX_POINTS
  ) {
    this.id = seriesId(probe, metric, labels)
    const cap = Math.max(2, maxPoints)
    this.t = new Int32Array(cap)
    this.v = new Float64Array(cap)
  }

  get length (): number {
    return this.n + (this.pendingSeen > 0 ? 1 : 0)
  }

  /** the last point written for second `t`, if any (a later write for the same second wins) */
  push (t: number, value: number | null): void {
    const val = value === null || !Number.isFinite(value) ? NaN : value
    if (this.stride === 1) {
      if (this.n > 0 && this.t[this.n - 1] === t) {
        this.v[this.n - 1] = val
        return
      }
      this.append(t, val)
      return
    }
    if (this.pendingSeen === 0) this.pendingT = t
    this.pendingSeen++
    if (!Number.isNaN(val)) {
      this.pendingSum += val
      this.pendingCount++
    }
    if (this.pendingSeen >= this.stride) this.flushPending()
  }

  private flushPending (): void {
    if (this.pendingSeen === 0) return
    this.append(this.pendingT, this.pendingCount ? this.pendingSum / this.pendingCount : NaN)
    this.pendingSeen = 0
    this.pendingSum = 0
    this.pendingCount = 0
  }

  private append (t: number, val: number): void {
    if (this.n >= this.t.length) this.compact()
    this.t[this.n] = t
    this.v[this.n] = val
    this.n++
  }

  /** halves the resolution: each pair of points becomes one */
  private compact (): void {
    let w = 0
    for (let r = 0; r < this.n; r += 2) {
      const a = this.v[r]!
      const b = r + 1 < this.n ? this.v[r + 1]! : NaN
      this.t[w] = this.t[r]!
      this.v[w] = Number.isNaN(a) ? b : Number.isNaN(b) ? a : (a + b) / 2
      w++
    }
    this.n = w
    this.stride *= 2
  }

  points (): Array<[number, number | null]> {
    const out: Array<[number, number | null]> = []
    for (let i = 0; i < this.n; i++) {
      const v = this.v[i]!
      out.push([this.t[i]!, Number.isNaN(v) ? null : v])
    }
    if (this.pendingSeen > 0) out.push([this.pendingT, this.pendingCount ? this.pendingSum / this.pendingCount : null])
    return out
  }

  toSeries (): Series {
    const s: Series = { id: this.id, probe: this.probe, metric: this.metric, unit: this.unit, points: this.points() }
    if (this.labels && Object.keys(this.labels).length) s.labels = { ...this.labels }
    if (this.description) s.description = this.description
    return s
  }
}

/** Every series of a session, by id, in the order they first appeared. */
export type PointListener = (probe: string, metric: string, labels: Record<string, string> | undefined, unit: Unit, t: number, value: number | null) => void

export class SeriesStore {
  private byId = new Map<string, SeriesBuffer>()
  private listener: PointListener | null = null

  constructor (private readonly maxPoints = DEFAULT_MAX_POINTS) {}

  /** called with every point stored (the run's journal writes them to disk) */
  listen (fn: PointListener | null): void {
    this.listener = fn
  }

  put (probe: string, metric: string, labels: Record<string, string> | undefined, unit: Unit, t: number, value: number | null, description?: string): SeriesBuffer {
    this.listener?.(probe, metric, labels, unit, t, value)
    const id = seriesId(probe, metric, labels)
    let buf = this.byId.get(id)
    if (!buf) {
      buf = new SeriesBuffer(probe, metric, labels, unit, description, this.maxPoints)
      this.byId.set(id, buf)
    }
    buf.push(t, value)
    return buf
  }

  /** null points for every series of a probe at second t (the probe could not sample) */
  gap (probe: string, t: number): void {
    for (const buf of this.byId.values()) {
      if (buf.probe !== probe) continue
      this.listener?.(buf.probe, buf.metric, buf.labels, buf.unit, t, null)
      buf.push(t, null)
    }
  }

  ofProbe (probe: string): SeriesBuffer[] {
    return [...this.byId.values()].filter(b => b.probe === probe)
  }

  get size (): number {
    return this.byId.size
  }

  series (): Series[] {
    return [...this.byId.values()].map(b => b.toSeries())
  }
}
