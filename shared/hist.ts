/**
 * HDR histogram helpers shared by the generator (recording), the correlator (per-second
 * percentiles) and the reports. Latencies are recorded in microseconds with three
 * significant digits, from 1 us to one hour; histograms cross thread, process and file
 * boundaries as HdrHistogram's V2 compressed encoding in base64 (what hdr-histogram-js's
 * encodeIntoCompressedBase64 writes), so results merge exactly.
 *
 * The histogram, the V2 encoding and the summary are written here, not loaded from
 * hdr-histogram-js: its JS histogram alone costs about 10 ms of CPU to load in each thread that
 * records or reads latencies (every run has two), its encoding module also loads pako, its own
 * byte buffer and its factory (about 30 ms more), and its mean walks an iterator. All are small,
 * fixed formulas; test/hist.test.ts checks against the library (a dev dependency, the reference)
 * that the layout, and what is encoded, decoded, merged and summarised here, are its own, byte
 * for byte and value for value.
 */
import { deflateSync, inflateSync } from 'node:zlib'

const { floor, ceil, log2, max, min } = Math

/**
 * An HDR histogram of non-negative integers in HdrHistogram's layout: values up to twice
 * 10^digits kept exactly, above that in power-of-two buckets of as many sub-buckets, each
 * bucket's lower half left to the one below. Indices, equivalent values and the counts array
 * are HdrHistogram's (the V2 encoding carries the counts by index, and test/hist.test.ts checks
 * every figure against hdr-histogram-js), so histograms move between this and any HdrHistogram
 * implementation exactly. Counts are 32-bit, as hdr-histogram-js's Int32Histogram keeps them.
 */
export class Histogram {
  readonly countsArrayLength: number
  totalCount = 0
  /** the highest recorded value (a decoded histogram: its bucket's highest equivalent value) */
  maxValue = 0
  /** the lowest recorded value above 0 (MAX_SAFE_INTEGER while empty) */
  minNonZeroValue = Number.MAX_SAFE_INTEGER
  /** log2 of the smallest value step */
  private readonly unit: number
  /** log2 of half the sub-buckets a bucket has */
  private readonly halfMagnitude: number
  private readonly subBuckets: number
  private readonly halfSubBuckets: number
  private readonly counts: Uint32Array

  constructor (readonly lowestDiscernibleValue: number, readonly highestTrackableValue: number, readonly numberOfSignificantValueDigits: number) {
    if (!(lowestDiscernibleValue >= 1)) throw new RangeError('lowestDiscernibleValue must be >= 1')
    if (!(highestTrackableValue >= 2 * lowestDiscernibleValue)) throw new RangeError(`highestTrackableValue must be >= 2 * lowestDiscernibleValue (${2 * lowestDiscernibleValue})`)
    if (!(numberOfSignificantValueDigits >= 0 && numberOfSignificantValueDigits <= 5)) throw new RangeError('numberOfSignificantValueDigits must be between 0 and 5')
    this.unit = floor(log2(lowestDiscernibleValue))
    // single-unit resolution up to 2 x 10^digits, in a power-of-two count of sub-buckets
    const magnitude = ceil(log2(2 * floor(10 ** numberOfSignificantValueDigits)))
    this.halfMagnitude = max(magnitude, 1) - 1
    this.subBuckets = 2 ** (this.halfMagnitude + 1)
    this.halfSubBuckets = this.subBuckets / 2
    let buckets = 1
    for (let untrackable = this.subBuckets * 2 ** this.unit; untrackable <= highestTrackableValue; untrackable *= 2) {
      buckets++
      if (untrackable > Number.MAX_SAFE_INTEGER / 2) break
    }
    this.countsArrayLength = (buckets + 1) * this.halfSubBuckets
    this.counts = new Uint32Array(this.countsArrayLength)
  }

  private bucketOf (value: number): number {
    return max(floor(log2(value)) - this.halfMagnitude - this.unit, 0)
  }

  countsArrayIndex (value: number): number {
    if (value < 0) throw new RangeError('a histogram value cannot be negative')
    const bucket = this.bucketOf(value)
    const sub = floor(value / 2 ** (bucket + this.unit))
    return (bucket + 1) * this.halfSubBuckets + sub - this.halfSubBuckets
  }

  /** the lowest value of the index's bucket */
  valueFromIndex (index: number): number {
    let bucket = floor(index / this.halfSubBuckets) - 1
    let sub = (index % this.halfSubBuckets) + this.halfSubBuckets
    if (bucket < 0) {
      sub -= this.halfSubBuckets
      bucket = 0
    }
    return sub * 2 ** (bucket + this.unit)
  }

  lowestEquivalentValue (value: number): number {
    const bucket = this.bucketOf(value)
    return floor(value / 2 ** (bucket + this.unit)) * 2 ** (bucket + this.unit)
  }

  /** how many values share the value's bucket (its sub-bucket index is always below the sub-bucket count) */
  private equivalentRange (value: number): number {
    return 2 ** (this.unit + this.bucketOf(value))
  }

  highestEquivalentValue (value: number): number {
    return this.lowestEquivalentValue(value) + this.equivalentRange(value) - 1
  }

  medianEquivalentValue (value: number): number {
    return this.lowestEquivalentValue(value) + floor(this.equivalentRange(value) / 2)
  }

  getCountAtIndex (index: number): number {
    return this.counts[index]!
  }

  recordValue (value: number): void {
    this.recordCount(value, 1)
  }

  private recordCount (value: number, count: number): void {
    const index = this.countsArrayIndex(value)
    if (index >= this.countsArrayLength) throw new RangeError(`value ${value} is outside the histogram's range (up to ${this.highestTrackableValue})`)
    this.counts[index]! += count
    this.totalCount += count
    this.seen(value)
  }

  /** takes a value into the maximum and the minimum */
  private seen (value: number): void {
    if (value > this.maxValue) this.maxValue = value
    if (value !== 0 && value < this.minNonZeroValue && value >= 2 ** this.unit) this.minNonZeroValue = floor(value / 2 ** this.unit) * 2 ** this.unit
  }

  /** Adds another histogram's counts (of any layout whose values fit this one's range). */
  add (other: Histogram): void {
    if (other.totalCount === 0) return
    if (other.maxValue > this.highestEquivalentValue(this.valueFromIndex(this.countsArrayLength - 1))) throw new RangeError('the other histogram holds values beyond this one\'s range')
    const last = min(other.countsArrayIndex(other.maxValue), other.countsArrayLength - 1)
    if (other.countsArrayLength === this.countsArrayLength && other.unit === this.unit && other.subBuckets === this.subBuckets) {
      // the same layout: counts go index to index, only up to the other's highest value
      let added = 0
      for (let i = 0; i <= last; i++) {
        const c = other.counts[i]!
        if (c > 0) {
          this.counts[i]! += c
          added += c
        }
      }
      this.totalCount += added
      this.maxValue = max(this.maxValue, other.maxValue)
      if (other.minNonZeroValue < this.minNonZeroValue) this.seen(other.minNonZeroValue)
      return
    }
    // another layout: each of its buckets' lowest value recorded here
    for (let i = 0; i <= last; i++) {
      const c = other.counts[i]!
      if (c > 0) this.recordCount(other.valueFromIndex(i), c)
    }
  }

  /** Sets the counts from `put`'s calls, then the total, maximum and minimum from them. */
  fill (each: (put: (index: number, count: number) => void) => number): void {
    const counts = this.counts
    const length = this.countsArrayLength
    const cover = min(length, each((index, count) => { if (index < length) counts[index]! += count }))
    let total = 0
    let highest = -1
    let lowest = -1
    for (let i = 0; i < cover; i++) {
      const c = counts[i]!
      if (c === 0) continue
      total += c
      highest = i
      if (lowest === -1 && i !== 0) lowest = i
    }
    this.totalCount = total
    this.maxValue = highest >= 0 ? this.highestEquivalentValue(this.valueFromIndex(highest)) : 0
    this.minNonZeroValue = Number.MAX_SAFE_INTEGER
    if (lowest >= 0) this.seen(this.valueFromIndex(lowest))
  }

  /** The value at a percentile (0 to 100): the highest value of the bucket where the running count reaches it (0: the lowest recorded); 0 when empty. */
  getValueAtPercentile (percentile: number): number {
    if (this.totalCount === 0) return 0
    const target = countAtPercentile(percentile, this.totalCount)
    let seen = 0
    for (let i = 0; i < this.countsArrayLength; i++) {
      seen += this.counts[i]!
      if (seen >= target) {
        const v = this.valueFromIndex(i)
        return percentile === 0 ? this.lowestEquivalentValue(v) : this.highestEquivalentValue(v)
      }
    }
    return 0
  }

  /** the mean: each recorded value taken at its bucket's middle */
  get mean (): number {
    if (this.totalCount === 0) return 0
    let sum = 0
    eachRecorded(this, (i, c) => { sum += this.medianEquivalentValue(this.valueFromIndex(i)) * c; return true })
    return sum / this.totalCount
  }

  reset (): void {
    this.counts.fill(0)
    this.totalCount = 0
    this.maxValue = 0
    this.minNonZeroValue = Number.MAX_SAFE_INTEGER
  }

  /** nothing to free (kept for callers written against hdr-histogram-js, whose WebAssembly histograms need it) */
  destroy (): void {}
}

// HdrHistogram's V2 cookies; the low nibble's 0x10 marks the zero-run (ZigZag LEB128) word format
const V2_COOKIE = 0x1c849313
const V2_COOKIE_BASE = 0x1c849303
const V2_COMPRESSED_COOKIE = 0x1c849314
const V2_COMPRESSED_COOKIE_BASE = 0x1c849304
const V2_HEADER_BYTES = 40
const TWO_32 = 2 ** 32

let scratch = Buffer.allocUnsafe(64 * 1024)

/** The V2 encoding (uncompressed): a 40-byte header, then the counts as ZigZag LEB128 words, a run of zeros as its negated length. */
function encodeV2 (x: Histogram): Buffer {
  const limit = x.countsArrayIndex(x.maxValue) + 1
  const need = V2_HEADER_BYTES + limit * 9
  if (scratch.length < need) scratch = Buffer.allocUnsafe(need)
  const b = scratch
  let pos = V2_HEADER_BYTES
  for (let i = 0; i < limit;) {
    const count = x.getCountAtIndex(i++)
    let word = count
    if (count === 0) {
      let zeros = 1
      while (i < limit && x.getCountAtIndex(i) === 0) { zeros++; i++ }
      if (zeros > 1) word = -zeros
    }
    let v = word >= 0 ? word * 2 : -word * 2 - 1
    while (v >= 128) {
      b[pos++] = (v % 128) | 0x80
      v = Math.floor(v / 128)
    }
    b[pos++] = v
  }
  b.writeUInt32BE(V2_COOKIE, 0)
  b.writeUInt32BE(pos - V2_HEADER_BYTES, 4)
  b.writeUInt32BE(1, 8) // normalizing index offset, as the library writes it
  b.writeUInt32BE(x.numberOfSignificantValueDigits, 12)
  writeInt64(b, 16, x.lowestDiscernibleValue)
  writeInt64(b, 24, x.highestTrackableValue)
  writeInt64(b, 32, 1) // integer-to-double conversion ratio
  return b.subarray(0, pos)
}

function writeInt64 (b: Buffer, at: number, v: number): void {
  b.writeUInt32BE(Math.floor(v / TWO_32) % TWO_32, at)
  b.writeUInt32BE(v % TWO_32, at + 4)
}

const readInt64 = (b: Buffer, at: number): number => b.readUInt32BE(at) * TWO_32 + b.readUInt32BE(at + 4)

interface V2 { lowest: number; highest: number; digits: number; payload: Buffer }

/** The V2 encoding's header and payload, from the compressed base64 form. */
function readV2 (encoded: string): V2 {
  const bytes = Buffer.from(encoded.trim(), 'base64')
  if (bytes.length < 8 || (bytes.readUInt32BE(0) & ~0xf0) !== V2_COMPRESSED_COOKIE_BASE) throw new Error('Encoding not supported, only V2 is supported')
  const data = inflateSync(bytes.subarray(8, 8 + bytes.readUInt32BE(4)))
  if (data.length < V2_HEADER_BYTES || (data.readUInt32BE(0) & ~0xf0) !== V2_COOKIE_BASE) throw new Error('The buffer does not contain a Histogram (no valid V2 encoding cookie found)')
  const length = data.readUInt32BE(4)
  return {
    digits: data.readUInt32BE(12),
    lowest: readInt64(data, 16),
    highest: readInt64(data, 24),
    payload: data.subarray(V2_HEADER_BYTES, V2_HEADER_BYTES + length)
  }
}

/** Calls put(index, count) for every count of a V2 payload; returns the length the counts cover. */
function eachEncodedCount (payload: Buffer, put: (index: number, count: number) => void): number {
  let index = 0
  let pos = 0
  while (pos < payload.length) {
    let byte = payload[pos++]!
    let v = byte & 0x7f
    let scale = 128
    while (byte & 0x80 && pos < payload.length) {
      byte = payload[pos++]!
      v += (byte & 0x7f) * scale
      scale *= 128
    }
    const word = v % 2 === 0 ? v / 2 : -(v + 1) / 2
    if (word < 0) index -= word
    else put(index++, word)
  }
  return index
}

/** the encoding's range is this module's: its counts land at the same indices of createHistogram()'s */
const ours = (v: V2): boolean => v.lowest === 1 && v.highest === HIGHEST_US && v.digits === 3

/**
 * A compressed base64 histogram as it was encoded (its own range, not widened: history files
 * of long runs decode thousands), as the library's decodeFromCompressedBase64(encoded, 32,
 * false) reads it
 */
export function decodeCompressed (encoded: string): Histogram {
  return fromV2(readV2(encoded))
}

function fromV2 (v: V2): Histogram {
  const h = new Histogram(v.lowest, v.highest, v.digits)
  h.fill(put => eachEncodedCount(v.payload, put))
  return h
}

/** one hour in microseconds: the largest latency kept apart from the rest */
export const HIGHEST_US = 3_600_000_000

/** 1 us to an hour, three significant digits: every latency this tool records */
export function createHistogram (): Histogram {
  return new Histogram(1, HIGHEST_US, 3)
}

export function recordUs (h: Histogram, us: number): void {
  h.recordValue(us < 1 ? 1 : us > HIGHEST_US ? HIGHEST_US : Math.round(us))
}

/** The library's encodeIntoCompressedBase64(): V2, deflated at zlib's default level, behind its cookie and length. */
export function encodeHistogram (h: Histogram): string {
  const deflated = deflateSync(encodeV2(h))
  const out = Buffer.allocUnsafe(8 + deflated.length)
  out.writeUInt32BE(V2_COMPRESSED_COOKIE, 0)
  out.writeUInt32BE(deflated.length, 4)
  deflated.copy(out, 8)
  return out.toString('base64')
}

/** A histogram of this module's range (an empty one for ''), as decoding and adding into createHistogram() gives it. */
export function decodeHistogram (encoded: string): Histogram {
  return mergeEncoded([encoded])
}

/** Decodes and adds every encoded histogram into one of this module's range. */
export function mergeEncoded (encoded: Iterable<string>): Histogram {
  const all = [...encoded].filter(Boolean).map(readV2)
  const out = createHistogram()
  if (all.every(ours)) {
    // the same indices: counts go straight in, the totals are taken once
    out.fill(put => all.reduce((filled, v) => Math.max(filled, eachEncodedCount(v.payload, put)), 0))
    return out
  }
  for (const v of all) {
    const h = fromV2(v)
    out.add(h)
    h.destroy()
  }
  return out
}

/** Several percentiles (0 < p <= 100, ascending) in ms in one pass, as getValueAtPercentile gives each; zeros for an empty histogram. */
export function percentilesMs (h: Histogram, ps: readonly number[]): number[] {
  const x = h
  const total = x.totalCount
  const out = ps.map(() => 0)
  if (total === 0) return out
  const targets = ps.map(p => countAtPercentile(p, total))
  let k = 0
  eachRecorded(x, (i, _c, seen) => {
    while (k < targets.length && seen >= targets[k]!) out[k++] = x.highestEquivalentValue(x.valueFromIndex(i)) / 1000
    return k < targets.length
  })
  return out
}

/**
 * Visits every non-zero count in index order with the running count so far (this one
 * included), until `visit` returns false or every recorded value has been seen.
 */
function eachRecorded (x: Histogram, visit: (index: number, count: number, seen: number) => boolean | undefined): void {
  let seen = 0
  for (let i = 0; i < x.countsArrayLength && seen < x.totalCount; i++) {
    const c = x.getCountAtIndex(i)
    if (c === 0) continue
    seen += c
    if (visit(i, c, seen) === false) return
  }
}

/** Visits every bucket that holds values, in order: its highest value and its count. */
export function eachBucket (h: Histogram, visit: (highest: number, count: number) => void): void {
  eachRecorded(h, (i, c) => { visit(h.highestEquivalentValue(h.valueFromIndex(i)), c); return true })
}

/** A second's p50, p95 and p99 in ms, in one pass (zeros for an empty histogram). */
export function slicePercentiles (h: Histogram): { p50: number; p95: number; p99: number } {
  const [p50, p95, p99] = percentilesMs(h, [50, 95, 99])
  return { p50: p50!, p95: p95!, p99: p99! }
}

/** How many recorded values lie above `us` (whole buckets: those whose lowest equivalent value is above it). */
export function countAbove (h: Histogram, us: number): number {
  const x = h
  let n = 0
  eachRecorded(x, (i, c) => { if (x.valueFromIndex(i) > us) n += c; return true })
  return n
}

/** The percentile (0..100) in milliseconds; 0 for an empty histogram. */
export function percentileMs (h: Histogram, p: number): number {
  if (h.totalCount === 0) return 0
  return h.getValueAtPercentile(p) / 1000
}

/** Locust's percentile columns, as used in its CSV files and tables. */
export const LOCUST_PERCENTILES = [50, 66, 75, 80, 90, 95, 98, 99, 99.9, 99.99, 100] as const

export interface LatencySummary {
  count: number
  minMs: number
  meanMs: number
  maxMs: number
  p50: number
  p66: number
  p75: number
  p80: number
  p90: number
  p95: number
  p98: number
  p99: number
  p999: number
  p9999: number
}

const SUMMARY_PERCENTILES = [50, 66, 75, 80, 90, 95, 98, 99, 99.9, 99.99] as const

/** The count a percentile reaches, as the library's getValueAtPercentile rounds it (up, less one ulp; at least 1). */
function countAtPercentile (p: number, total: number): number {
  const fp = (Math.min(p, 100) / 100) * total
  const ulp = fp > 0 ? 2 ** (Math.floor(Math.log2(fp)) - 52) : 0
  return Math.max(Math.ceil(fp - ulp), 1)
}

/**
 * Count, min, mean, max and the percentiles, in one pass over the counts: the values the
 * library's mean (each recorded value's median-equivalent value times its count, summed in
 * index order) and getValueAtPercentile (the highest equivalent value where the running count
 * reaches the percentile's) give, without its iterator.
 */
export function summarize (h: Histogram): LatencySummary {
  const x = h
  const total = x.totalCount
  const ps = SUMMARY_PERCENTILES.map(() => 0)
  let sum = 0
  if (total > 0) {
    const targets = SUMMARY_PERCENTILES.map(p => countAtPercentile(p, total))
    let k = 0
    eachRecorded(x, (i, c, seen) => {
      const top = x.highestEquivalentValue(x.valueFromIndex(i))
      sum += x.medianEquivalentValue(top) * c
      while (k < targets.length && seen >= targets[k]!) ps[k++] = top / 1000
      return true
    })
  }
  const empty = total === 0
  return {
    count: total,
    minMs: empty ? 0 : h.minNonZeroValue / 1000,
    meanMs: empty ? 0 : sum / total / 1000,
    maxMs: empty ? 0 : h.maxValue / 1000,
    p50: ps[0]!,
    p66: ps[1]!,
    p75: ps[2]!,
    p80: ps[3]!,
    p90: ps[4]!,
    p95: ps[5]!,
    p98: ps[6]!,
    p99: ps[7]!,
    p999: ps[8]!,
    p9999: ps[9]!
  }
}
