/**
 * A scenario that requests /item/<random> without a `name` would grow one statistics row per
 * URL (memory, CPU, a table of thousands of lines). Past the bound on distinct names (1,000
 * by default, --max-names) later names share one "(other)" row per method, and a warning in
 * the live line, the summary and the report names the pattern to give as `name`.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Recorder } from '../loadgen/recorder.js'
import { namePattern } from '../loadgen/names.js'
import { json, startServer } from './helpers/server.js'
import type { TestServer } from './helpers/server.js'
import { runCli } from './helpers/cli.js'

let s: TestServer
beforeAll(async () => { s = await startServer((_req, res) => json(res, 200, { ok: true }), { record: false }) })
afterAll(async () => { await s.close() })

describe('a bound on distinct request names', () => {
  it('the recorder keeps the first names and counts the rest under "(other)", per method', () => {
    const r = new Recorder(3)
    for (let i = 0; i < 50; i++) r.record('GET', `/item/${i}`, 1000, 10)
    r.record('POST', '/item/x', 1000, 10)
    r.record('FLOW', 'checkout', 1000, 0)
    const report = r.closeSlice(1, 1)
    expect(Object.keys(report.slice.entries).sort()).toEqual(['FLOW checkout', 'GET (other)', 'GET /item/0', 'GET /item/1', 'GET /item/2', 'POST (other)'])
    expect(report.slice.entries['GET (other)']!.requests).toBe(47)
    expect(report.slice.overall.requests).toBe(51)
    expect(report.overflow).toEqual({ names: 48, requests: 48, examples: expect.arrayContaining(['GET /item/3']) })
  })

  it('names the pattern to give', () => {
    expect(namePattern('/item/8123/reviews')).toBe('/item/[id]/reviews')
    expect(namePattern('/users/2b1f4c0e-8a9d-4e1b-9a77-0c3e6f1d2a55')).toBe('/users/[id]')
  })

  it('a real run: memory-safe rows, the warning in the summary and the report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loadlens-names-'))
    const file = join(dir, 'random.ts')
    writeFileSync(file, `
import { defineScenario, constant } from 'loadlens'
export default defineScenario({
  name: 'random-urls',
  users: { U: { wait: constant(0.001), tasks: { a: async (u) => { await u.http.get('/item/' + Math.floor(Math.random() * 1e9)) } } } },
  profiles: { p: { users: 4, spawnRate: 40, runTime: '3s' } }
})
`)
    const r = await runCli(['run', file, '--profile', 'p', '--host', s.url, '--max-names', '50', '--json', join(dir, 'r.json')])
    expect(r.stdout).toMatch(/Warning: more than 50 distinct request names: \d+ more \(\d+ requests\) were counted under "\(other\)", e\.g\. GET \/item\/\d+.*give such requests a name \(name: '\/item\/\[id\]'\)/)
    // the live output says so while the run goes on
    expect(r.stderr).toMatch(/warning: more than 50 distinct request names \(e\.g\. GET \/item\/\d+\): later ones are counted under "\(other\)"/)
    const result = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8'))
    expect(result.totals.entries.length).toBeLessThanOrEqual(51)
    expect(result.totals.entries.find((e: any) => e.name === '(other)').requests).toBeGreaterThan(100)
    expect(result.meta.nameOverflow.pattern).toBe('/item/[id]')
    expect(readFileSync(join(dir, 'r.html'), 'utf8')).toMatch(/more than 50 distinct request names/)
    // the stats table stays short
    expect(r.stdout.split('\n').filter(l => /^GET /.test(l)).length).toBeLessThanOrEqual(51)
  }, 60_000)
})
