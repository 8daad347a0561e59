import { describe, expect, it } from 'vitest'
import { parseDuration, formatDuration } from '../shared/duration.js'
import { redactUrl, redactText } from '../shared/redact.js'
import { UserShape, RateShape } from '../loadgen/shape.js'
import { ClassSequence, owns, portion, parseSegment, subShare } from '../loadgen/share.js'
import { Recorder } from '../loadgen/recorder.js'
import { Aggregator } from '../loadgen/aggregate.js'
import { decodeHistogram, summarize } from '../shared/hist.js'

describe('durations', () => {
  it('parses the forms users write', () => {
    expect(parseDuration('30s', 'x')).toBe(30)
    expect(parseDuration('2m', 'x')).toBe(120)
    expect(parseDuration('1h30m', 'x')).toBe(5400)
    expect(parseDuration('500ms', 'x')).toBe(0.5)
    expect(parseDuration('1m30s', 'x')).toBe(90)
    expect(parseDuration('45', 'x')).toBe(45)
    expect(parseDuration(12, 'x')).toBe(12)
    expect(formatDuration(90)).toBe('1m30s')
  })
  it('names the flag in the error for a malformed one', () => {
    expect(() => parseDuration('5x', '--run-time')).toThrow(/--run-time: expected a duration like 30s.*"5x"/)
    expect(() => parseDuration('', '--run-time')).toThrow(/--run-time/)
    expect(() => parseDuration('1m30', '--run-time')).toThrow(/--run-time/)
  })
})

describe('redaction', () => {
  it('removes passwords from connection strings', () => {
    expect(redactUrl('postgres://app:s3cret@127.0.0.1:5432/db')).toBe('postgres://app:***@127.0.0.1:5432/db')
    expect(redactUrl('redis://:hunter2@127.0.0.1:6379/0')).not.toContain('hunter2')
    expect(redactText('failed to connect postgres://u:pw@h/db: refused')).not.toContain(':pw@')
    expect(redactUrl('http://127.0.0.1:5555/?password=x')).not.toContain('password=x')
  })
})

describe('load shapes', () => {
  it('starts one user at once, then one every 1/rate seconds (Locust spawn rate)', () => {
    const s = new UserShape([{ durationS: 60, users: 10, spawnRate: 5 }])
    expect(s.usersAt(0)).toBe(1)
    expect(s.usersAt(0.19)).toBe(1)
    expect(s.usersAt(0.2)).toBe(2)
    expect(s.usersAt(1.8)).toBe(10)
    expect(s.usersAt(30)).toBe(10)
    expect(s.usersAt(1000)).toBe(10) // held after the last stage
  })
  it('ramps linearly without a spawn rate and ramps down', () => {
    const s = new UserShape([{ durationS: 10, users: 100 }, { durationS: 10, users: 100 }, { durationS: 10, users: 0 }])
    expect(s.usersAt(5)).toBe(50)
    expect(s.usersAt(15)).toBe(100)
    expect(s.usersAt(25)).toBe(50)
    expect(s.usersAt(30)).toBe(0)
    expect(s.isRamping(5)).toBe(true)
    expect(s.isRamping(15)).toBe(false)
  })
  it('schedules arrivals at a constant and a ramping rate', () => {
    const c = new RateShape(10, [{ durationS: 10, rate: 10 }])
    expect(c.timeOf(0)).toBe(0)
    expect(c.timeOf(5)).toBeCloseTo(0.5)
    expect(c.timeOf(99)).toBeCloseTo(9.9)
    // 0 -> 10/s over 10 s: n(t) = t^2/2, so iteration 50 is due at t = 10
    const r = new RateShape(0, [{ durationS: 10, rate: 10 }, { durationS: 10, rate: 10 }])
    expect(r.timeOf(50)).toBeCloseTo(10)
    expect(r.timeOf(8)).toBeCloseTo(4)
    expect(r.timeOf(60)).toBeCloseTo(11)
    expect(r.rateAt(5)).toBeCloseTo(5)
  })
})

describe('shares (segments and worker threads)', () => {
  it('gives every slot to exactly one share of a partition', () => {
    const shares = [1, 2, 3].map(i => parseSegment(`${i}/3`).share)
    for (let k = 0; k < 1000; k++) {
      expect(shares.filter(s => owns(s, k)).length).toBe(1)
    }
    for (const n of [0, 1, 7, 100, 1001]) {
      expect(shares.reduce((a, s) => a + portion(s, n), 0)).toBe(n)
    }
    const halves = [subShare(shares[1]!, 0, 2), subShare(shares[1]!, 1, 2)]
    for (let n = 0; n < 300; n++) expect(portion(halves[0]!, n) + portion(halves[1]!, n)).toBe(portion(shares[1]!, n))
  })
  it('refuses a malformed segment', () => {
    expect(() => parseSegment('0/4')).toThrow(/--segment: expected i\/N/)
    expect(() => parseSegment('5/4')).toThrow(/--segment/)
  })
  it('spreads user classes in proportion to their weights at every count', () => {
    const seq = new ClassSequence([3, 1])
    const counts = [0, 0]
    for (let g = 0; g < 40; g++) {
      counts[seq.classOf(g)]!++
      if ((g + 1) % 4 === 0) expect(counts).toEqual([((g + 1) / 4) * 3, (g + 1) / 4])
    }
  })
})

describe('recorder and aggregator', () => {
  it('merge per-thread seconds exactly (histograms added, not averaged)', () => {
    const a = new Recorder()
    const b = new Recorder()
    const both = new Recorder()
    for (let i = 1; i <= 1000; i++) {
      const us = i * 997
      ;(i % 2 ? a : b).record('GET', '/x', us, 10, i % 100 === 0 ? { kind: 'http', status: 500, message: 'HTTP 500' } : undefined)
      both.record('GET', '/x', us, 10, i % 100 === 0 ? { kind: 'http', status: 500, message: 'HTTP 500' } : undefined)
    }
    const merged = new Aggregator()
    merged.add(a.closeSlice(100, 1))
    merged.add(b.closeSlice(100, 1))
    const single = new Aggregator()
    single.add(both.closeSlice(100, 2))
    const m = merged.result()
    const s = single.result()
    expect(m.timeline).toHaveLength(1)
    expect(m.timeline[0]!.users).toBe(2)
    expect(m.overall.requests).toBe(1000)
    expect(m.overall.failures).toBe(10)
    expect(m.errors).toHaveLength(1)
    expect(m.errors[0]!.count).toBe(10)
    const hm = summarize(decodeHistogram(m.overall.hist))
    const hs = summarize(decodeHistogram(s.overall.hist))
    expect(hm).toEqual(hs)
    expect(hm.p50).toBeCloseTo(498.5, 0)
  })
  it('keeps flows out of the overall row', () => {
    const r = new Recorder()
    r.record('GET', '/a', 1000, 1)
    r.record('FLOW', 'whole thing', 5000, 0)
    const agg = new Aggregator()
    agg.add(r.closeSlice(1, 1))
    const res = agg.result()
    expect(res.overall.requests).toBe(1)
    expect(res.entries.map(e => e.key).sort()).toEqual(['FLOW whole thing', 'GET /a'])
  })
})

describe('exceptions are bounded in memory, and every one still counts', () => {
  it('past 200 distinct messages a second and 1,000 a run, the rest are counted under one group per task', () => {
    const rec = new Recorder()
    const agg = new Aggregator()
    let thrown = 0
    for (let t = 0; t < 6; t++) {
      // every task run throws, each with its own message (an id in it): 300 a second
      for (let i = 0; i < 300; i++) { rec.recordException('U', 'task', new Error(`no such item ${t}-${i}`)); thrown++ }
      const report = rec.closeSlice(1_800_000_000 + t, 1)
      expect(report.exceptions.length).toBeLessThanOrEqual(201)
      agg.add(report)
    }
    const { exceptions } = agg.result()
    expect(exceptions.reduce((a, e) => a + e.count, 0)).toBe(thrown)
    expect(exceptions.length).toBeLessThanOrEqual(1001)
    expect(exceptions.some(e => /other exception messages/.test(e.message))).toBe(true)
  })
})

describe('one capacity rule for the live watch and the stored timeline', () => {
  it('the live watch stops a stress run when the p99 breaks, as the stored timeline reads it', async () => {
    const { CapacityWatch } = await import('../app/capacity-watch.js')
    const { capacityHeld } = await import('../correlate/phases.js')
    const expect99 = { findMaxUsers: true, p95: 500, p99: 800 }
    const second = (t: number, p99: number): any => ({ t, users: t, overall: { requests: 100, failures: 0, p50: 20, p95: 200, p99 } })
    let found = ''
    const watch = new CapacityWatch(expect99, (m) => { found = m })
    for (let t = 0; t < 10; t++) watch.add(second(t, 300))
    expect(found).toBe('')
    for (let t = 10; t < 30; t++) watch.add(second(t, 1200))
    expect(found).toMatch(/the criteria broke at \d+ users/)
    // the rule itself: p99 over the profile's limit breaks it; without a p99 limit it holds
    const w = [1, 2, 3, 4, 5].map(t => ({ requests: 100, failures: 0, p95: 200, p99: 1200 }))
    expect(capacityHeld(w, expect99)).toBe(false)
    expect(capacityHeld(w, { p95: 500 })).toBe(true)
    expect(capacityHeld([{ requests: 0, failures: 0, p95: null, p99: null }], expect99)).toBe(null)
  })
})

describe('coded errors', () => {
  it('carry a code; the class gives the exit code; a thread\'s error crosses with its stack and code', async () => {
    const e = await import('../shared/errors.js')
    expect(new e.UsageError('x')).toMatchObject({ code: 'LOADLENS_USAGE', exitCode: 2 })
    expect(new e.RunTimeRequiredError('x')).toMatchObject({ code: 'LOADLENS_RUN_TIME_REQUIRED', exitCode: 2 })
    expect(new e.ScenarioMistake('x')).toMatchObject({ code: 'LOADLENS_SCENARIO_MISTAKE', exitCode: 2 })
    expect(new e.HarnessError('x')).toMatchObject({ code: 'LOADLENS_HARNESS', exitCode: 3 })
    expect(new e.WorkerError('x')).toMatchObject({ code: 'LOADLENS_WORKER', exitCode: 3 })
    // what a run decides by is the code, not the message's text
    const { resolveLoadPlan } = await import('../scenarios/profile.js')
    const plan = { name: 'p', profiles: {}, users: [], file: 'p.ts' } as any
    expect(() => resolveLoadPlan(plan, { users: 2 })).toThrow(expect.objectContaining({ code: 'LOADLENS_RUN_TIME_REQUIRED' }))
    // across a thread: structured clone keeps neither class nor code; serialize keeps both, and the stack
    const original = new TypeError('boom in the thread')
    const back = e.deserializeError(structuredClone(e.serializeError(original)))
    expect(back.message).toBe('boom in the thread')
    expect(back.name).toBe('TypeError')
    expect(back.stack).toBe(original.stack)
    const usage = e.deserializeError(structuredClone(e.serializeError(new e.ScenarioMistake('unknown request option "jsn"'))))
    expect(usage).toBeInstanceOf(e.UsageError)
    expect((usage as InstanceType<typeof e.UsageError>).code).toBe('LOADLENS_SCENARIO_MISTAKE')
    const wrapped = new e.WorkerError('load worker 1: boom', { cause: back })
    expect((wrapped.cause as Error).stack).toContain('boom in the thread')
  })
})
