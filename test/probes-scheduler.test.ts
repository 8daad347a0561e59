/**
 * The probe scheduler's contract, with small probes written for the test: samples land on
 * the run's clock, a slow sample skips ticks instead of piling up, a sample past its timeout
 * is a gap, a failing probe records a gap with the reason and resumes after its backoff, and
 * series stay in bounded memory.
 */
import { describe, expect, it } from 'vitest'
import { ProbeScheduler } from '../probes/scheduler.js'
import { SeriesBuffer } from '../probes/series-store.js'
import { Rates } from '../probes/probe.js'
import type { Probe, Reading } from '../probes/probe.js'
import { sleep } from './helpers/server.js'

class CountingProbe implements Probe {
  readonly name = 'count'
  readonly target = 'a counter'
  n = 0
  fail: string | null = null
  delayMs = 0
  timeoutMs?: number
  concurrent = 0
  maxConcurrent = 0
  async start (): Promise<void> {}
  async sample (): Promise<Reading[]> {
    this.concurrent++
    this.maxConcurrent = Math.max(this.maxConcurrent, this.concurrent)
    try {
      if (this.delayMs) await sleep(this.delayMs)
      if (this.fail) throw new Error(this.fail)
      return [{ metric: 'n', unit: 'count', value: ++this.n }]
    } finally {
      this.concurrent--
    }
  }

  async stop (): Promise<void> {}
}

describe('probe scheduler', () => {
  it('stores samples at the second the interval covers, on the given clock', async () => {
    const p = new CountingProbe()
    const s = new ProbeScheduler([p], { intervalMs: 1000 })
    const before = Date.now()
    await s.start()
    await sleep(2300)
    await s.stop()
    const series = s.series().find(x => x.id === 'count.n')!
    expect(series.points.length).toBeGreaterThanOrEqual(2)
    for (const [t] of series.points) {
      expect(Number.isInteger(t)).toBe(true)
      // a tick at boundary B stores at B/1000 - 1: never later than now, never before the start - 1
      expect(t).toBeGreaterThanOrEqual(Math.floor(before / 1000) - 1)
      expect(t).toBeLessThanOrEqual(Math.floor(Date.now() / 1000))
    }
    const ts = series.points.map(x => x[0])
    expect(new Set(ts).size).toBe(ts.length)
    expect(s.status()[0]).toMatchObject({ probe: 'count', state: 'ok', skippedTicks: 0 })
  })

  it('skips ticks while a slow sample runs, and a sample past its timeout is a gap', async () => {
    const p = new CountingProbe()
    p.delayMs = 650
    p.timeoutMs = 400
    const s = new ProbeScheduler([p], { intervalMs: 200, maxBackoffMs: 100 })
    await s.start()
    await sleep(2500)
    await s.stop()
    const st = s.status()[0]!
    expect(p.maxConcurrent).toBe(1)
    expect(st.skippedTicks).toBeGreaterThan(0)
    expect(st.gaps.length).toBeGreaterThan(0)
    expect(st.gaps[0]!.reason).toMatch(/timed out after 400 ms/)
    expect(st.state).toBe('degraded')
  })

  it('records a gap with the reason while a probe fails, retries with backoff and resumes', async () => {
    const p = new CountingProbe()
    const lines: string[] = []
    const s = new ProbeScheduler([p], { intervalMs: 200, log: (l) => lines.push(l) })
    await s.start()
    // good samples in two seconds, so the failure's gap (written into the current second,
    // where a later write wins) cannot replace every good point
    for (let i = 0; i < 30 && (s.series()[0]?.points.length ?? 0) < 2; i++) await sleep(100)
    p.fail = 'connection refused by test'
    const calls = p.n
    await sleep(2000)
    const attemptsWhileDown = p.n - calls
    p.fail = null
    // backoff 1 s, 2 s: the next attempt is within ~2 s
    await sleep(2600)
    await s.stop()
    expect(attemptsWhileDown).toBe(0)
    const st = s.status()[0]!
    expect(st.gaps.length).toBeGreaterThanOrEqual(1)
    expect(st.gaps[0]!.reason).toBe('connection refused by test')
    expect(st.gaps[0]!.to).toBeGreaterThanOrEqual(st.gaps[0]!.from)
    const pts = s.series()[0]!.points
    const nullAt = pts.findIndex(x => x[1] === null)
    expect(nullAt).toBeGreaterThan(0)
    expect(pts.slice(nullAt).some(x => x[1] !== null)).toBe(true)
    expect(lines.some(l => /count: cannot sample \(connection refused by test\)/.test(l))).toBe(true)
    expect(lines.some(l => /count: sampling again/.test(l))).toBe(true)
  })

  it('a probe that cannot start is reported, the others run', async () => {
    const bad: Probe = {
      name: 'bad',
      target: 'postgres://u:***@127.0.0.1:1/x',
      start: async () => { throw new Error('password authentication failed for postgres://u:hunter2@127.0.0.1:1/x') },
      sample: async () => [],
      stop: async () => {}
    }
    const good = new CountingProbe()
    const s = new ProbeScheduler([bad, good], { intervalMs: 200 })
    const report = await s.start()
    await sleep(600)
    await s.stop()
    expect(report.failed.map(f => f.probe.name)).toEqual(['bad'])
    expect(report.failed[0]!.reason).not.toContain('hunter2')
    expect(s.status().find(x => x.probe === 'bad')).toMatchObject({ state: 'failed', samples: 0 })
    expect(good.n).toBeGreaterThan(0)
  })
})

describe('bounded series', () => {
  it('keeps at most maxPoints, halving the resolution when full (a 30-minute run fits unchanged)', () => {
    const b = new SeriesBuffer('p', 'm', undefined, 'count', undefined, 3600)
    for (let i = 0; i < 1800; i++) b.push(1000 + i, i)
    expect(b.stride).toBe(1)
    expect(b.points().length).toBe(1800)
    const small = new SeriesBuffer('p', 'm', undefined, 'count', undefined, 100)
    for (let i = 0; i < 1000; i++) small.push(1000 + i, i % 7 === 0 ? null : i)
    const pts = small.points()
    expect(pts.length).toBeLessThanOrEqual(101)
    expect(small.stride).toBeGreaterThan(1)
    // time order kept, first point still the first second, values are means of what they cover
    expect(pts[0]![0]).toBe(1000)
    for (let i = 1; i < pts.length; i++) expect(pts[i]![0]).toBeGreaterThan(pts[i - 1]![0])
    const last = pts[pts.length - 1]!
    expect(last[1]).toBeGreaterThan(900)
  })

  it('rates are null on the first reading and after a counter reset', () => {
    const r = new Rates()
    expect(r.rate('x', 10, 0)).toBeNull()
    expect(r.rate('x', 30, 2000)).toBe(10)
    expect(r.rate('x', 5, 3000)).toBeNull()
    expect(r.rate('x', 8, 4000)).toBe(3)
  })
})
