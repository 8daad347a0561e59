/**
 * An outage is no pass: the database goes away for part of a real run (a TCP proxy in front
 * of PostgreSQL is cut for ~6 s, then restored). The pg probe's gap lands in the steady state,
 * the "Database stable" item fails and says why (not "connections peaked at 0"), the gate
 * closes, and while the probe is in its gap /metrics does not export its series with their
 * last good values.
 */
import { describe, expect, it, afterAll, beforeAll } from 'vitest'
import { runTestServed } from '../web/entry.js'
import { startTcpProxy } from './helpers/tcp-proxy.js'
import type { TcpProxy } from './helpers/tcp-proxy.js'
import { freePort } from '../shared/ports.js'
import { json, sleep, startServer } from './helpers/server.js'
import type { TestServer } from './helpers/server.js'

let s: TestServer
let proxy: TcpProxy
beforeAll(async () => {
  s = await startServer((_req, res) => json(res, 200, { ok: true }), { record: false })
  proxy = await startTcpProxy(5432)
})
afterAll(async () => { await s.close(); await proxy.close() })

describe('a probe outage in the steady state', () => {
  it('fails the probe\'s checklist item and drops its series from /metrics while it lasts', async () => {
    const metricsPort = await freePort()
    const run = runTestServed({
      scenario: 'scenarios/example/scenario.ts', host: s.url, users: 3, spawnRate: 30, runTime: '16s',
      probes: { pg: `postgres://postgres@127.0.0.1:${proxy.port}/postgres`, host: false, intervalS: 1 },
      quiet: true, handleSignals: false, noSave: true
    }, { ui: false, metricsPort })
    const scrape = async (): Promise<string> => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()
    await sleep(5000)
    const before = await scrape()
    await proxy.cut()
    await sleep(4500)
    const during = await scrape()
    await sleep(1500)
    await proxy.restore()
    const out = await run
    expect(before).toMatch(/^loadlens_probe_pg_server_connections /m)
    // the probe is in its gap: its series are not passed off with their last good values
    expect(during).not.toMatch(/^loadlens_probe_pg_/m)
    expect(during).toMatch(/^loadlens_requests_total/m)
    const pg = out.result.probes.status.find(x => x.probe === 'pg')!
    expect(pg.gaps.length).toBeGreaterThanOrEqual(1)
    const item = out.result.checklist!.find(i => i.id === 'database')!
    expect(item.state).toBe('fail')
    expect(item.evidence).toMatch(/the pg probe had no data for \d+ s of the steady state/)
    expect(out.exitCode).toBe(1)
  }, 60_000)
})
