/**
 * The generator sees when it distorted its own timings. A scenario whose tasks burn the load
 * thread's CPU for the first 1.5 s, then only wait for a fast server: those seconds are
 * marked (meta.distortion, with their range), in the summary, the HTML report and the
 * checklist's latency item; a calm run of the same scenario without the burn is not.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findDistortion } from '../loadgen/health.js'
import type { TimelineSlice } from '../shared/types.js'
import { json, startServer } from './helpers/server.js'
import type { TestServer } from './helpers/server.js'
import { runCli } from './helpers/cli.js'

let s: TestServer
let dir: string
beforeAll(async () => {
  s = await startServer((_req, res) => json(res, 200, { ok: true }), { record: false })
  dir = mkdtempSync(join(tmpdir(), 'loadlens-distortion-'))
})
afterAll(async () => { await s.close() })

function scenario (burnS: number): string {
  const file = join(dir, `burn-${burnS}.ts`)
  writeFileSync(file, `import { defineScenario, constant } from 'loadlens'
const t0 = Date.now()
export default defineScenario({
  name: 'burn',
  users: { U: { wait: constant(0.02), tasks: { t: async (u) => {
    // the first ${burnS} s: 60 ms of CPU before each request, in the load thread
    if (Date.now() - t0 < ${burnS * 1000}) { const end = Date.now() + 60; while (Date.now() < end) { /* burn */ } }
    await u.http.get('/')
  } } } },
  profiles: { p: { users: 4, spawnRate: 100, runTime: '6s', expect: { p95: 500, p99: 1000 } } }
})
`)
  return file
}

describe('the generator\'s own delay', () => {
  it('marks the seconds it distorted, in the result, the summary, the report and the checklist', async () => {
    const out = join(dir, 'burn.json')
    const r = await runCli(['run', scenario(1.5), '--profile', 'p', '--host', s.url, '--headless', '--json', out])
    expect(r.code).toBe(0)
    const result = JSON.parse(readFileSync(out, 'utf8'))
    const d = result.meta.distortion
    expect(d.seconds).toBeGreaterThanOrEqual(1)
    expect(d.worstLoopDelayP99Ms).toBeGreaterThanOrEqual(40)
    // the distorted seconds are the first ones
    expect(d.ranges[0].from - result.timeline[0].t).toBeLessThanOrEqual(1)
    expect(d.ranges[d.ranges.length - 1].to - result.timeline[0].t).toBeLessThanOrEqual(3)
    expect(r.stdout).toMatch(/Generator: the generator's own event loop delayed the timing of requests in \d+ of \d+ seconds \(00:0[0-2]/)
    const latency = result.checklist.find((i: { id: string }) => i.id === 'latency')
    expect(latency.evidence).toMatch(/the generator's own event loop delayed the timing in \d+ of \d+ seconds/)
    expect(readFileSync(out.replace(/\.json$/, '.html'), 'utf8')).toMatch(/Generator: the generator&#39;s own event loop delayed/)
  }, 60_000)

  it('leaves a calm run unmarked', async () => {
    const out = join(dir, 'calm.json')
    const r = await runCli(['run', scenario(0), '--profile', 'p', '--host', s.url, '--headless', '--json', out, '--no-html'])
    expect(r.code).toBe(0)
    const result = JSON.parse(readFileSync(out, 'utf8'))
    expect(result.meta.distortion).toBeUndefined()
    expect(r.stdout).not.toMatch(/Generator:/)
  }, 60_000)

  it('counts a second by its loop delay against its own p99, and the spawn phase apart', () => {
    const sec = (t: number, users: number, delay: number, p99: number, elu = 0.3): TimelineSlice => ({
      t, users, overall: { requests: 10, failures: 0, bytes: 0, sumUs: 0, maxUs: 0, hist: '', p50: p99 / 2, p95: p99, p99 }, entries: {}, generator: { elu, loopDelayP99Ms: delay }
    } as TimelineSlice)
    // 12 ms of delay is distortion beside 30 ms requests, not beside 2 s ones; a saturated loop always is
    const d = findDistortion([sec(100, 5, 12, 30), sec(101, 10, 1, 30), sec(102, 10, 12, 2000), sec(103, 10, 2, 30, 0.97)])!
    expect(d.ranges).toEqual([{ from: 100, to: 100 }, { from: 103, to: 103 }])
    expect(d.duringSpawn).toBe(1)
    expect(d.message).toMatch(/in 2 of 4 seconds \(00:00, 00:03; 1 while users were being started\).*start users more slowly/)
    expect(findDistortion([sec(100, 5, 3, 30), sec(101, 10, 9, 30)])).toBeUndefined()
  })
})
