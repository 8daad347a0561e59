/**
 * `loadlens demo --locust`: the bundled Mluv.Me locustfile, run by the real Debian Locust
 * against the express demo target with every probe on, is diagnosed as the TypeScript scenario
 * is (bench/accuracy-harness.ts's EXPECTED, which test/correlate-demo.test.ts holds the
 * scenario to): with the pool fault, the pool finding ranks first. The locustfile makes the
 * scenario's requests under the scenario's names (the voice flow a FLOW row of its own), in
 * the seed's task weights. (A healthy run of it gave no finding and exit 0 when it was written;
 * the suite keeps the one run, for time.)
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { EXPECTED, runMode } from '../bench/accuracy-harness.js'
import { MLUVME_WEIGHTS } from './helpers/demo.js'
import { ARTIFACTS } from './helpers/browser.js'

const hasLocust = spawnSync('/usr/bin/python3', ['-c', 'import locust']).status === 0
const LOAD = { runTime: '25s', users: 10, spawnRate: 2, locust: true }

describe('demo --locust', () => {
  it.skipIf(!hasLocust)('the pool fault: the pool finding ranks first, as with the TypeScript scenario; the scenario\'s request names and task weights', async () => {
    const o = await runMode('pool', LOAD)
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
  }, 120_000)
})
