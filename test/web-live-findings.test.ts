/**
 * The live web UI shows findings as the diagnosis sees them, each with its evidence and the
 * same proof chart as the report, in real Chromium, during a run against a loopback server
 * whose /items/[id] fails with HTTP 500: the finding card appears with a drawn chart while the
 * run goes on, and the probe charts behind a finding come first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { WebServer } from '../web/server.js'
import { screenshot } from './helpers/browser.js'
import type { Browser } from './helpers/browser.js'
import { itemsScenario, startUiSession } from './helpers/ui.js'
import type { UiSession } from './helpers/ui.js'

declare const document: any

let web: WebServer
let browser: Browser
const scenario = itemsScenario('ui-findings')

let session: UiSession
beforeAll(async () => {
  session = await startUiSession(scenario, (req, res) => {
    if ((req.url ?? '').startsWith('/items/')) { res.statusCode = 500; res.end('boom'); return }
    setTimeout(() => res.end('{"ok":true}'), 2)
  }, { outDir: mkdtempSync(join(tmpdir(), 'loadlens-ui-findings-')), probes: { host: true } })
  ;({ web, browser } = session)
})
afterAll(async () => { await session?.close() })

describe('live UI findings', () => {
  it('a finding card with its evidence and its proof chart appears during the run', async () => {
    const page = browser.page
    await page.goto(web.url)
    await page.fill('#start input[name=users]', '4')
    await page.fill('#start input[name=spawnRate]', '50')
    await page.fill('#start input[name=runTime]', '25s')
    await page.click('#start-btn')
    await page.waitForFunction(() => document.getElementById('state')?.textContent === 'running', null, { timeout: 10_000 })
    // the diagnosis of the run so far, every 5 s: the card comes while the run goes on
    await page.waitForSelector('#findings .card.finding .chart canvas', { timeout: 20_000 })
    expect(await page.locator('#state').textContent()).toBe('running')
    const card = page.locator('#findings .card.finding').first()
    expect(await card.locator('h3 span').nth(1).textContent()).toMatch(/HTTP 500/)
    expect(await card.locator('ul.evidence li').count()).toBeGreaterThan(0)
    expect(await card.locator('ul.evidence').textContent()).toMatch(/\/items\/\[id\]/)
    // the chart has drawn pixels and the window band
    const painted = await card.locator('.chart canvas').evaluate((c: any) => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data
      let n = 0
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++
      return n
    })
    expect(painted).toBeGreaterThan(1000)
    expect(browser.errors).toEqual([])
    await screenshot(page, 'ui-live-finding.png')
    await page.click('#stop-btn')
    await page.waitForFunction(() => document.getElementById('state')?.textContent === 'done', null, { timeout: 30_000 })
  }, 90_000)
})
