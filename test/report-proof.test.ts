/**
 * Each finding's proof in the HTML report, in real Chromium, on recorded runs of the demo
 * targets (the corpus): for a pool fault, the finding's chart is there, has points inside the
 * finding's window, shows the cause (the app's connections, in plain words), the effect (the
 * latency of the request names it slowed) and the users, and is drawn (screenshot); a healthy
 * run's report has no findings section, only the line that nothing was found.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readCase, readIndex } from '../bench/corpus.js'
import type { CorpusEntry } from '../bench/corpus.js'
import { diagnose } from '../correlate/diagnose.js'
import { evaluateChecklist } from '../reports/checklist.js'
import { renderHtml } from '../reports/html/report.js'
import type { RunResult } from '../shared/types.js'
import { ARTIFACTS, chartPixels, openBrowser } from './helpers/browser.js'
import type { Browser } from './helpers/browser.js'

const index = readIndex()
function recorded (id: string): RunResult {
  const entry = index.cases.find(c => c.id === id) as CorpusEntry | undefined
  if (!entry) throw new Error(`no recorded case ${id}`)
  const r = readCase(entry)
  r.diagnosis = diagnose(r)
  r.checklist = evaluateChecklist(r)
  return r
}

let browser: Browser
const dir = mkdtempSync(join(tmpdir(), 'loadlens-report-proof-'))
beforeAll(async () => { browser = await openBrowser() })
afterAll(async () => { await browser?.close() })

async function open (r: RunResult, name: string): Promise<void> {
  const file = join(dir, `${name}.html`)
  writeFileSync(file, renderHtml(r))
  await browser.page.goto(pathToFileURL(file).href)
  await browser.page.waitForFunction(() => (globalThis as any).document.querySelectorAll('canvas').length > 0)
}

describe('the report proves each finding', () => {
  for (const id of ['express-pool-20u', 'fastapi-pool-50u']) {
    it(`${id}: the pool finding's chart, with points in its window, the cause, the effect and the users`, async () => {
      const r = recorded(id)
      const f = r.diagnosis!.findings[0]!
      expect(f.id).toBe('pool-saturation')
      await open(r, id)
      const specs = JSON.parse(await browser.page.locator('#loadlens-charts').textContent() ?? '{}')
      const spec = specs['finding-0']
      expect(spec.bands).toEqual([f.evidence.window])
      const labels: string[] = spec.series.map((s: any) => s.label)
      expect(labels.some(l => /^app connections /.test(l) || /sessions/.test(l)), labels.join(' | ')).toBe(true)
      expect(labels).toContain('users')
      // the effect: the latency of a request name the finding names as slowed
      const slowed = (f.evidence.rows ?? []).map(x => `p95 ${x.key}`)
      expect(labels.some(l => slowed.includes(l) || l === 'p95 (all requests)'), labels.join(' | ')).toBe(true)
      // every series has points inside the window
      const inWindow = spec.x.map((t: number, i: number) => (t >= f.evidence.window.from && t <= f.evidence.window.to ? i : -1)).filter((i: number) => i >= 0)
      expect(inWindow.length).toBeGreaterThan(3)
      for (const s of spec.series) expect(inWindow.some((i: number) => s.values[i] !== null), s.label).toBe(true)
      // drawn: the canvas has pixels, the legend has the labels
      const drawn = (await chartPixels(browser.page)).find(c => c.id === 'finding-0')!
      expect(drawn.painted).toBeGreaterThan(1000)
      const legend = await browser.page.locator('[data-chart="finding-0"] .u-legend .u-label').allTextContents()
      expect(legend).toEqual(expect.arrayContaining(labels))
      expect(browser.errors).toEqual([])
      mkdirSync(ARTIFACTS, { recursive: true })
      await browser.page.locator('#findings').screenshot({ path: join(ARTIFACTS, `proof-${id}.png`) })
    }, 60_000)
  }

  it('a healthy run\'s report has no findings section', async () => {
    const r = recorded('express-healthy-20u')
    expect(r.diagnosis!.findings).toEqual([])
    await open(r, 'healthy')
    expect(await browser.page.locator('#findings').count()).toBe(0)
    expect(await browser.page.locator('#checklist').textContent()).toContain('No bottleneck found')
    expect(browser.errors).toEqual([])
  }, 60_000)
})
