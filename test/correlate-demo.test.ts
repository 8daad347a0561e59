/**
 * The accuracy matrix on the real demo target (short runs): every fault toggle yields its
 * finding as the top-ranked cause, resting on the probe series a user would look at, and the
 * healthy target yields no finding (here and in test/demo-broker.test.ts). The longer version with precision and
 * recall is `npm run bench -- accuracy`.
 */
import { describe, expect, it } from 'vitest'
import { runMode } from '../app/accuracy.js'
import type { Mode, ModeOutcome } from '../app/accuracy.js'
import { compareResults } from '../reports/compare.js'
import type { RunResult } from '../shared/types.js'

/** results kept for the comparison test at the end */
const kept: Partial<Record<Mode, RunResult>> = {}

function item (o: ModeOutcome, id: string): string {
  return o.checklist.find(i => i.id === id)?.state ?? 'missing'
}

/** load per mode: the development profile's 10 users at its 2 users/s (the ramp is the low-load reference) */
const LOAD = { runTime: '20s', users: 10, spawnRate: 2 }

async function run (mode: Mode, faultValue?: string): Promise<ModeOutcome> {
  return runMode(mode, { ...LOAD, faultValue })
}

describe('the healthy demo target', () => {
  // test/demo-broker.test.ts checks a second healthy run (cache on a private server) the same way
  it('gives no finding', async () => {
    const o = await run('healthy')
    expect(o.titles).toEqual([])
    expect(o.diagnosis.unreliable).toBeUndefined()
    // the pre-deploy checklist: every item the demo can measure passes, and the gate is open
    for (const id of ['failures', 'latency', 'database', 'cache', 'memory', 'celery', 'logs', 'monitoring']) expect(`${id}: ${item(o, id)}`).toBe(`${id}: pass`)
    expect(item(o, 'rollback')).toBe('not measured')
    expect(o.exitCode).toBe(0)
    kept.healthy = o.result
  }, 90_000)
})

describe('each fault is the top-ranked cause', () => {
  /** the checklist item each fault must make fail (the gate then exits 1) */
  const FAILS: Partial<Record<Mode, string>> = { pool: 'database', 'idle-tx': 'database', 'cache-off': 'cache', 'cache-ttl': 'cache', leak: 'memory', backlog: 'celery', errors: 'logs' }
  const cases: Array<[Mode, string | undefined, (o: ModeOutcome) => void]> = [
    ['pool', undefined, (o) => {
      expect(o.diagnosis.findings[0]!.evidence.values['pool size']).toBe(2)
      expect(o.diagnosis.findings[0]!.evidence.series.some(s => s.startsWith('pg.connections'))).toBe(true)
    }],
    ['cache-off', undefined, (o) => expect(Number(o.diagnosis.findings[0]!.evidence.values['hit rate'])).toBeLessThan(0.3)],
    ['cache-ttl', undefined, (o) => expect(o.titles[0]).toMatch(/expire before they are read again/)],
    ['leak', '256', (o) => expect(Number(o.diagnosis.findings[0]!.evidence.values['MB per min'])).toBeGreaterThan(30)],
    ['slow-query', undefined, (o) => expect(o.titles[0]).toMatch(/FROM messages/)],
    ['idle-tx', undefined, (o) => expect(Number(o.diagnosis.findings[0]!.evidence.values['share of samples'])).toBeGreaterThan(0.3)],
    ['backlog', undefined, (o) => expect(o.diagnosis.findings[0]!.evidence.series.some(s => s.startsWith('celery.queue_depth'))).toBe(true)],
    ['cpu', undefined, (o) => expect(o.diagnosis.findings[0]!.evidence.series).toContain('target.cpu')],
    ['errors', '15', (o) => expect(o.diagnosis.findings[0]!.evidence.values.statuses).toBe('500')]
  ]
  for (const [mode, value, more] of cases) {
    it(mode, async () => {
      const o = await run(mode, value)
      expect(o.found[0], `found: ${o.titles.join(' | ')}`).toBe(o.expected)
      more(o)
      const fails = FAILS[mode]
      if (fails) {
        expect(`${fails}: ${item(o, fails)}`).toBe(`${fails}: fail`)
        expect(o.exitCode).toBe(1)
      }
      kept[mode] = o.result
    }, 90_000)
  }
})

describe('compare', () => {
  it('flags the regression between the healthy run and the saturated pool', () => {
    expect(kept.healthy && kept.pool, 'the healthy and pool runs above must have run').toBeTruthy()
    const c = compareResults(kept.healthy!, kept.pool!)
    expect(c.regressions.some(r => r.startsWith('API response p50'))).toBe(true)
    expect(c.metrics.find(m => m.label === 'API response p50')!.regression).toBe(true)
    // and not the other way round
    expect(compareResults(kept.pool!, kept.healthy!).metrics.find(m => m.label === 'API response p50')!.regression).toBe(false)
  })
})
