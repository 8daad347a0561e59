/**
 * `loadlens locust`: an unmodified locustfile run by the real (Debian) Locust, against a real
 * HTTP server on loopback. Every request reaches loadlens with Locust's own timing: the request
 * names and counts are those of Locust's own CSV, the percentiles agree with Locust's within
 * its rounding (whole milliseconds under 100 ms), failures carry Locust's exception text,
 * exceptions in tasks are grouped by class and task, --expect gates the run. Ctrl-C stops
 * Locust cleanly and still writes everything; a locustfile that fails to import, a missing
 * Locust, refused flags and a Locust that dies during the run each end with one clear line.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli, startCli } from './helpers/cli.js'
import { startServer, sleep } from './helpers/server.js'
import { freePort } from './helpers/ports.js'
import type { TestServer } from './helpers/server.js'
import { failureOf } from '../loadgen/locust.js'
import { findSaturation } from '../loadgen/health.js'
import { readLocustConfig } from '../app/locust.js'
import { tableStats } from '../reports/stats.js'
import { decodeHistogram } from '../shared/hist.js'

const hasLocust = spawnSync('/usr/bin/python3', ['-c', 'import locust']).status === 0

let server: TestServer
let dir: string

/** a little API with known behaviour: cheap, slow (20-60 ms), failing and checked endpoints */
beforeAll(async () => {
  server = await startServer(async (req, res) => {
    const path = (req.url ?? '').split('?')[0]
    if (path === '/slow') await sleep(20 + Math.random() * 40)
    if (path === '/fail') { res.statusCode = 500; res.end('boom'); return }
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ ok: path !== '/check', path }))
  }, { record: false })
  dir = mkdtempSync(join(tmpdir(), 'loadlens-locust-'))
  writeFileSync(join(dir, 'locustfile.py'), `
import random
from locust import HttpUser, task, constant

class ApiUser(HttpUser):
    wait_time = constant(0.02)

    @task(6)
    def fast(self):
        self.client.get("/fast")

    @task(3)
    def slow(self):
        self.client.get(f"/slow?id={random.randint(1, 10**6)}", name="/slow")

    @task(1)
    def fail(self):
        self.client.get("/fail")

    @task(1)
    def checked(self):
        with self.client.get("/check", catch_response=True) as r:
            if not r.json()["ok"]:
                r.failure("not ok")

    @task(1)
    def broken(self):
        raise ValueError("no such thing")
`)
})

afterAll(async () => { await server?.close() })

/** Locust's CSV: rows by "Type Name" */
function readCsv (file: string): Map<string, Record<string, string>> {
  const lines = readFileSync(file, 'utf8').trim().split('\n')
  const split = (l: string): string[] => {
    const out: string[] = []
    let cur = ''
    let q = false
    for (const ch of l) {
      if (ch === '"') q = !q
      else if (ch === ',' && !q) { out.push(cur); cur = '' } else cur += ch
    }
    out.push(cur)
    return out
  }
  const head = split(lines[0]!)
  const rows = new Map<string, Record<string, string>>()
  for (const l of lines.slice(1)) {
    const cells = split(l)
    const row = Object.fromEntries(head.map((h, i) => [h, cells[i] ?? '']))
    rows.set(`${row.Type} ${row.Name}`.trim(), row)
  }
  return rows
}

function resultIn (out: string): any {
  const f = readdirSync(out).find(n => n.endsWith('.json'))
  return JSON.parse(readFileSync(join(out, f!), 'utf8'))
}

/** processes whose command line names this locustfile */
function locustProcesses (file: string): string[] {
  const r = spawnSync('pgrep', ['-f', file], { encoding: 'utf8' })
  return r.stdout.trim().split('\n').filter(Boolean)
}

describe('loadlens locust', () => {
  it.skipIf(!hasLocust)('records every request with Locust\'s timing: names, counts and percentiles as in Locust\'s CSV; failures, exceptions, users; --expect gates', async () => {
    const out = join(dir, 'out1')
    const r = await runCli(['locust', join(dir, 'locustfile.py'), '-u', '8', '-r', '8', '-t', '6s', '--host', server.url, '--headless', '--no-host-probe',
      '--out-dir', out, '--expect', 'p99=1,failures=50%', '--junit', join(out, 'j.xml'), '--md', join(out, 's.md'), '--csv', join(out, 'll')], { timeoutMs: 90_000 })
    expect(r.stderr).toMatch(/locustfile\.py with Locust/)
    // p99 under 1 ms fails the gate
    expect(r.code, r.stderr).toBe(1)
    expect(r.stdout).toMatch(/Locust exited with code 1 \(Locust exits 1 when any request failed\); its log: .*\.locust\.log; its CSV: .*_stats\.csv/)
    const result = resultIn(out)
    expect(result.meta.tool).toMatchObject({ name: 'locust', exitCode: 1 })
    expect(result.meta.expectations).toEqual({ p99: 1, failureRatio: 0.5 })
    expect(existsSync(result.meta.tool.log)).toBe(true)
    expect(readFileSync(result.meta.tool.log, 'utf8')).toMatch(/Starting Locust/)
    const csv = readCsv(`${result.meta.tool.csv}_stats.csv`)
    const ours = new Map<string, any>(result.totals.entries.map((e: any) => [`${e.type} ${e.name}`, e]))
    // the same rows, the same counts, request for request
    const theirs = [...csv.keys()].filter(k => k !== 'Aggregated').sort()
    expect([...ours.keys()].sort()).toEqual(theirs)
    expect(theirs).toEqual(['GET /check', 'GET /fail', 'GET /fast', 'GET /slow'])
    for (const [key, row] of csv) {
      const e = key === 'Aggregated' ? result.totals.overall : ours.get(key)
      expect(e.requests, key).toBe(Number(row['Request Count']))
      expect(e.failures, key).toBe(Number(row['Failure Count']))
    }
    expect(result.totals.overall.requests).toBeGreaterThan(300)
    // percentiles, within Locust's rounding: Locust keeps response times rounded (whole ms
    // under 100 ms, tens of ms under 1 s, ...) and takes a percentile p as the sample at rank
    // floor(n p) + 1; loadlens keeps Locust's own microseconds in HDR histograms. The same
    // rank, read from loadlens's histogram and rounded as Locust rounds, is Locust's figure
    // (to one rounding step, where the HDR bucket straddles a rounding boundary)
    const stats = tableStats(result)
    const pct = new Map<string, any>([...stats.rows.map(x => [`${x.type} ${x.name}`, x] as const), ['Aggregated', stats.overall]])
    const hists = new Map<string, { hist: string; requests: number }>([...result.totals.entries.map((e: any) => [`${e.type} ${e.name}`, e] as const), ['Aggregated', result.totals.overall]])
    const step = (ms: number): number => ms < 100 ? 1 : ms < 1000 ? 10 : ms < 10_000 ? 100 : 1000
    for (const key of ['GET /fast', 'GET /slow', 'Aggregated']) {
      const row = csv.get(key)!
      const { hist, requests } = hists.get(key)!
      const h = decodeHistogram(hist)
      for (const [p, col] of [[0.5, '50%'], [0.95, '95%'], [0.99, '99%']] as const) {
        const locust = Number(row[col])
        const rank = Math.min(requests, Math.floor(requests * p) + 1)
        const ours = h.getValueAtPercentile((100 * rank) / requests) / 1000
        const rounded = Math.round(ours / step(ours)) * step(ours)
        expect(Math.abs(rounded - locust), `${key} ${col}: loadlens ${ours} ms (${rounded} rounded as Locust does), Locust ${locust} ms`).toBeLessThanOrEqual(step(locust))
      }
      h.destroy()
    }
    // the slow endpoint is slow and the fast one fast, in loadlens's own figures
    expect(pct.get('GET /slow').p50).toBeGreaterThan(20)
    expect(pct.get('GET /fast').p50).toBeLessThan(15)
    // failures carry Locust's exception text and kind
    const fail = result.errors.find((g: any) => g.name === '/fail')
    expect(fail).toMatchObject({ kind: 'http', status: 500 })
    expect(fail.message).toMatch(/^HTTPError: 500 Server Error/)
    expect(fail.count).toBe(Number(csv.get('GET /fail')!['Failure Count']))
    const check = result.errors.find((g: any) => g.name === '/check')
    expect(check).toMatchObject({ kind: 'check', status: 200, message: 'CatchResponseError: not ok' })
    // the task that raised: grouped by user class and task, Locust's text
    const ex = result.exceptions.find((x: any) => x.task === 'broken')
    expect(ex).toMatchObject({ userClass: 'ApiUser', message: 'ValueError: no such thing' })
    expect(ex.count).toBeGreaterThan(5)
    // users from Locust's runner, per second
    expect(result.meta.peakUsers).toBe(8)
    expect(Math.max(...result.timeline.map((s: any) => s.users))).toBe(8)
    // the timeline's seconds add up to the totals
    expect(result.timeline.reduce((a: number, s: any) => a + s.overall.requests, 0)).toBe(result.totals.overall.requests)
    // the gate names the failed expectation, in the terminal and in every report
    expect(r.stdout).toMatch(/FAIL\s+2\. p95 and p99 within their targets/)
    expect(readFileSync(join(out, 'j.xml'), 'utf8')).toMatch(/<failure/)
    expect(readFileSync(join(out, 's.md'), 'utf8')).toMatch(/p95 and p99/)
    expect(readCsv(join(out, 'll_stats.csv')).get('GET /slow')!['Request Count']).toBe(csv.get('GET /slow')!['Request Count'])
    expect(readdirSync(out).some(f => f.endsWith('.html'))).toBe(true)
  }, 120_000)

  it.skipIf(!hasLocust)('the live web UI follows a locustfile run', async () => {
    const out = join(dir, 'out5')
    const port = await freePort()
    const { done } = startCli(['locust', join(dir, 'locustfile.py'), '-u', '3', '-r', '3', '-t', '5s', '--host', server.url, '--web-port', String(port), '--no-host-probe', '--out-dir', out, '-q'])
    let live: any
    const t0 = Date.now()
    while (Date.now() - t0 < 20_000) {
      live = await fetch(`http://127.0.0.1:${port}/api/live`).then(r => r.json()).catch(() => undefined)
      // wait for both rows and every user, not just for any 3 rows (/check and /fail may come first)
      const names = (live?.rows ?? []).map((r: any) => r.name)
      if (live?.state === 'running' && names.includes('/fast') && names.includes('/slow') && live.stats?.users === 3) break
      await sleep(300)
    }
    expect(live?.state).toBe('running')
    expect(live.info.profile).toBe('locust')
    expect(live.rows.map((r: any) => r.name)).toEqual(expect.arrayContaining(['/fast', '/slow']))
    expect(live.stats.users).toBe(3)
    const r = await done
    expect(r.code, r.stderr).toBe(1)
  }, 60_000)

  it.skipIf(!hasLocust)('--max-requests stops Locust cleanly once reached', async () => {
    const out = join(dir, 'out3')
    const t0 = Date.now()
    const r = await runCli(['locust', join(dir, 'locustfile.py'), '-u', '4', '-r', '4', '-t', '60s', '--host', server.url, '--headless', '--no-host-probe', '--out-dir', out, '-q', '--max-requests', '150'], { timeoutMs: 90_000 })
    expect(r.code, r.stderr).not.toBeNull()
    const result = resultIn(out)
    expect(result.meta.stopReason).toBe('max-requests')
    expect(result.totals.overall.requests).toBeGreaterThanOrEqual(150)
    // the requests in flight when the budget was reached finish; no more are started
    expect(result.totals.overall.requests).toBeLessThan(250)
    expect(Date.now() - t0).toBeLessThan(40_000)
  }, 120_000)

  it.skipIf(!hasLocust)('Ctrl-C stops Locust cleanly and still writes everything; no Locust process is left', async () => {
    const out = join(dir, 'out2')
    const { child, done } = startCli(['locust', join(dir, 'locustfile.py'), '-u', '4', '-r', '4', '-t', '60s', '--host', server.url, '--headless', '--no-host-probe', '--out-dir', out, '-q'])
    // the journal appears once the run has started
    const t0 = Date.now()
    while (Date.now() - t0 < 30_000 && !(existsSync(out) && readdirSync(out).some(f => f.endsWith('.journal') || f.endsWith('.jsonl')))) await sleep(200)
    await sleep(2500)
    child.kill('SIGINT')
    const r = await done
    expect(r.code, r.stderr).toBe(130)
    const result = resultIn(out)
    expect(result.meta.stopReason).toBe('interrupted')
    expect(result.totals.overall.requests).toBeGreaterThan(20)
    // Locust ran its own shutdown: its CSV holds the final figures, its log says it shut down
    expect(readFileSync(result.meta.tool.log, 'utf8')).toMatch(/Shutting down/)
    const csv = readCsv(`${result.meta.tool.csv}_stats.csv`)
    expect(Number(csv.get('Aggregated')!['Request Count'])).toBe(result.totals.overall.requests)
    await sleep(300)
    expect(locustProcesses(join(dir, 'locustfile.py'))).toEqual([])
  }, 120_000)

  it.skipIf(!hasLocust)('kill -9 of loadlens: Locust stops itself, the journal keeps what was measured', async () => {
    const out = join(dir, 'out4')
    const file = join(dir, 'locustfile.py')
    const { child, done } = startCli(['locust', file, '-u', '3', '-r', '3', '-t', '60s', '--host', server.url, '--headless', '--no-host-probe', '--out-dir', out, '-q'])
    const t0 = Date.now()
    while (Date.now() - t0 < 30_000 && !(existsSync(out) && readdirSync(out).some(f => f.endsWith('.journal.jsonl')))) await sleep(200)
    await sleep(2500)
    expect(locustProcesses(file).length).toBeGreaterThan(0)
    child.kill('SIGKILL')
    await done
    // the runner sees its connection to loadlens close and stops the load
    const t1 = Date.now()
    while (Date.now() - t1 < 10_000 && locustProcesses(file).length) await sleep(200)
    expect(locustProcesses(file)).toEqual([])
    const journal = readdirSync(out).find(f => f.endsWith('.journal.jsonl'))!
    const r = await runCli(['recover', join(out, journal), '--json', join(out, 'recovered.json'), '--no-html', '-q'])
    expect(r.code, r.stderr).not.toBe(2)
    const recovered = JSON.parse(readFileSync(join(out, 'recovered.json'), 'utf8'))
    expect(recovered.totals.overall.requests).toBeGreaterThan(10)
  }, 120_000)

  it.skipIf(!hasLocust)('a locustfile that fails to import, a missing Locust, refused flags, a bad loadlens.json and a Locust that dies each end with one clear line', async () => {
    const bad = join(dir, 'bad')
    spawnSync('mkdir', ['-p', bad])
    writeFileSync(join(bad, 'syntax.py'), 'from locust import HttpUser\n\nclass U(HttpUser)\n    pass\n')
    let r = await runCli(['locust', join(bad, 'syntax.py'), '--host', server.url, '--headless'])
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/loadlens: the locustfile failed to import: .*syntax\.py:3: SyntaxError/)

    writeFileSync(join(bad, 'raises.py'), 'from locust import HttpUser\nimport no_such_module\n')
    r = await runCli(['locust', join(bad, 'raises.py'), '--host', server.url, '--headless'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/raises\.py:2: ModuleNotFoundError: No module named 'no_such_module'/)

    r = await runCli(['locust', join(dir, 'locustfile.py'), '--host', server.url, '--headless'], { env: { LOADLENS_LOCUST_PYTHON: '/nonexistent/python3' } })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/Locust is not installed: none of these Python interpreters can import it: \/nonexistent\/python3 \(not found\)/)

    r = await runCli(['locust', join(dir, 'locustfile.py'), '--host', server.url, '--headless', '--', '--master'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--master \(after --\): distributed Locust is not followed/)

    r = await runCli(['locust', join(dir, 'nope.py'), '--host', server.url, '--headless'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/nope\.py: no such locustfile/)

    writeFileSync(join(bad, 'plain.py'), 'from locust import HttpUser, task\nclass U(HttpUser):\n    @task\n    def t(self):\n        self.client.get("/fast")\n')
    writeFileSync(join(bad, 'loadlens.json'), '{"expect": "p95=soon", "users": 2}')
    r = await runCli(['locust', join(bad, 'plain.py'), '--host', server.url, '--headless'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/loadlens\.json: expect "p95=soon": expected milliseconds/)

    // Locust dies during the run: what it measured stays, the run is not a pass (exit 3)
    const dies = join(dir, 'dies')
    spawnSync('mkdir', ['-p', dies])
    writeFileSync(join(dies, 'dies.py'), 'import os, time\nfrom locust import HttpUser, task, constant\nSTART = time.time()\n' +
      'class U(HttpUser):\n    wait_time = constant(0.05)\n    @task\n    def t(self):\n        self.client.get("/fast")\n        if time.time() - START > 3:\n            os._exit(7)\n')
    const out = join(dies, 'out')
    r = await runCli(['locust', join(dies, 'dies.py'), '-u', '2', '-r', '2', '-t', '30s', '--host', server.url, '--headless', '--no-host-probe', '--out-dir', out], { timeoutMs: 60_000 })
    expect(r.code, r.stderr).toBe(3)
    const result = resultIn(out)
    expect(result.meta.stopReason).toBe('error')
    expect(result.meta.stopMessage).toMatch(/^Locust exited with code 7 during the run/)
    expect(result.meta.tool.exitCode).toBe(7)
    expect(result.totals.overall.requests).toBeGreaterThan(20)
  }, 180_000)
})

describe('Locust failures as loadlens failure kinds', () => {
  it('maps Locust\'s exception texts to kinds', () => {
    expect(failureOf(500, "HTTPError('500 Server Error')")).toEqual({ kind: 'http', status: 500, message: "HTTPError('500 Server Error')" })
    expect(failureOf(200, 'CatchResponseError: not ok')).toEqual({ kind: 'check', status: 200, message: 'CatchResponseError: not ok' })
    expect(failureOf(0, "ConnectionError: HTTPConnectionPool(host='127.0.0.1', port=9): Max retries exceeded (Caused by NewConnectionError('<urllib3.connection.HTTPConnection object at 0x7f12ab>: Failed to establish a new connection: [Errno 111] Connection refused'))").kind).toBe('refused')
    expect(failureOf(0, 'ReadTimeout: HTTPConnectionPool: Read timed out.').kind).toBe('timeout')
    expect(failureOf(0, "ConnectionError: ('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))").kind).toBe('reset')
    expect(failureOf(0, 'ConnectionError: loadlens: not sent: 10.0.0.1 is not loopback').kind).toBe('blocked')
    expect(failureOf(null, 'RuntimeError: something').kind).toBe('other')
    // object addresses do not split one failure into many
    expect(failureOf(0, 'X: <obj at 0x7f12ab> gone').message).toBe('X: <obj> gone')
  })

  it('a saturated Locust is named with its own remedy, not --workers', () => {
    const timeline = Array.from({ length: 10 }, (_, i) => ({ t: 1000 + i, users: 50, overall: { requests: 100, failures: 0 }, entries: {}, generator: { elu: i < 5 ? 0.99 : 0.5, loopDelayP99Ms: 0 } })) as any
    expect(findSaturation(timeline, 'locust')!.message).toBe('Locust was saturated in 5 of 10 seconds (its process used up to 99% of a core; Python runs it on one): ' +
      'its latencies include its own queueing: run fewer users, FastHttpUser instead of HttpUser, or a distributed Locust outside loadlens')
    expect(findSaturation(timeline)!.message).toMatch(/use --workers/)
  })

  it('reads loadlens.json beside the locustfile, every field checked', () => {
    const d = mkdtempSync(join(tmpdir(), 'loadlens-locust-config-'))
    expect(readLocustConfig(join(d, 'locustfile.py'))).toEqual({ config: {} })
    writeFileSync(join(d, 'loadlens.json'), JSON.stringify({ expect: 'p95=500,failures=1%', users: 10, spawnRate: 2, runTime: '1m', host: 'http://127.0.0.1:8000', allowedHosts: ['api.internal'] }))
    expect(readLocustConfig(join(d, 'locustfile.py')).config).toEqual({ expect: { p95: 500, failureRatio: 0.01 }, users: 10, spawnRate: 2, runTime: '1m', host: 'http://127.0.0.1:8000', allowedHosts: ['api.internal'] })
    writeFileSync(join(d, 'loadlens.json'), '{"user": 3}')
    expect(() => readLocustConfig(join(d, 'locustfile.py'))).toThrow(/loadlens\.json: unknown field "user"; expected one of: expect, users/)
    writeFileSync(join(d, 'loadlens.json'), '{"users": 0}')
    expect(() => readLocustConfig(join(d, 'locustfile.py'))).toThrow(/loadlens\.json: users: expected a whole number > 0, got 0/)
    writeFileSync(join(d, 'loadlens.json'), '{"runTime": "soon"}')
    expect(() => readLocustConfig(join(d, 'locustfile.py'))).toThrow(/runTime/)
    writeFileSync(join(d, 'loadlens.json'), '{oops')
    expect(() => readLocustConfig(join(d, 'locustfile.py'))).toThrow(/loadlens\.json: not valid JSON/)
  })
})
