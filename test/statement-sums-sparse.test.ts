/**
 * The PostgreSQL probe reads pg_stat_statements' sums sparingly (a read scans every entry of
 * the server): as often as their measured cost allows, and at the moments the run's plan marks
 * (the start of the steady state after warm-up, just before the end). The recorded corpus was
 * made with a read every 5th second. Replayed with only the reads the plan asks for (each
 * long interval pooled from the recorded ones it spans), every case must give the findings it
 * gave with all of them: the diagnosis's mean statement time does not depend on the cadence.
 */
import { describe, expect, it } from 'vitest'
import { diagnose } from '../correlate/diagnose.js'
import { plannedWarmWindow } from '../correlate/phases.js'
import { statementMeanOf } from '../correlate/pg.js'
import { planMoments } from '../app/run.js'
import { readCase, readIndex } from '../bench/corpus.js'
import type { CorpusEntry } from '../bench/corpus.js'
import type { RunResult, Series } from '../shared/types.js'

/** the run's length as planned: its stages' durations (the run time when it was given instead) */
function plannedSeconds (r: RunResult): number {
  const stages = r.meta.model.stages as Array<{ durationS: number }>
  const sum = stages.reduce((a, s) => a + s.durationS, 0)
  const ran = (r.meta.endedAt - r.meta.startedAt) / 1000
  return sum > 0 && sum <= ran + 5 ? sum : Math.round(ran)
}

/** the seconds the probe would store its planned reads at: the first tick from each moment stores the second before it */
function plannedSeconds2 (r: RunResult): number[] {
  return planMoments(r.meta.model, plannedSeconds(r), r.meta.startedAt).map(m => Math.ceil(m / 1000) - 1)
}

/** the recorded sums kept only at the series' first read and the first reads from each planned second */
function thin (r: RunResult): { result: RunResult; kept: number[] } | null {
  const means = r.probes.series.find(s => s.probe === 'pg' && s.metric === 'query_mean_ms')
  const calls = r.probes.series.find(s => s.probe === 'pg' && s.metric === 'calls_per_s')
  if (!means || !calls || means.points.length < 3) return null
  const times = means.points.map(p => p[0])
  const keep = new Set<number>([times[0]!])
  for (const s of plannedSeconds2(r)) {
    const t = times.find(x => x >= s)
    if (t !== undefined) keep.add(t)
  }
  const rate = new Map(calls.points)
  const newMeans: Series['points'] = []
  const newCalls: Series['points'] = []
  let prev = times[0]!
  let ms = 0
  let n = 0
  let broken = false
  for (let i = 0; i < means.points.length; i++) {
    const [t, mean] = means.points[i]!
    if (i > 0) {
      const c = rate.get(t)
      if (c === null || c === undefined) broken = true
      else {
        const k = c * (t - means.points[i - 1]![0])
        n += k
        if (mean !== null) ms += mean * k
      }
    }
    if (!keep.has(t)) continue
    if (i === 0) {
      newMeans.push([t, mean])
      newCalls.push([t, rate.get(t) ?? null])
    } else {
      newMeans.push([t, broken || n <= 0 ? null : ms / n])
      newCalls.push([t, broken ? null : n / (t - prev)])
    }
    prev = t
    ms = 0
    n = 0
    broken = false
  }
  const series = r.probes.series.map(s => s === means ? { ...s, points: newMeans } : s === calls ? { ...s, points: newCalls } : s)
  return { result: { ...r, probes: { ...r.probes, series } }, kept: [...keep] }
}

const index = readIndex()

describe('pg_stat_statements read only at the plan\'s moments', () => {
  it('plans a read at the start of the steady state after warm-up and one just before the end', () => {
    // 10 users at 1 a second for 60 s: 9 users (90 % of the peak) run in second 8, the steady
    // state starts there and its warm-up takes 10 s (a fifth of it)
    const model = { kind: 'closed' as const, stages: [{ durationS: 60, users: 10, spawnRate: 1 }] }
    expect(plannedWarmWindow(model, 60)).toEqual({ from: 18, to: 59 })
    expect(planMoments(model, 60, 1_000_000)).toEqual([1_018_000, 1_058_500])
    // an open model at a constant rate is steady from its first second
    expect(plannedWarmWindow({ kind: 'open', startRate: 5, stages: [{ durationS: 30, rate: 5 }], preAllocatedVUs: 1, maxVUs: 5 }, 30)).toEqual({ from: 6, to: 29 })
  })

  const cases = index.cases.filter(c => c.expected !== undefined)
  it(`every recorded case with the sums gives the same findings (${cases.length} cases)`, () => {
    let compared = 0
    const changed: string[] = []
    for (const c of cases) {
      const r = readCase(c as CorpusEntry)
      const t = thin(r)
      if (!t) continue
      compared++
      expect(t.result.probes.series.find(s => s.metric === 'query_mean_ms')!.points.length).toBeLessThanOrEqual(3)
      const before = diagnose(r).findings.map(f => f.id)
      const after = diagnose(t.result).findings.map(f => f.id)
      if (before.join() !== after.join()) changed.push(`${c.id}: ${before.join(', ') || 'none'} -> ${after.join(', ') || 'none'} (reads kept at ${t.kept.map(x => x - r.probes.series[0]!.points[0]![0]).join(', ')})`)
    }
    // the corpus has the sums in most cases (some were recorded without pg_stat_statements)
    expect(compared).toBeGreaterThan(60)
    expect(changed).toEqual([])
  })

  it('the mean over the warm window comes from the planned reads alone', () => {
    // a made-up run: 40 s, the app's statements 2 ms for the first 20 s, then 8 ms
    const points = (f: (t: number) => number | null): Array<[number, number | null]> => Array.from({ length: 9 }, (_, i) => [100 + i * 5, f(100 + i * 5)])
    const series: Series[] = [
      { id: 'pg.query_mean_ms', probe: 'pg', metric: 'query_mean_ms', unit: 'ms', points: points(t => t === 100 ? null : t <= 120 ? 2 : 8) },
      { id: 'pg.calls_per_s', probe: 'pg', metric: 'calls_per_s', unit: 'per_s', points: points(t => t === 100 ? null : 100) }
    ]
    expect(statementMeanOf(series, { from: 121, to: 140 })).toBe(8)
    expect(statementMeanOf(series, { from: 101, to: 140 })).toBe(5)
    // weighted by calls: 100/s at 2 ms for 20 s and 300/s at 8 ms for 20 s
    series[1]!.points = points(t => t === 100 ? null : t <= 120 ? 100 : 300)
    expect(statementMeanOf(series, { from: 101, to: 140 })).toBeCloseTo((2 * 2000 + 8 * 6000) / 8000, 9)
    // a window the reads cover less than half of: not measured
    expect(statementMeanOf(series, { from: 118, to: 140 })).toBeCloseTo(8, 9)
    expect(statementMeanOf(series, { from: 133, to: 160 })).toBeNull()
  })
})
