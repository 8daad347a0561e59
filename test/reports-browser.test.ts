/**
 * The HTML report in real headless Chromium (Debian's chromium via playwright-core): it opens
 * offline (every request that is not the file itself is refused), every chart has drawn
 * pixels on its canvas, no console error; screenshots go to test-artifacts/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { renderHtml } from '../reports/html/report.js'
import type { RunResult } from '../shared/types.js'
import { chartPixels, openBrowser, screenshot } from './helpers/browser.js'
import type { Browser } from './helpers/browser.js'
import { emptyRun, onlyFailures, realRun, richRun } from './helpers/results.js'

// functions passed to the page run in Chromium: the DOM names they use (the project's lib has no DOM)
declare const document: any, window: any, requestAnimationFrame: (f: (t: number) => void) => number
type HTMLCanvasElement = any

let browser: Browser
const dir = mkdtempSync(join(tmpdir(), 'loadlens-report-browser-'))
const refused: string[] = []

beforeAll(async () => {
  browser = await openBrowser()
  await browser.context.route('**/*', (route) => {
    const url = route.request().url()
    if (url.startsWith('file:')) return route.continue()
    refused.push(url)
    return route.abort()
  })
})
afterAll(async () => { await browser?.close() })

async function open (result: RunResult, name: string): Promise<void> {
  const file = join(dir, `${name}.html`)
  writeFileSync(file, renderHtml(result))
  browser.errors.length = 0
  await browser.page.goto(pathToFileURL(file).href)
  await browser.page.waitForFunction(() => document.readyState === 'complete')
  // charts draw synchronously after load; give layout one frame
  await browser.page.evaluate(() => new Promise(r => requestAnimationFrame(() => r(null))))
}

describe('the report in Chromium, offline', () => {
  it('a real run: every chart drawn, no console error, nothing fetched', async () => {
    await open(await realRun(), 'real')
    const charts = await chartPixels(browser.page)
    expect(charts.map(c => c.id)).toEqual(expect.arrayContaining(['load-users-rps', 'load-failures', 'load-percentiles']))
    for (const c of charts) {
      expect(c.canvas, c.id).toBe(true)
      expect(c.painted, c.id).toBeGreaterThan(500)
    }
    expect(browser.errors).toEqual([])
    expect(refused).toEqual([])
    // the hostile name is text, not markup
    expect(await browser.page.evaluate(() => (window as unknown as { alerted?: boolean }).alerted)).toBeUndefined()
    expect(await browser.page.locator('td.name', { hasText: '<script>alert("x")</script>' }).count()).toBeGreaterThan(0)
    await screenshot(browser.page, 'report-real-run.png')
  })

  it('probes, findings with their evidence chart and the checklist: all drawn', async () => {
    await open(richRun(), 'rich')
    const charts = await chartPixels(browser.page)
    expect(charts.length).toBeGreaterThanOrEqual(12)
    for (const c of charts) {
      expect(c.canvas, c.id).toBe(true)
      expect(c.painted, c.id).toBeGreaterThan(500)
    }
    // the finding's chart shows four lines plus the legend entries of its series
    const legend = await browser.page.locator('[data-chart="finding-0"] .u-legend .u-label').allTextContents()
    expect(legend).toEqual(expect.arrayContaining(['p95 (all requests)', 'app connections busy (active)', 'cache hit rate %', 'users']))
    // the shaded window: pixels of the band colour inside the plot area
    const shaded = await browser.page.$eval('[data-chart="finding-0"] canvas', (c) => {
      const canvas = c as HTMLCanvasElement
      const d = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data
      let n = 0
      for (let i = 0; i < d.length; i += 4) if (d[i]! > 200 && d[i + 1]! < 235 && d[i + 1]! > 180 && d[i + 3]! > 0) n++
      return n
    })
    expect(shaded).toBeGreaterThan(1000)
    expect(await browser.page.locator('#verdict .badge.big').textContent()).toBe('FAIL')
    expect(browser.errors).toEqual([])
    await screenshot(browser.page, 'report-findings-probes.png')
  })

  it('edge cases open cleanly: an empty run, a run with only failures', async () => {
    await open(emptyRun(), 'empty')
    expect(await chartPixels(browser.page)).toEqual([])
    expect(await browser.page.locator('#requests').textContent()).toContain('No request was made.')
    expect(browser.errors).toEqual([])
    await open(onlyFailures(), 'failures')
    const charts = await chartPixels(browser.page)
    for (const c of charts) expect(c.painted, c.id).toBeGreaterThan(500)
    expect(browser.errors).toEqual([])
    await screenshot(browser.page, 'report-only-failures.png')
    expect(refused).toEqual([])
  })

  it('fits a phone screen: long names wrap instead of widening the page', async () => {
    await browser.page.setViewportSize({ width: 420, height: 900 })
    await open(richRun(), 'rich-narrow')
    const overflow = await browser.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    expect(overflow).toBeLessThanOrEqual(2)
    await screenshot(browser.page, 'report-narrow.png')
    await browser.page.setViewportSize({ width: 1280, height: 900 })
  })
})
