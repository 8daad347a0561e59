/**
 * The load has a thread of its own: whatever blocks the main thread (a probe's synchronous
 * work, JSON of a big second, a report being rendered) does not enter the measured latencies.
 * The main thread is blocked for 250 ms every 400 ms while 5 users call a server that answers
 * in 20 ms: with the load in its worker thread (the default) the latencies stay near 20 ms;
 * with the load in the main thread (`workers: 0`, the control) they take the blocks in.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startLoad } from '../loadgen/runner.js'
import { loadScenario } from '../scenarios/load.js'
import { decodeHistogram, summarize } from '../shared/hist.js'
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'

// the server in a process of its own: a server in this process would be blocked too
let server: ChildProcess
let url: string
let file: string
beforeAll(async () => {
  server = spawn(process.execPath, ['-e', `
const s = require('node:http').createServer((q, r) => setTimeout(() => r.end('{"ok":true}'), 20))
s.listen(0, '127.0.0.1', () => console.log(s.address().port))`], { stdio: ['ignore', 'pipe', 'inherit'] })
  url = await new Promise<string>((resolve) => server.stdout!.once('data', (c: Buffer) => resolve(`http://127.0.0.1:${c.toString().trim()}`)))
  const dir = mkdtempSync(join(tmpdir(), 'loadlens-thread-'))
  file = join(dir, 'scenario.ts')
  writeFileSync(file, `import { defineScenario, constant } from 'loadlens'
export default defineScenario({ name: 'thread', users: { U: { wait: constant(0.02), tasks: { get: async (u) => { await u.http.get('/') } } } } })
`)
})
afterAll(() => { server.kill() })

async function blockedRun (workers: number | undefined): Promise<{ p50: number; p99: number; threads: number; requests: number; blocks: number; blockedMs: number; runMs: number }> {
  const plan = await loadScenario(file)
  let blocks = 0
  let blockedMs = 0
  const blocker = setInterval(() => {
    const start = Date.now()
    const end = start + 250
    while (Date.now() < end) { /* the main thread is busy */ }
    blocks++
    blockedMs += Date.now() - start
  }, 400)
  const t0 = Date.now()
  try {
    const out = await startLoad({ plan, host: url, model: { kind: 'closed', stages: [{ durationS: 3, users: 5, spawnRate: 100 }] }, durationS: 3, stopTimeoutS: 2, settings: { workers } })
    const sum = summarize(decodeHistogram(out.totals.overall.hist))
    return { p50: sum.p50, p99: sum.p99, threads: out.timeline.find(t => t.generator?.workers)?.generator?.workers?.length ?? 0, requests: out.totals.overall.requests, blocks, blockedMs, runMs: Date.now() - t0 }
  } finally {
    clearInterval(blocker)
  }
}

describe('the load thread', () => {
  it('keeps a blocked main thread out of the latencies; the load in the main thread (the control) does not', async () => {
    const isolated = await blockedRun(undefined)
    const control = await blockedRun(0)
    // by default the load ran in one worker thread, which reported its own event loop
    expect(isolated.threads).toBe(1)
    expect(control.threads).toBe(0)
    expect(isolated.requests).toBeGreaterThan(100)
    expect(isolated.p99, JSON.stringify(isolated)).toBeLessThan(100)
    // the control's main thread was blocked for most of its run (else the check below says nothing)
    expect(control.blocks, JSON.stringify(control)).toBeGreaterThanOrEqual(5)
    expect(control.p99, JSON.stringify(control)).toBeGreaterThan(150)
  }, 60_000)
})
