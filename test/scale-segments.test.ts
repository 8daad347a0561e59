/**
 * Many machines, simulated by processes: three `loadlens run --segment i/3` CLIs started
 * together (--start-at) against one loopback server, then `loadlens merge`. The merged result
 * holds exactly the requests the theory gives, percentiles that match the server's delays,
 * a timeline whose users add up, and it renders through the reports and the checklist.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT, runCli } from './helpers/cli.js'
import type { CliResult } from './helpers/cli.js'
import type { TestServer } from './helpers/server.js'
import { delayServer, FAST_MS, PER_USER, scaleScenarios, SLOW_MS } from './helpers/scale.js'
import { decodeHistogram, mergeEncoded, summarize } from '../shared/hist.js'
import type { RunResult } from '../shared/types.js'
import { formatSummary } from '../reports/terminal/summary.js'
import { renderReport } from '../app/report.js'
import { evaluateChecklist } from '../reports/checklist.js'
import { lateStartWarning, segmentRunsProbes, parseProbesOn } from '../app/segments.js'
import { portion } from '../loadgen/share.js'

let server: TestServer
let sc: ReturnType<typeof scaleScenarios>
let startAt: number
const closed: string[] = []
const open: string[] = []
let runs: CliResult[] = []

const read = (path: string): RunResult => JSON.parse(readFileSync(path, 'utf8')) as RunResult
const summaryOf = (hist: string) => summarize(decodeHistogram(hist))

beforeAll(async () => {
  server = await delayServer()
  sc = scaleScenarios()
  // far enough ahead for six processes to start on a busy two-core machine
  startAt = Date.now() + 8000
  const at = new Date(startAt).toISOString()
  const jobs: Array<Promise<CliResult>> = []
  for (let i = 1; i <= 3; i++) {
    closed.push(join(sc.dir, `closed-${i}.json`))
    open.push(join(sc.dir, `open-${i}.json`))
    jobs.push(runCli(['run', sc.closed, '--headless', '--profile', 'nine', '--host', server.url, '--segment', `${i}/3`, '--start-at', at, '--json', closed[i - 1]!, '-q']))
    jobs.push(runCli(['run', sc.open, '--headless', '--profile', 'forty', '--host', server.url, '--segment', `${i}/3`, '--start-at', at, '--json', open[i - 1]!, '-q']))
  }
  runs = await Promise.all(jobs)
}, 90_000)

afterAll(async () => { await server?.close() })

describe('segments on three processes', () => {
  it('each segment ran its share, started together', () => {
    for (const r of runs) {
      expect(r.stderr).toBe('')
      expect(r.code).toBe(0)
    }
    const starts = closed.map(p => read(p).meta.startedAt)
    for (const t of starts) expect(t).toBeGreaterThanOrEqual(startAt - 1)
    expect(Math.max(...starts) - Math.min(...starts)).toBeLessThan(250)
    // 9 users split 3/3/3, each making exactly PER_USER requests
    for (const p of closed) {
      const r = read(p)
      expect(r.meta.peakUsers).toBe(3)
      expect(r.totals.overall.requests).toBe(3 * PER_USER)
    }
  })

  it('merge adds them up exactly: closed model with a fixed number of requests per user', async () => {
    const out = join(sc.dir, 'closed-merged.json')
    const r = await runCli(['merge', ...closed, '-o', out])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/Merged 3 results \(segments 1\/3,2\/3,3\/3/)
    expect(r.stdout).toMatch(/GET\s+\/slow\s+9\s/)
    const m = read(out)
    const segs = closed.map(read)
    // the theory: 9 users x 4 requests, one in four to /slow
    expect(m.totals.overall.requests).toBe(9 * PER_USER)
    expect(m.totals.overall.failures).toBe(0)
    const row = (key: string) => m.totals.entries.find(e => e.key === key)!
    expect(row('GET /fast').requests).toBe(9 * (PER_USER - 1))
    expect(row('GET /slow').requests).toBe(9)
    expect(m.totals.tasks['U.t']).toBeGreaterThanOrEqual(9 * PER_USER)

    // exact: the merged histogram is the HDR sum of the segments'
    const sum = mergeEncoded(segs.map(s => s.totals.overall.hist))
    const merged = decodeHistogram(m.totals.overall.hist)
    expect(merged.totalCount).toBe(sum.totalCount)
    for (const p of [1, 25, 50, 75, 80, 90, 99, 100]) expect(merged.getValueAtPercentile(p)).toBe(sum.getValueAtPercentile(p))
    expect(m.totals.overall.sumUs).toBe(segs.reduce((a, s) => a + s.totals.overall.sumUs, 0))
    expect(m.totals.overall.minUs).toBe(Math.min(...segs.map(s => s.totals.overall.minUs)))
    expect(m.totals.overall.maxUs).toBe(Math.max(...segs.map(s => s.totals.overall.maxUs)))

    // each row too is the HDR sum of the segments' rows (not mixed with the other)
    for (const key of ['GET /fast', 'GET /slow']) {
      const parts = mergeEncoded(segs.map(s => s.totals.entries.find(e => e.key === key)!.hist))
      const got = decodeHistogram(row(key).hist)
      expect(got.totalCount).toBe(parts.totalCount)
      for (const p of [1, 50, 99, 100]) expect(got.getValueAtPercentile(p)).toBe(parts.getValueAtPercentile(p))
    }
    // the rows hold what the server did: no request faster than its delay (timers fire up to
    // 1 ms early), the fast row's median under every slow request (a busy machine delays both,
    // so no fixed bound is checked); the overall histogram is exactly the two rows together
    const fast = summaryOf(row('GET /fast').hist)
    const slow = summaryOf(row('GET /slow').hist)
    expect(fast.minMs).toBeGreaterThanOrEqual(FAST_MS - 1)
    expect(slow.minMs).toBeGreaterThanOrEqual(SLOW_MS - 1)
    expect(fast.p50).toBeLessThan(slow.minMs)
    const rows = mergeEncoded([row('GET /fast').hist, row('GET /slow').hist])
    const all = decodeHistogram(m.totals.overall.hist)
    expect(all.totalCount).toBe(rows.totalCount)
    for (const p of [1, 25, 50, 75, 80, 90, 99, 100]) expect(all.getValueAtPercentile(p)).toBe(rows.getValueAtPercentile(p))

    // the timeline: users add up second by second, and the seconds hold every request
    expect(m.timeline.reduce((a, t) => a + t.overall.requests, 0)).toBe(9 * PER_USER)
    for (const slice of m.timeline) {
      const users = segs.reduce((a, s) => a + (s.timeline.find(x => x.t === slice.t)?.users ?? 0), 0)
      expect(slice.users).toBe(users)
    }
    expect(Math.max(...m.timeline.map(t => t.users))).toBe(9)
    // each second keeps the generator health of every segment that measured it in that second
    // (a segment's first or last second may have no health sample of its own)
    let withAll = 0
    for (const slice of m.timeline) {
      const measured = ['1/3', '2/3', '3/3'].filter((_, i) => segs[i]!.timeline.find(x => x.t === slice.t)?.generator)
      expect(slice.generator?.workers?.map(w => w.segment) ?? []).toEqual(measured)
      if (measured.length === 3) withAll++
    }
    expect(withAll).toBeGreaterThan(0)

    expect(m.meta).toMatchObject({ mergedFrom: 3, segment: '1/3,2/3,3/3', share: { from: 0, to: 1 }, workers: 3, peakUsers: 9, stopReason: 'completed' })
    expect(m.meta.segments!.map(s => [s.segment, s.requests])).toEqual([['1/3', 12], ['2/3', 12], ['3/3', 12]])
    expect(m.meta.startedAt).toBe(Math.min(...segs.map(s => s.meta.startedAt)))
    expect(m.meta.endedAt).toBe(Math.max(...segs.map(s => s.meta.endedAt)))
    // probes run in segment 1 only (--probes-on defaults to 1): the merged series are its own
    expect(segs[1]!.probes.series).toHaveLength(0)
    expect(segs[2]!.probes.series).toHaveLength(0)
    expect(m.probes.series.map(s => s.id)).toEqual(segs[0]!.probes.series.map(s => s.id))
  })

  it('merge adds them up exactly: open model with a fixed arrival rate', async () => {
    const out = join(sc.dir, 'open-merged.json')
    const r = await runCli(['merge', open[2]!, open[0]!, open[1]!, '-o', out, '--no-html', '-q'])
    expect(r.code).toBe(0)
    expect(existsSync(join(sc.dir, 'open-merged.html'))).toBe(false)
    const m = read(out)
    const segs = open.map(read)
    // 20 iterations/s for 2 s: iterations 0..39, split by the segments' shares
    expect(segs.map(s => s.timeline.reduce((a, t) => a + (t.iterations ?? 0), 0))).toEqual([0, 1, 2].map(i => portion({ from: i / 3, to: (i + 1) / 3 }, 40)))
    expect(m.timeline.reduce((a, t) => a + (t.iterations ?? 0), 0)).toBe(40)
    expect(m.totals.overall.requests).toBe(40)
    expect(m.meta.droppedIterations).toBe(0)
    expect(m.meta.segment).toBe('1/3,2/3,3/3')
  })

  it('the merged result renders through the reports and the checklist', async () => {
    const path = join(sc.dir, 'closed-merged.json')
    const m = read(path)
    const text = formatSummary(m)
    expect(text).toMatch(/Aggregated\s+36\s/)
    expect(readFileSync(join(sc.dir, 'closed-merged.html'), 'utf8')).toMatch(/scale-closed/)
    const { files } = renderReport(path, { html: join(sc.dir, 'again.html'), csv: join(sc.dir, 'merged'), junit: join(sc.dir, 'merged.xml'), md: join(sc.dir, 'merged.md') })
    for (const f of Object.values(files)) expect(existsSync(f)).toBe(true)
    expect(readFileSync(join(sc.dir, 'merged_stats.csv'), 'utf8')).toMatch(/\/slow/)
    const items = evaluateChecklist(m)
    expect(items.find(i => i.id === 'failures')!.state).toBe('pass')
    expect(m.diagnosis).toBeDefined()
  })
})

describe('merge refuses what is not one run, with one line and exit 2', () => {
  const variant = (from: string, name: string, edit: (r: any) => void): string => {
    const r = JSON.parse(readFileSync(from, 'utf8'))
    edit(r)
    const path = join(sc.dir, name)
    writeFileSync(path, JSON.stringify(r))
    return path
  }
  const cases: Array<[string, () => string[], RegExp]> = [
    ['a file that is not JSON', () => { const p = join(sc.dir, 'junk.json'); writeFileSync(p, 'hello'); return [closed[0]!, p] }, /junk\.json: not a loadlens result \(the file is not valid JSON\)/],
    ['JSON that is not a result', () => { const p = join(sc.dir, 'pkg.json'); copyFileSync(join(ROOT, 'package.json'), p); return [closed[0]!, p] }, /pkg\.json: not a loadlens result/],
    ['a missing file', () => [closed[0]!, join(sc.dir, 'nope.json')], /nope\.json: cannot read the result file/],
    ['another scenario', () => [closed[0]!, open[1]!], /open-2\.json: scenario "scale-open" differs from "scale-closed"/],
    ['another host', () => [closed[0]!, variant(closed[1]!, 'host.json', r => { r.meta.host = 'http://127.0.0.1:1' })], /host\.json: host http:\/\/127\.0\.0\.1:1 differs/],
    ['another load model', () => [closed[0]!, variant(closed[1]!, 'model.json', r => { r.meta.model.stages[0].users = 10 })], /model\.json: the load model .* differs/],
    ['the same segment twice', () => [closed[0]!, closed[1]!, closed[0]!], /closed-1\.json: segment 1\/3 .* overlaps segment 1\/3/],
    ['overlapping splits', () => [closed[0]!, variant(closed[1]!, 'half.json', r => { r.meta.segment = '1/2'; r.meta.share = { from: 0, to: 0.5 } })], /overlaps segment/],
    ['another result version', () => [closed[0]!, variant(closed[1]!, 'v2.json', r => { r.version = 2 })], /v2\.json: result version 2 is not supported/],
    ['another loadlens version', () => [closed[0]!, variant(closed[1]!, 'old.json', r => { r.meta.versions.loadlens = '0.0.1' })], /old\.json: written by loadlens 0\.0\.1/],
    ['a damaged timeline', () => [closed[0]!, variant(closed[1]!, 'damaged.json', r => { r.timeline[0].errors = { 7: 1 } })], /damaged\.json: timeline second \d+ counts error group 7, which is not in the result's errors/],
    ['no file at all', () => [], /missing required argument 'results'/]
  ]
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const r = await runCli(['merge', ...args(), '-o', join(sc.dir, 'refused.json')])
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(message)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
      expect(r.stderr).not.toMatch(/\n\s+at /)
      expect(existsSync(join(sc.dir, 'refused.json'))).toBe(false)
    })
  }

  it('merges an incomplete set, and says which part of the load is missing', async () => {
    const out = join(sc.dir, 'partial.json')
    const r = await runCli(['merge', closed[0]!, closed[2]!, '-o', out, '-q', '--no-html'])
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/warning: the merged result holds 66\.7% of the load \(segments 1\/3, 3\/3\)/)
    expect(read(out).totals.overall.requests).toBe(6 * PER_USER)
  })
})

describe('--probes-on: one segment watches the target', () => {
  it('chooses the segment', () => {
    expect(segmentRunsProbes(undefined, undefined)).toBe(true)
    expect(segmentRunsProbes({ label: '1/3' }, undefined)).toBe(true)
    expect(segmentRunsProbes({ label: '2/3' }, undefined)).toBe(false)
    expect(segmentRunsProbes({ label: '2/3' }, 2)).toBe(true)
    expect(segmentRunsProbes({ label: '1/3' }, 0)).toBe(false)
    expect(segmentRunsProbes(undefined, parseProbesOn('none'))).toBe(false)
    expect(() => segmentRunsProbes({ label: '1/3' }, 4)).toThrow(/--probes-on: expected a segment number from 1 to 3/)
    expect(() => parseProbesOn('0')).toThrow(/--probes-on/)
  })

  it('warns when --start-at has already passed', () => {
    expect(lateStartWarning(undefined)).toBeUndefined()
    expect(lateStartWarning(Date.now() + 5000)).toBeUndefined()
    expect(lateStartWarning(Date.parse('2026-01-01T00:00:00Z'), Date.parse('2026-01-01T00:00:12.5Z'))).toBe('--start-at 2026-01-01T00:00:00.000Z passed 12.5 s ago: this segment starts now, out of step with the others (choose a time after every segment can be running)')
  })

  it('refuses a segment that does not exist, before any load', async () => {
    const r = await runCli(['run', sc.closed, '--headless', '--profile', 'nine', '--host', server.url, '--segment', '1/3', '--probes-on', '4', '-q'])
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toMatch(/^loadlens: --probes-on: expected a segment number from 1 to 3 \(as in --segment i\/3\), got 4$/)
    const bad = await runCli(['run', sc.closed, '--headless', '--profile', 'nine', '--host', server.url, '--probes-on', 'first', '-q'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/--probes-on: expected the number of the segment/)
  })
})
