/**
 * shared/hist.ts loads only hdr-histogram-js's JS histogram and its encoding (not the
 * library's index, which also loads its WebAssembly build). What it builds, encodes and
 * decodes must be what the library's own build(), encodeIntoCompressedBase64() and
 * decodeFromCompressedBase64() give, on made-up latencies and on every histogram of a
 * recorded result.
 */
import { describe, expect, it } from 'vitest'
import * as hdr from 'hdr-histogram-js'
import { createHistogram, decodeCompressed, decodeHistogram, encodeHistogram, mergeEncoded, recordUs, HIGHEST_US } from '../shared/hist.js'
import { readCase, readIndex } from '../bench/corpus.js'
import type { CorpusEntry } from '../bench/corpus.js'

function library (): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_US, numberOfSignificantValueDigits: 3, bitBucketSize: 32, autoResize: false })
}

const PERCENTILES = [0, 1, 10, 50, 90, 95, 99, 99.9, 99.99, 100]
const shape = (h: hdr.Histogram): unknown => ({
  count: h.totalCount,
  min: h.minNonZeroValue,
  max: h.maxValue,
  mean: h.mean,
  ps: PERCENTILES.map(p => h.getValueAtPercentile(p))
})

describe('histograms', () => {
  it('build, encode and decode as the library does', () => {
    const ours = createHistogram()
    const theirs = library()
    expect(ours.constructor.name).toBe(theirs.constructor.name)
    // latencies from 1 us to an hour, heavy-tailed, with out-of-range values clamped
    let x = 12345
    for (let i = 0; i < 20_000; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31
      const us = Math.exp((x / 2 ** 31) * Math.log(HIGHEST_US))
      recordUs(ours, us)
      theirs.recordValue(Math.max(1, Math.min(HIGHEST_US, Math.round(us))))
    }
    recordUs(ours, 0.2)
    theirs.recordValue(1)
    expect(shape(ours)).toEqual(shape(theirs))
    const encoded = encodeHistogram(ours)
    expect(encoded).toBe(hdr.encodeIntoCompressedBase64(theirs))
    // decoded here as the library decodes it (a decoded maximum is its bucket's highest equivalent value)
    const decoded = hdr.decodeFromCompressedBase64(encoded, 32, false)
    expect(decoded.totalCount).toBe(theirs.totalCount)
    expect(shape(decodeCompressed(encoded))).toEqual(shape(decoded))
    const widened = library()
    widened.add(decoded)
    expect(shape(decodeHistogram(encoded))).toEqual(shape(widened))
    // merged as the library would: decoded and added
    const merged = library()
    for (let i = 0; i < 2; i++) merged.add(hdr.decodeFromCompressedBase64(hdr.encodeIntoCompressedBase64(theirs), 32, false))
    expect(shape(mergeEncoded([encoded, encoded]))).toEqual(shape(merged))
    expect(decodeHistogram('').totalCount).toBe(0)
  })

  it('read every histogram of a recorded result as the library reads it', () => {
    const entry = readIndex().cases[0] as CorpusEntry
    const r = readCase(entry)
    const encoded = [r.totals.overall.hist, ...r.totals.entries.map(e => e.hist), ...r.timeline.slice(0, 30).map(s => s.overall.hist)].filter(Boolean)
    expect(encoded.length).toBeGreaterThan(10)
    for (const e of encoded) {
      const theirs = hdr.decodeFromCompressedBase64(e, 32, false)
      expect(shape(decodeCompressed(e))).toEqual(shape(theirs))
      expect(encodeHistogram(decodeCompressed(e))).toBe(hdr.encodeIntoCompressedBase64(theirs))
    }
  })
})
