/**
 * `loadlens demo --locust`: the bundled Mluv.Me locustfile, run by the real Debian Locust
 * against the express demo target with every probe on, is diagnosed as the TypeScript scenario
 * is (bench/accuracy-harness.ts's EXPECTED, which test/correlate-demo.test.ts holds the
 * scenario to): with the pool fault, the pool finding ranks first. The locustfile makes the
 * scenario's requests under the scenario's names (the voice flow a FLOW row of its own), in
 * the seed's task weights, and its counts and percentiles are Locust's own, as Locust's CSV
 * of the same run gives them. (A healthy run of it gave no finding and exit 0 when it was
 * written; the suite keeps the one run, for time.)
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeHistogram } from '../shared/hist.js'
import { describe, expect, it } from 'vitest'
import { EXPECTED, runMode } from '../bench/accuracy-harness.js'
import { MLUVME_WEIGHTS } from './helpers/demo.js'
import { ARTIFACTS } from './helpers/browser.js'

const hasLocust = spawnSync('/usr/bin/python3', ['-c', 'import locust']).status === 0
const LOAD = { runTime: '25s', users: 10, spawnRate: 2, locust: true }

describe('demo --locust', () => {
  it.skipIf(!hasLocust)('the pool fault: the pool finding ranks first, as with the TypeScript scenario; the scenario\'s request names and task weights', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loadlens-demo-locust-'))
    const o = await runMode('pool', { ...LOAD, outDir: dir })
    // kept for a post-mortem (test-artifacts/ is not committed)
    mkdirSync(ARTIFACTS, { recursive: true })
    writeFileSync(join(ARTIFACTS, 'demo-locust-pool.json'), JSON.stringify(o.result))
    expect(o.result.meta.tool?.name).toBe('locust')
    const why = `found: ${o.titles.join('; ') || 'nothing'}; not checked: ${(o.diagnosis.skipped ?? []).map(x => `${x.id} (${x.reason})`).join('; ')}; ` +
      `users:requests:p50 per second: ${o.result.timeline.map(x => `${x.users}:${x.overall.requests}:${Math.round(x.overall.p50)}`).join(' ')}`
    expect(o.found[0], why).toBe(EXPECTED.pool)
    const names = o.result.totals.entries.map(e => `${e.type} ${e.name}`).sort()
    expect(names).toEqual([
      'FLOW voice message end-to-end', 'GET /api/v1/users/[id]', 'GET /api/v1/users/[id]/saved-words', 'GET /api/v1/users/[id]/stats',
      'GET /api/v1/users/[id]/streak-calendar', 'GET /api/v1/voice/jobs/[id]', 'POST /api/v1/users', 'POST /api/v1/voice/process'
    ])
    const count = (n: string): number => o.result.totals.entries.find(e => e.name === n)!.requests
    // one registration per user
    expect(count('/api/v1/users')).toBe(10)
    // the task weights: voice 10 : stats 3 : profile 2 : words 2 : streak 1, within chance
    const voice = count('/api/v1/voice/process')
    const total = voice + count('/api/v1/users/[id]/stats') + count('/api/v1/users/[id]') + count('/api/v1/users/[id]/saved-words') + count('/api/v1/users/[id]/streak-calendar')
    const expected = MLUVME_WEIGHTS.process_voice_message / Object.values(MLUVME_WEIGHTS).reduce((a, b) => a + b, 0)
    expect(Math.abs(voice / total - expected)).toBeLessThan(0.12)
    // Locust's own CSV of the same run: the same rows and counts, request for request, and
    // the same percentiles within Locust's rounding (its rank floor(n p) + 1, its rounding)
    const csvText = readFileSync(`${o.result.meta.tool!.csv}_stats.csv`, 'utf8').trim().split('\n')
    const header = csvText[0]!.split(',')
    const rows = new Map(csvText.slice(1).map(l => { const f = l.match(/("[^"]*"|[^,]*)(,|$)/g)!.map(x => x.replace(/,$/, '').replace(/^"|"$/g, '')); return [`${f[0]} ${f[1]}`.trim(), Object.fromEntries(header.map((h, i) => [h, f[i]!]))] as const }))
    const step = (ms: number): number => ms < 100 ? 1 : ms < 1000 ? 10 : ms < 10_000 ? 100 : 1000
    for (const e of o.result.totals.entries.filter(x => x.type !== 'FLOW')) {
      const row = rows.get(`${e.type} ${e.name}`)!
      expect(row, `${e.type} ${e.name} in Locust's CSV`).toBeDefined()
      expect(e.requests, e.key).toBe(Number(row['Request Count']))
      expect(e.failures, e.key).toBe(Number(row['Failure Count']))
      const h = decodeHistogram(e.hist)
      for (const [p, col] of [[0.5, '50%'], [0.95, '95%']] as const) {
        const rank = Math.min(e.requests, Math.floor(e.requests * p) + 1)
        const ours = h.getValueAtPercentile((100 * rank) / e.requests) / 1000
        const rounded = Math.round(ours / step(ours)) * step(ours)
        expect(Math.abs(rounded - Number(row[col])), `${e.key} ${col}: loadlens ${ours} ms, Locust ${row[col]} ms`).toBeLessThanOrEqual(step(Number(row[col])))
      }
      h.destroy()
    }
    rmSync(dir, { recursive: true, force: true })
  }, 120_000)
})
