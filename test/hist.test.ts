/**
 * shared/hist.ts keeps its own HDR histogram (HdrHistogram's layout) and writes the V2 encoding
 * and the summary itself; hdr-histogram-js is the reference here. Its layout (indices and
 * equivalent values) must be the library's for every range, and what it builds, encodes,
 * decodes, merges and summarises must be what the library's own build(),
 * encodeIntoCompressedBase64(), decodeFromCompressedBase64(), add(), mean and
 * getValueAtPercentile() give, on made-up latencies, on every histogram of a recorded result,
 * on empty ones and on histograms of another range.
 */
import { describe, expect, it } from 'vitest'
import * as hdr from 'hdr-histogram-js'
import { countAbove, createHistogram, decodeCompressed, decodeHistogram, eachBucket, encodeHistogram, Histogram, mergeEncoded, percentilesMs, recordUs, summarize, HIGHEST_US } from '../shared/hist.js'
import { readCase, readIndex } from '../bench/corpus.js'
import type { CorpusEntry } from '../bench/corpus.js'

function library (): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_US, numberOfSignificantValueDigits: 3, bitBucketSize: 32, autoResize: false })
}

const PERCENTILES = [0, 1, 10, 50, 90, 95, 99, 99.9, 99.99, 100]
/** what both histograms answer */
interface Shaped { totalCount: number; minNonZeroValue: number; maxValue: number; mean: number; getValueAtPercentile (p: number): number }
const shape = (h: Shaped): unknown => ({
  count: h.totalCount,
  min: h.minNonZeroValue,
  max: h.maxValue,
  mean: h.mean,
  ps: PERCENTILES.map(p => h.getValueAtPercentile(p))
})

/** summarize() as the library's own accessors give it */
const librarySummary = (h: Shaped): ReturnType<typeof summarize> => {
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

function heavyTailed (n: number, seed: number, record: (us: number) => void): void {
  let x = seed
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31
    record(Math.exp((x / 2 ** 31) * Math.log(HIGHEST_US)))
  }
}

/** the library's layout members (public in its JS, not in its types) */
interface Layout {
  countsArrayLength: number
  countsArrayIndex (v: number): number
  valueFromIndex (i: number): number
  lowestEquivalentValue (v: number): number
  highestEquivalentValue (v: number): number
  medianEquivalentValue (v: number): number
}

describe('histograms', () => {
  it('keep HdrHistogram\'s layout: the same counts array, indices and equivalent values as the library, for any range', () => {
    const ranges: Array<[number, number, number]> = [[1, HIGHEST_US, 3], [1, 60_000_000, 2], [1, 3_600_000, 5], [1000, HIGHEST_US, 3], [7, 2 ** 40, 1], [1, 2, 0]]
    for (const [lowest, highest, digits] of ranges) {
      const ours = new Histogram(lowest, highest, digits)
      const theirs = hdr.build({ lowestDiscernibleValue: lowest, highestTrackableValue: highest, numberOfSignificantValueDigits: digits as 1 | 2 | 3 | 4 | 5, bitBucketSize: 32, autoResize: false }) as unknown as Layout
      expect(ours.countsArrayLength, `${lowest}-${highest}/${digits}`).toBe(theirs.countsArrayLength)
      const values = [0, 1, 2, 3, lowest, highest]
      for (let k = 1; 2 ** k <= highest; k++) values.push(2 ** k - 1, 2 ** k, 2 ** k + 1)
      let x = 99
      for (let i = 0; i < 2000; i++) {
        x = (x * 1103515245 + 12345) % 2 ** 31
        values.push(Math.round(Math.exp((x / 2 ** 31) * Math.log(highest))))
      }
      for (const v of values.filter(v => v <= highest)) {
        const at = `${v} in ${lowest}-${highest}/${digits}`
        expect(ours.countsArrayIndex(v), at).toBe(theirs.countsArrayIndex(v))
        expect(ours.lowestEquivalentValue(v), at).toBe(theirs.lowestEquivalentValue(v))
        expect(ours.highestEquivalentValue(v), at).toBe(theirs.highestEquivalentValue(v))
        expect(ours.medianEquivalentValue(v), at).toBe(theirs.medianEquivalentValue(v))
      }
      for (let i = 0; i < ours.countsArrayLength; i += 7) expect(ours.valueFromIndex(i)).toBe(theirs.valueFromIndex(i))
    }
    // what the library refuses, it refuses too
    expect(() => new Histogram(0, 100, 3)).toThrow(RangeError)
    expect(() => new Histogram(10, 15, 3)).toThrow(RangeError)
    expect(() => new Histogram(1, 100, 6)).toThrow(RangeError)
    expect(() => createHistogram().recordValue(HIGHEST_US * 2)).toThrow(/outside the histogram's range/)
    expect(() => createHistogram().recordValue(-1)).toThrow(/negative/)
  })

  it('build, encode and decode as the library does', () => {
    const ours = createHistogram()
    const theirs = library()
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
    // the summary, from the counts in one pass, as the library's mean and percentiles give it
    expect(summarize(ours)).toEqual(librarySummary(theirs))
    expect(summarize(decodeHistogram(encoded))).toEqual(librarySummary(widened))
    expect(summarize(mergeEncoded([encoded, encoded]))).toEqual(librarySummary(merged))
  })

  it('small, empty and single-value histograms encode, decode and summarise as the library does', () => {
    for (const values of [[], [1], [1500], [HIGHEST_US], [3, 3, 3, 700_000], Array.from({ length: 101 }, (_, i) => 1000 + i * 37)]) {
      const ours = createHistogram()
      const theirs = library()
      for (const v of values) { recordUs(ours, v); theirs.recordValue(v) }
      const encoded = encodeHistogram(ours)
      expect(encoded).toBe(hdr.encodeIntoCompressedBase64(theirs))
      const widened = library()
      widened.add(hdr.decodeFromCompressedBase64(encoded, 32, false))
      expect(shape(decodeHistogram(encoded))).toEqual(shape(widened))
      expect(summarize(ours)).toEqual(librarySummary(theirs))
      expect(summarize(decodeHistogram(encoded))).toEqual(librarySummary(widened))
    }
  })

  it('merge histograms of another range as the library adds them (decoded, then added into this range)', () => {
    // a file written by another tool or an older version: 1 us to 1 min, 2 digits
    const foreign = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 2, bitBucketSize: 32, autoResize: false })
    heavyTailed(5000, 777, us => foreign.recordValue(Math.max(1, Math.min(60_000_000, Math.round(us / 60)))))
    const ours = createHistogram()
    heavyTailed(5000, 4242, us => recordUs(ours, us))
    const a = hdr.encodeIntoCompressedBase64(foreign)
    const b = encodeHistogram(ours)
    expect(shape(decodeCompressed(a))).toEqual(shape(hdr.decodeFromCompressedBase64(a, 32, false)))
    const merged = library()
    for (const e of [a, b]) merged.add(hdr.decodeFromCompressedBase64(e, 32, false))
    expect(shape(mergeEncoded([a, b]))).toEqual(shape(merged))
    expect(summarize(mergeEncoded([a, b]))).toEqual(librarySummary(merged))
  })

  it('add, take percentiles and count a tail as the library does', () => {
    const ours = createHistogram()
    const theirs = library()
    const empty = createHistogram()
    const values: number[] = []
    for (let round = 0; round < 3; round++) {
      const part = createHistogram()
      const theirPart = library()
      heavyTailed(3000, 99 + round, us => {
        const v = Math.max(1, Math.min(HIGHEST_US, Math.round(us)))
        recordUs(part, us)
        theirPart.recordValue(v)
        values.push(v)
      })
      ours.add(part)
      theirs.add(theirPart)
      // an empty one changes nothing, in either
      ours.add(empty)
      theirs.add(library())
      expect(shape(ours)).toEqual(shape(theirs))
    }
    // into an empty one (its min and max start from nothing)
    const fresh = createHistogram()
    fresh.add(ours)
    expect(shape(fresh)).toEqual(shape(theirs))
    expect(encodeHistogram(fresh)).toBe(hdr.encodeIntoCompressedBase64(theirs))
    // every bucket with values: its highest value and count, as the library's recorded-values iterator walks them
    const buckets: Array<[number, number]> = []
    eachBucket(ours, (us, n) => buckets.push([us, n]))
    const walked: Array<[number, number]> = []
    const it = (theirs as unknown as { recordedValuesIterator: { reset (): void; hasNext (): boolean; next (): { valueIteratedTo: number; countAtValueIteratedTo: number } } }).recordedValuesIterator
    it.reset()
    while (it.hasNext()) { const v = it.next(); walked.push([v.valueIteratedTo, v.countAtValueIteratedTo]) }
    expect(buckets.length).toBeGreaterThan(100)
    expect(buckets).toEqual(walked)
    const ps = [1, 50, 95, 99, 99.9, 100]
    expect(percentilesMs(ours, ps)).toEqual(ps.map(p => theirs.getValueAtPercentile(p) / 1000))
    expect(percentilesMs(createHistogram(), [50, 99])).toEqual([0, 0])
    // the values above a mark: those whose bucket starts above it
    for (const mark of [10, 1000, 250_000]) {
      const lowest = (v: number): number => (theirs as unknown as { lowestEquivalentValue (v: number): number }).lowestEquivalentValue(v)
      expect(countAbove(ours, mark)).toBe(values.filter(v => lowest(v) > mark).length)
    }
  })

  it('reject what is not a V2 compressed histogram, as the library does', () => {
    expect(() => decodeHistogram(Buffer.from('not a histogram at all').toString('base64'))).toThrow(/only V2 is supported/)
    expect(() => hdr.decodeFromCompressedBase64(Buffer.from('not a histogram at all').toString('base64'), 32, false)).toThrow(/only V2 is supported/)
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
      const widened = library()
      widened.add(theirs)
      expect(summarize(decodeHistogram(e))).toEqual(librarySummary(widened))
    }
    // the whole run's merge, as the aggregator and the reports take it
    const merged = library()
    for (const e of encoded) merged.add(hdr.decodeFromCompressedBase64(e, 32, false))
    expect(summarize(mergeEncoded(encoded))).toEqual(librarySummary(merged))
  })
})
