/**
 * HDR histogram helpers shared by the generator (recording), the correlator (per-second
 * percentiles) and the reports. Latencies are recorded in microseconds with three
 * significant digits, from 1 us to one hour; histograms cross thread, process and file
 * boundaries as hdr-histogram-js compressed base64 (HdrHistogram's V2 compressed encoding),
 * so results merge exactly.
 *
 * Only the library's JS histogram and its encoding are loaded: its index also loads the
 * WebAssembly build and the log reader and writer, 37 ms of CPU in each thread that records
 * or reads latencies against 20 for these two modules (the start of every run pays it twice).
 * test/hist.test.ts checks both against the library's own build, encoder and decoder.
 */
import { createRequire } from 'node:module'
import type * as hdr from 'hdr-histogram-js'

export type Histogram = hdr.Histogram

const requireLib = createRequire(import.meta.url)
const Int32Histogram = (requireLib('hdr-histogram-js/dist/Int32Histogram') as { default: new (lowest: number, highest: number, digits: number) => Histogram }).default
/** loading it also gives the JS histograms encodeIntoCompressedBase64 */
const encoding = requireLib('hdr-histogram-js/dist/JsHistogram.encoding') as {
  decompress: (data: Uint8Array) => Uint8Array
  doDecode: (data: Uint8Array, bitBucketSize: number, minBarForHighestTrackableValue: number) => Histogram
}

/**
 * A compressed base64 histogram as it was encoded (its own range, not widened: history files
 * of long runs decode thousands), as the library's decodeFromCompressedBase64(encoded, 32,
 * false) reads it
 */
export function decodeCompressed (encoded: string): Histogram {
  return encoding.doDecode(encoding.decompress(Buffer.from(encoded.trim(), 'base64')), 32, 0)
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

export function encodeHistogram (h: Histogram): string {
  return (h as unknown as { encodeIntoCompressedBase64 (): string }).encodeIntoCompressedBase64()
}

export function decodeHistogram (encoded: string): Histogram {
  if (!encoded) return createHistogram()
  const decoded = decodeCompressed(encoded)
  // normalise the range so that add() never has to resize
  const h = createHistogram()
  h.add(decoded)
  decoded.destroy()
  return h
}

/** Decodes and adds every encoded histogram into one. */
export function mergeEncoded (encoded: Iterable<string>): Histogram {
  const out = createHistogram()
  for (const e of encoded) {
    if (!e) continue
    const h = decodeCompressed(e)
    out.add(h)
    h.destroy()
  }
  return out
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

export function summarize (h: Histogram): LatencySummary {
  const empty = h.totalCount === 0
  const at = (p: number): number => (empty ? 0 : h.getValueAtPercentile(p) / 1000)
  return {
    count: h.totalCount,
    minMs: empty ? 0 : h.minNonZeroValue / 1000,
    meanMs: empty ? 0 : h.mean / 1000,
    maxMs: empty ? 0 : h.maxValue / 1000,
    p50: at(50),
    p66: at(66),
    p75: at(75),
    p80: at(80),
    p90: at(90),
    p95: at(95),
    p98: at(98),
    p99: at(99),
    p999: at(99.9),
    p9999: at(99.99)
  }
}
