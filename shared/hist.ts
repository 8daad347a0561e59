/**
 * HDR histogram helpers shared by the generator (recording), the correlator (per-second
 * percentiles) and the reports. Latencies are recorded in microseconds with three
 * significant digits, from 1 us to one hour; histograms cross thread, process and file
 * boundaries as HdrHistogram's V2 compressed encoding in base64 (what hdr-histogram-js's
 * encodeIntoCompressedBase64 writes), so results merge exactly.
 *
 * Only the library's JS histogram is loaded (5 ms). The V2 encoding and the summary are written
 * here: the library's encoding module also loads pako, its own byte buffer and its histogram
 * factory (about 30 ms of CPU in each thread that records or reads latencies, and every run has
 * two), and its mean walks an iterator. Both are small, fixed formulas; test/hist.test.ts checks
 * that what is encoded, decoded, merged and summarised here is what the library's build,
 * encoder, decoder, add, mean and percentiles give, byte for byte and value for value.
 */
import { createRequire } from 'node:module'
import { deflateSync, inflateSync } from 'node:zlib'
import type * as hdr from 'hdr-histogram-js'

export type Histogram = hdr.Histogram

const requireLib = createRequire(import.meta.url)
const Int32Histogram = (requireLib('hdr-histogram-js/dist/Int32Histogram') as { default: new (lowest: number, highest: number, digits: number) => Histogram }).default

/** the JS histogram's members the encoding and the summary use (public in its JS, not in its types) */
interface Internals {
  readonly countsArrayLength: number
  readonly lowestDiscernibleValue: number
  readonly highestTrackableValue: number
  readonly numberOfSignificantValueDigits: number
  readonly maxValue: number
  readonly totalCount: number
  countsArrayIndex (value: number): number
  getCountAtIndex (index: number): number
  setCountAtIndex (index: number, value: number): void
  addToCountAtIndex (index: number, value: number): void
  establishInternalTackingValues (lengthToCover?: number): void
  setTotalCount (n: number): void
  updatedMaxValue (value: number): void
  updateMinNonZeroValue (value: number): void
  readonly minNonZeroValue: number
  valueFromIndex (index: number): number
  highestEquivalentValue (value: number): number
  medianEquivalentValue (value: number): number
}
const inside = (h: Histogram): Internals => h as unknown as Internals

// HdrHistogram's V2 cookies; the low nibble's 0x10 marks the zero-run (ZigZag LEB128) word format
const V2_COOKIE = 0x1c849313
const V2_COOKIE_BASE = 0x1c849303
const V2_COMPRESSED_COOKIE = 0x1c849314
const V2_COMPRESSED_COOKIE_BASE = 0x1c849304
const V2_HEADER_BYTES = 40
const TWO_32 = 2 ** 32

let scratch = Buffer.allocUnsafe(64 * 1024)

/** The V2 encoding (uncompressed): a 40-byte header, then the counts as ZigZag LEB128 words, a run of zeros as its negated length. */
function encodeV2 (h: Histogram): Buffer {
  const x = inside(h)
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
  const h = new Int32Histogram(v.lowest, v.highest, v.digits)
  const x = inside(h)
  const filled = eachEncodedCount(v.payload, (i, c) => x.setCountAtIndex(i, c))
  x.establishInternalTackingValues(filled)
  return h
}

/** one hour in microseconds: the largest latency kept apart from the rest */
export const HIGHEST_US = 3_600_000_000

export function createHistogram (): Histogram {
  // what the library's build() gives for bitBucketSize 32, without WebAssembly
  const h = new Int32Histogram(1, HIGHEST_US, 3)
  h.autoResize = false
  return h
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
    const x = inside(out)
    let filled = 0
    for (const v of all) filled = Math.max(filled, eachEncodedCount(v.payload, (i, c) => { if (c > 0) x.addToCountAtIndex(i, c) }))
    if (filled > 0) x.establishInternalTackingValues(filled)
    return x.totalCount > 0 ? out : createHistogram()
  }
  for (const v of all) {
    const h = fromV2(v)
    out.add(h)
    h.destroy()
  }
  return out
}

/**
 * Adds `from` into `into`, as the library's add() does for histograms of the same layout (this
 * module's), reading `from`'s counts only up to its highest value rather than the whole array
 * (23,000 entries for 1 us to an hour: the load threads add each request name's second into the
 * overall one, every second); another layout goes through the library's add().
 */
export function addHistogram (into: Histogram, from: Histogram): void {
  const a = inside(into)
  const b = inside(from)
  if (a.countsArrayLength !== b.countsArrayLength || a.lowestDiscernibleValue !== b.lowestDiscernibleValue || a.numberOfSignificantValueDigits !== b.numberOfSignificantValueDigits) {
    into.add(from)
    return
  }
  if (b.totalCount === 0) {
    // the library's add of an empty histogram still takes its (empty) max and min: nothing changes
    a.updatedMaxValue(Math.max(a.maxValue, b.maxValue))
    a.updateMinNonZeroValue(Math.min(a.minNonZeroValue, b.minNonZeroValue))
    return
  }
  const last = b.countsArrayIndex(b.maxValue)
  let added = 0
  for (let i = 0; i <= last; i++) {
    const c = b.getCountAtIndex(i)
    if (c > 0) {
      a.addToCountAtIndex(i, c)
      added += c
    }
  }
  a.setTotalCount(a.totalCount + added)
  a.updatedMaxValue(Math.max(a.maxValue, b.maxValue))
  a.updateMinNonZeroValue(Math.min(a.minNonZeroValue, b.minNonZeroValue))
}

/** Several percentiles (0 < p <= 100, ascending) in ms in one pass, as getValueAtPercentile gives each; zeros for an empty histogram. */
export function percentilesMs (h: Histogram, ps: readonly number[]): number[] {
  const x = inside(h)
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
function eachRecorded (x: Internals, visit: (index: number, count: number, seen: number) => boolean | undefined): void {
  let seen = 0
  for (let i = 0; i < x.countsArrayLength && seen < x.totalCount; i++) {
    const c = x.getCountAtIndex(i)
    if (c === 0) continue
    seen += c
    if (visit(i, c, seen) === false) return
  }
}

/** A second's p50, p95 and p99 in ms, in one pass (zeros for an empty histogram). */
export function slicePercentiles (h: Histogram): { p50: number; p95: number; p99: number } {
  const [p50, p95, p99] = percentilesMs(h, [50, 95, 99])
  return { p50: p50!, p95: p95!, p99: p99! }
}

/** How many recorded values lie above `us` (whole buckets: those whose lowest equivalent value is above it). */
export function countAbove (h: Histogram, us: number): number {
  const x = inside(h)
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
  const x = inside(h)
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
