/**
 * The live web UI in real headless Chromium: start a short run against a loopback server from
 * the page, watch the request count rise, change the users, stop it, download its outputs;
 * then review: the results list with verdicts, a stored report, re-diagnosis, side by side.
 * And who may use it: loopback Host only, a token when bound elsewhere, JSON same-origin POSTs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createWebApp } from '../web/server.js'
import type { WebServer } from '../web/server.js'
import { RunMetrics } from '../web/metrics.js'
import type { RunController } from '../web/controller.js'
import { chartPixels, screenshot } from './helpers/browser.js'
import type { Browser } from './helpers/browser.js'
import { startCli } from './helpers/cli.js'
import { freePort } from './helpers/ports.js'
import { sleep } from './helpers/server.js'
import { answerAfter, itemsScenario, startUiSession } from './helpers/ui.js'
import type { UiSession } from './helpers/ui.js'
import type { TestServer } from './helpers/server.js'

// functions passed to the page run in Chromium: the DOM names they use (the project's lib has no DOM)
declare const document: any, window: any, requestAnimationFrame: (f: (t: number) => void) => number

let target: TestServer
let web: WebServer
let controller: RunController
let browser: Browser
const outDir = mkdtempSync(join(tmpdir(), 'loadlens-ui-'))

const scenario = itemsScenario('ui-test', { quick: { users: 3, spawnRate: 30, runTime: '2s', expect: { failureRatio: 0.01 } } })

let session: UiSession
beforeAll(async () => {
  session = await startUiSession(scenario, answerAfter(2), { outDir })
  ;({ target, web, controller, browser } = session)
})
afterAll(async () => { await session?.close() })

const num = (s: string | null): number => Number((s ?? '').replace(/[^\d.]/g, ''))

async function waitState (state: string, timeoutMs = 20_000): Promise<void> {
  await browser.page.waitForFunction((s) => document.getElementById('state')?.textContent === s, state, { timeout: timeoutMs })
}

describe('the live UI', () => {
  it('starts a run from the page, shows rising request counts, changes users, stops it', async () => {
    const page = browser.page
    await page.goto(web.url)
    expect(await page.locator('h1').textContent()).toBe('ui-test')
    await page.fill('#start input[name=users]', '4')
    await page.fill('#start input[name=spawnRate]', '50')
    await page.fill('#start input[name=runTime]', '30s')
    await page.selectOption('#start select[name=profile]', '')
    await page.click('#start-btn')
    await waitState('running')
    await page.waitForFunction(() => Number((document.getElementById('k-reqs')?.textContent ?? '').replace(/\D/g, '')) > 0, null, { timeout: 10_000 })
    const first = num(await page.locator('#k-reqs').textContent())
    await sleep(2200)
    const second = num(await page.locator('#k-reqs').textContent())
    expect(second).toBeGreaterThan(first)
    // the table has both rows, the charts have drawn
    await page.waitForFunction(() => document.querySelectorAll('#stats tbody tr').length === 2)
    expect(await page.locator('#stats tbody td.name').allTextContents()).toEqual(['/items', '/items/[id]'])
    const charts = await page.$$eval('#c-users canvas, #c-lat canvas', cs => cs.length)
    expect(charts).toBe(2)
    // the steering form shows the users running now
    await page.waitForFunction(() => document.querySelector('#steer input[name=users]')?.value === '4', null, { timeout: 5000 })
    // more users while it runs
    await page.fill('#steer input[name=users]', '8')
    await page.fill('#steer input[name=spawnRate]', '100')
    await page.click('#users-btn')
    await page.waitForFunction(() => document.getElementById('k-users')?.textContent === '8', null, { timeout: 10_000 })
    await screenshot(page, 'ui-live-running.png')
    await page.click('#stop-btn')
    await waitState('done')
    await page.waitForSelector('#done:not([hidden])')
    expect(await page.locator('#verdict').textContent()).toMatch(/PASS|FAIL|NO CRITERIA/)
    expect(browser.errors).toEqual([])
    await screenshot(page, 'ui-live-done.png')
    // the run's outputs can be downloaded
    const csv = await page.evaluate(() => fetch('/runs/current/csv-stats').then(r => r.text()))
    expect(csv.split('\r\n')[0]).toMatch(/^Type,Name,Request Count,Failure Count,/)
    const report = await page.evaluate(() => fetch('/runs/current/html').then(r => r.text()))
    expect(report).toContain('ui-test')
    const live = controller.current!
    expect(live.result!.meta.stopReason).toBe('stopped')
    expect(live.result!.totals.overall.requests).toBeGreaterThan(second)
    // saved in the output folder, with its HTML report
    expect(readdirSync(outDir).filter(f => f.endsWith('.json'))).toHaveLength(1)
    expect(readdirSync(outDir).filter(f => f.endsWith('.html'))).toHaveLength(1)
  })

  it('refuses bad settings with one clear message and runs a profile', async () => {
    const page = browser.page
    await page.goto(web.url)
    await page.fill('#start input[name=users]', '')
    await page.fill('#start input[name=spawnRate]', '0')
    await page.click('#start-btn')
    await page.waitForSelector('#msg:not([hidden])')
    expect(await page.locator('#msg').textContent()).toBe('spawn rate: expected users per second > 0, got 0')
    // the refused start was a 400, which the browser logs
    expect(browser.errors).toEqual([expect.stringContaining('400')])
    browser.errors.length = 0
    await page.fill('#start input[name=spawnRate]', '')
    await page.fill('#start input[name=runTime]', '')
    await page.selectOption('#start select[name=profile]', 'quick')
    const before = controller.current
    await page.click('#start-btn')
    for (let i = 0; i < 200 && (controller.current === before || controller.current!.state !== 'done'); i++) await sleep(100)
    expect(controller.current).not.toBe(before)
    expect(controller.current!.result!.meta.profile).toBe('quick')
    await page.waitForFunction(() => document.getElementById('state')?.textContent === 'done' && !document.getElementById('done')!.hidden, null, { timeout: 10_000 })
    expect(readdirSync(outDir).filter(f => f.endsWith('.json'))).toHaveLength(2)
  })
})

describe('reviewing results', () => {
  it('lists results with verdicts, opens a report, re-diagnoses it, compares two', async () => {
    const page = browser.page
    await page.goto(new URL('/results', web.url).href)
    const rows = page.locator('#results tbody tr')
    expect(await rows.count()).toBe(2)
    expect(await page.locator('#results .badge').allTextContents()).toEqual(expect.arrayContaining([expect.stringMatching(/PASS|FAIL|NO CRITERIA/)]))
    await page.click('#results tbody tr:first-child td.name a')
    await page.waitForSelector('#verdict')
    const charts = await chartPixels(page)
    expect(charts.length).toBeGreaterThanOrEqual(3)
    for (const c of charts) expect(c.painted, c.id).toBeGreaterThan(500)
    await page.click('text=Re-diagnose')
    await page.waitForSelector('.msg')
    expect(await page.locator('.msg').first().textContent()).toMatch(/Diagnosis re-computed|could not re-compute/)
    await page.goto(new URL('/results', web.url).href)
    await page.click('#compare-form button[type=submit]')
    await page.waitForSelector('#compare')
    const names = await page.locator('#compare tbody td.name').allTextContents()
    expect(names).toEqual(['/items', '/items/[id]', 'Aggregated'])
    expect(await page.locator('#compare tbody tr.total td').nth(5).textContent()).toMatch(/\d+(\.\d+)? \/ \d+(\.\d+)?/)
    expect(browser.errors).toEqual([])
    await screenshot(page, 'ui-compare.png')
  })

  it('a stored result written by an older loadlens, secrets and all, is shown and downloaded redacted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loadlens-ui-old-'))
    const file = readdirSync(outDir).find(f => f.endsWith('.json'))!
    const old = JSON.parse(readFileSync(join(outDir, file), 'utf8'))
    const secret = 'older-secret-7331'
    old.meta.host = `http://tester:${secret}@127.0.0.1:1`
    old.meta.options = { ...old.meta.options, pg: `postgres://app:${secret}@db/x`, note: `password=${secret}` }
    writeFileSync(join(dir, 'old.json'), JSON.stringify(old))
    const app = createWebApp({ resultsDir: dir }, '127.0.0.1', undefined, new RunMetrics(() => undefined))
    const server = app.listen(0, '127.0.0.1')
    await new Promise(resolve => server.once('listening', resolve))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      for (const path of ['/api/results', '/results', '/results/old.json', '/results/old.json/json', '/results/old.json/md', '/results/old.json/junit', '/compare?a=old.json&b=old.json']) {
        const res = await fetch(base + path)
        expect(res.status, path).toBe(200)
        expect(await res.text(), path).not.toContain(secret)
      }
    } finally {
      server.close()
    }
  })

  it('`loadlens serve DIR` serves the same folder on its own and stops on Ctrl-C', async () => {
    const port = await freePort()
    const { child, done } = startCli(['serve', outDir, '--web-port', String(port)])
    const base = `http://127.0.0.1:${port}`
    let list: Array<{ file: string; verdict: { label: string } }> = []
    for (let i = 0; i < 100 && !list.length; i++) {
      try { list = await (await fetch(`${base}/api/results`)).json() as typeof list } catch { await sleep(100) }
    }
    expect(list).toHaveLength(2)
    const page = await fetch(`${base}/results/${encodeURIComponent(list[0]!.file)}`)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('ui-test')
    expect((await fetch(`${base}/results/..%2Fetc%2Fpasswd`)).status).toBe(404)
    const start = await fetch(`${base}/api/start`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    expect(start.status).toBe(404)
    child.kill('SIGINT')
    const r = await done
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`loadlens results of ${outDir}: ${base}`)
  })
})

/** A raw request with any Host header (fetch does not allow setting it). */
function raw (port: number, path: string, headers: Record<string, string>, method = 'GET', body?: string): Promise<{ status: number; text: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      let text = ''
      res.on('data', (c: Buffer) => { text += c.toString() })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

describe('who may use it', () => {
  it('bound to loopback: a foreign Host header (DNS rebinding) is refused; POSTs must be same-origin JSON', async () => {
    const port = Number(new URL(web.url).port)
    expect((await raw(port, '/', { host: `127.0.0.1:${port}` })).status).toBe(200)
    expect((await raw(port, '/', { host: `localhost:${port}` })).status).toBe(200)
    expect((await raw(port, '/api/results', { host: 'evil.example' })).status).toBe(403)
    const form = await raw(port, '/api/start', { host: `127.0.0.1:${port}`, 'content-type': 'application/x-www-form-urlencoded' }, 'POST', 'users=1')
    expect(form.status).toBe(415)
    const cross = await raw(port, '/api/start', { host: `127.0.0.1:${port}`, origin: 'http://evil.example', 'content-type': 'application/json' }, 'POST', '{}')
    expect(cross.status).toBe(403)
    expect(controller.current!.state).toBe('done')
  })

  it('bound elsewhere: every request needs the token (/metrics excepted)', async () => {
    // the app as it is when bound to another address; listened on loopback for the test
    const app = createWebApp({ resultsDir: outDir }, '192.0.2.10', 'secret-token', new RunMetrics(() => undefined))
    const server = app.listen(0, '127.0.0.1')
    await new Promise(resolve => server.once('listening', resolve))
    const port = (server.address() as AddressInfo).port
    try {
      const host = { host: `192.0.2.10:${port}` }
      expect((await raw(port, '/results', host)).status).toBe(401)
      expect((await raw(port, '/results', { ...host, 'x-loadlens-token': 'wrong' })).status).toBe(401)
      const ok = await raw(port, '/results?token=secret-token', host)
      expect(ok.status).toBe(200)
      const cookie = String((ok.headers['set-cookie'] as string[])[0]).split(';')[0]!
      expect((await raw(port, '/api/results', { ...host, cookie })).status).toBe(200)
      expect((await raw(port, '/api/results', { ...host, 'x-loadlens-token': 'secret-token' })).status).toBe(200)
      expect((await raw(port, '/api/start', { ...host, 'content-type': 'application/json' }, 'POST', '{}')).status).toBe(401)
      expect((await raw(port, '/metrics', host)).status).toBe(200)
    } finally {
      server.close()
    }
  })
})
