/**
 * `loadlens compare` flags only what the data support: a request name with 20 requests a side
 * gets "not enough data" for its p95 however much it moved; the same distribution measured
 * twice is no regression; a real slowdown on 2,000 requests is one, with the intervals that
 * show it. Results of different scenarios or targets are refused (exit 2) unless --force.
 * The HTML overlays A and B on the same charts (drawn in real Chromium).
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compareResults, quantileInterval } from '../reports/comparison.js'
import { sparse } from '../reports/charts.js'
import { createHistogram, encodeHistogram, recordUs } from '../shared/hist.js'
import type { RunResult } from '../shared/types.js'
import { synthetic } from './helpers/synthetic.js'
import { runCli } from './helpers/cli.js'
import { chartPixels, openBrowser, screenshot } from './helpers/browser.js'
import type { Browser } from './helpers/browser.js'

const SECONDS = 40
function run (o: { seed: number; big: number; few: number; same: number; scenario?: string; host?: string }): RunResult {
  const r = synthetic({
    seconds: SECONDS,
    users: () => 10,
    rps: () => 0,
    p50: () => 0,
    seed: o.seed,
    rows: [
      { type: 'GET', name: '/big', rps: () => 50, p50: () => o.big },
      { type: 'GET', name: '/few', rps: i => (i % 2 === 0 ? 1 : 0), p50: () => o.few },
      { type: 'GET', name: '/same', rps: () => 10, p50: () => o.same }
    ],
    series: [{ probe: 'redis', metric: 'hit_rate', unit: 'ratio', value: () => 0.9 }]
  })
  r.meta.runId = `run-${o.seed}`
  if (o.scenario) r.meta.scenario = o.scenario
  if (o.host) r.meta.host = o.host
  return r
}

const base = run({ seed: 1, big: 20, few: 20, same: 20 })
const next = run({ seed: 2, big: 30, few: 40, same: 20 })

describe('compare: regressions the data support', () => {
  it('a p95 from 20 requests a side is "not enough data"; a real slowdown on 2,000 is a regression; the same distribution is none', () => {
    const c = compareResults(base, next)
    expect(c.mismatch).toEqual([])
    const row = (k: string) => c.rows.find(r => r.key === k)!
    expect(row('GET /few').p95).toMatchObject({ support: 'not-enough-data', regression: false, why: 'n = 20 and 20: a p95 needs 100 requests a side' })
    expect(row('GET /few').p99.support).toBe('not-enough-data')
    expect(row('GET /big').p95.support).toBe('significant')
    expect(row('GET /big').p95.regression).toBe(true)
    expect(row('GET /big').p95.why).toMatch(/^95 % intervals [\d.]+-[\d.]+ and [\d.]+-[\d.]+ ms do not overlap$/)
    expect(row('GET /same').p95.regression).toBe(false)
    expect(c.regressions.some(r => r.startsWith('GET /big p95'))).toBe(true)
    // its p50 doubled on 20 requests a side: that much a p50 does show; its p95 and p99 are not judged
    expect(row('GET /few').p50.support).toBe('significant')
    expect(c.regressions.some(r => /\/few p9/.test(r) || r.includes('/same'))).toBe(false)
  })

  it('a change beyond the tolerance whose intervals overlap is within noise', () => {
    // 150 requests a side, 1..150 ms; B's top 11 are 10 ms slower: its p95 is 7 % higher, but
    // with 150 requests the 95 % interval of a p95 spans ranks 137-148, and those overlap
    const withSame = (slowTop: boolean): RunResult => {
      const r = run({ seed: 5, big: 20, few: 20, same: 20 })
      const h = createHistogram()
      for (let i = 1; i <= 150; i++) recordUs(h, (i + (slowTop && i >= 140 ? 10 : 0)) * 1000)
      const e = r.totals.entries.find(x => x.key === 'GET /same')!
      e.hist = encodeHistogram(h)
      e.requests = 150
      return r
    }
    const m = compareResults(withSame(false), withSame(true), { tolerance: 0.05 }).rows.find(r => r.key === 'GET /same')!.p95
    expect(m.change!).toBeGreaterThan(0.05)
    expect(m.support).toBe('within-noise')
    expect(m.regression).toBe(false)
    expect(m.why).toMatch(/overlap$/)
    // the interval holds the estimate and is a few ranks wide
    const h = createHistogram()
    for (let i = 1; i <= 1000; i++) recordUs(h, i * 100)
    const q = quantileInterval(h, 0.95)
    expect(q.lo).toBeLessThanOrEqual(q.value)
    expect(q.hi).toBeGreaterThanOrEqual(q.value)
    expect(q.value).toBeCloseTo(95, 0)
    expect(q.hi - q.lo).toBeGreaterThan(1)
    expect(q.hi - q.lo).toBeLessThan(6)
  })
})

describe('charts: series sampled every few seconds', () => {
  it('are told from series with an outage by the median distance between their points', () => {
    expect(sparse([1, null, null, null, null, 2, null, null, null, null, 3, null, null, null, null, 4])).toBe(true)
    expect(sparse([1, 2, 3, null, null, null, null, null, null, 4, 5, 6, 7])).toBe(false)
    expect(sparse([null, 1, null, null])).toBe(false)
  })
})

describe('loadlens compare', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loadlens-compare-'))
  const file = (name: string, r: RunResult): string => { const p = join(dir, name); writeFileSync(p, JSON.stringify(r)); return p }
  let browser: Browser
  beforeAll(async () => { browser = await openBrowser() })
  afterAll(async () => { await browser?.close() })

  it('refuses results of different scenarios or targets (exit 2) unless --force', async () => {
    const a = file('a.json', base)
    const other = file('other.json', run({ seed: 3, big: 20, few: 20, same: 20, scenario: 'shop' }))
    const elsewhere = file('elsewhere.json', run({ seed: 4, big: 20, few: 20, same: 20, host: 'http://127.0.0.1:2' }))
    let r = await runCli(['compare', a, other])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/are runs of different scenarios \(synthetic and shop\): their figures do not compare \(give --force to compare them anyway\)/)
    r = await runCli(['compare', a, elsewhere])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/different targets \(http:\/\/127\.0\.0\.1:1 and http:\/\/127\.0\.0\.1:2\)/)
    r = await runCli(['compare', a, other, '--force'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/warning: different scenarios \(synthetic and shop\); compared anyway \(--force\)/)
  })

  it('prints "not enough data" and gates on supported regressions only; the HTML overlays A and B', async () => {
    const a = file('base.json', base)
    const b = file('next.json', next)
    const html = join(dir, 'cmp.html')
    const r = await runCli(['compare', a, b, '--fail-on-regression', '--html', html])
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/GET \/few .* not enough data/)
    expect(r.stdout).toMatch(/GET \/big p95: .* -> .*/)
    expect(r.stdout).toMatch(/had too few requests for some percentiles \("not enough data"\)/)
    await browser.page.goto(pathToFileURL(html).href)
    await browser.page.waitForSelector('[data-chart="ab-rps"] canvas')
    const charts = await chartPixels(browser.page)
    // throughput, overall p95, the three names' p95, the Redis hit rate
    expect(charts.map(c => c.id)).toEqual(expect.arrayContaining(['ab-rps', 'ab-p95', 'ab-name-0', 'ab-name-1', 'ab-name-2', 'ab-probe-1']))
    for (const c of charts) expect(c.painted, c.id).toBeGreaterThan(300)
    // GET /few has a request every other second: its points are joined across the empty seconds
    const specs = JSON.parse(await browser.page.locator('#loadlens-charts').textContent() ?? '{}')
    const few = Object.values(specs).find((c: any) => c.title === 'p95 of GET /few') as any
    expect(few.series.map((x: any) => x.spanGaps)).toEqual([true, true])
    expect(few.series[1].values.filter((v: number | null) => v !== null).length).toBe(20)
    const legend = await browser.page.locator('[data-chart="ab-p95"] .u-legend .u-label').allTextContents()
    expect(legend).toEqual(expect.arrayContaining(['A run-1', 'B run-2']))
    expect(browser.errors).toEqual([])
    await screenshot(browser.page, 'compare-overlay.png')
  }, 60_000)
})
