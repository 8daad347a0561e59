/**
 * Debian's chromium driven by playwright-core: a new empty profile per launch, no network
 * beyond what a test allows, screenshots into test-artifacts/.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import type { BrowserContext, Page } from 'playwright-core'
import { ROOT } from './cli.js'

export const ARTIFACTS = join(ROOT, 'test-artifacts')

export interface Browser {
  context: BrowserContext
  page: Page
  /** console errors and page errors seen so far */
  errors: string[]
  close (): Promise<void>
}

export async function openBrowser (viewport = { width: 1280, height: 900 }): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'loadlens-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
  const page = context.pages()[0] ?? await context.newPage()
  const errors: string[] = []
  page.on('console', m => { if (m.type() === 'error') errors.push(m.text()) })
  page.on('pageerror', e => errors.push(e.message))
  return {
    context,
    page,
    errors,
    close: async () => {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    }
  }
}

export async function screenshot (page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true })
  const path = join(ARTIFACTS, name)
  await page.screenshot({ path, fullPage: true })
  return path
}

/** For every chart element: whether uPlot drew a canvas with visible pixels. */
export async function chartPixels (page: Page): Promise<Array<{ id: string; canvas: boolean; painted: number }>> {
  return page.$$eval('[data-chart]', els => els.map(el => {
    const c = el.querySelector('canvas')
    let painted = 0
    if (c && c.width > 0 && c.height > 0) {
      const ctx = c.getContext('2d')!
      const d = ctx.getImageData(0, 0, c.width, c.height).data
      for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) painted++
    }
    return { id: el.getAttribute('data-chart') ?? '', canvas: Boolean(c), painted }
  }))
}
