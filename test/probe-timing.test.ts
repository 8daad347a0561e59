/**
 * Probe timings leave the generator's own load out: the Redis probe times PING on the main
 * thread, while the load runs in its own thread. 40 users whose task does 4 ms of synchronous
 * work before each request keep the load thread's event loop running all the time. With the
 * load in its worker thread (the default), the probe's PING stays at Redis's own fraction of a
 * millisecond (0.8 ms measured); with the load in the main thread (`workers: 0`, the control)
 * the same PING waits behind the users' callbacks (about 80 ms measured), as the probe in one
 * thread with the load did before (15-42 ms against 0.19 ms by redis-cli).
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runTest } from '../app/run.js'
import { startServer } from './helpers/server.js'
import type { TestServer } from './helpers/server.js'

let server: TestServer
let file: string
beforeAll(async () => {
  server = await startServer((_req, res) => { res.end('{"ok":true}') }, { record: false })
  const dir = mkdtempSync(join(tmpdir(), 'loadlens-probe-timing-'))
  file = join(dir, 'scenario.ts')
  writeFileSync(file, `import { defineScenario, constant } from 'loadlens'
export default defineScenario({ name: 'busy', users: { U: { wait: constant(0.001), tasks: {
  work: async (u) => { const end = Date.now() + 4; while (Date.now() < end) { /* the load thread is busy */ } await u.http.get('/') }
} } } })
`)
})
afterAll(async () => { await server?.close() })

const quiet = new Writable({ write (_c, _e, cb) { cb() } }) as unknown as NodeJS.WriteStream

async function pings (workers: number | undefined): Promise<{ p50: number; n: number; requests: number }> {
  const out = await runTest({
    scenario: file, host: server.url, users: 40, spawnRate: 400, runTime: '6s', workers,
    probes: { redis: 'redis://127.0.0.1:6379/0', host: false }, noSave: true, quiet: true, stdout: quiet, stderr: quiet, handleSignals: false
  })
  const series = out.result.probes.series.find(s => s.probe === 'redis' && s.metric === 'ping_ms')!
  const values = series.points.map(p => p[1]).filter((v): v is number => v !== null).sort((a, b) => a - b)
  return { p50: values[Math.floor(values.length / 2)]!, n: values.length, requests: out.result.totals.overall.requests }
}

describe('probe timings', () => {
  it('the Redis PING leaves out the load thread\'s work; with the load in the main thread (control) it takes it in', async () => {
    const apart = await pings(undefined)
    const together = await pings(0)
    // both runs loaded the thread that ran the load about equally
    expect(apart.requests).toBeGreaterThan(500)
    expect(together.requests).toBeGreaterThan(500)
    expect(apart.n).toBeGreaterThanOrEqual(4)
    expect(together.n).toBeGreaterThanOrEqual(4)
    expect(apart.p50, `ping p50 with the load in its own thread: ${apart.p50} ms`).toBeLessThan(5)
    expect(together.p50, `ping p50 with the load in the main thread: ${together.p50} ms`).toBeGreaterThan(10)
  }, 60_000)
})
