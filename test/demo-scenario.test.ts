/**
 * The bundled Mluv.Me scenario is the seed's: its user's five tasks and their weights, the four
 * profiles with their pass criteria, and the cost model. (It runs end to end against the demo
 * target in test/correlate-demo.test.ts.)
 */
import { describe, expect, it } from 'vitest'
import { bundledScenario, loadScenario } from '../scenarios/load.js'
import { MLUVME_WEIGHTS } from './helpers/demo.js'

describe('the Mluv.Me scenario', () => {
  it('is the bundled mluvme scenario with the seed\'s weights, profiles and cost model', async () => {
    const plan = await loadScenario(bundledScenario('mluvme'))
    expect(plan.name).toBe('mluvme')
    const user = plan.classes.find(c => c.name === 'MluvMeUser')!
    expect(Object.fromEntries(user.tasks.map(t => [t.name, t.weight]))).toEqual(MLUVME_WEIGHTS)
    expect(plan.defaultProfile).toBe('development')
    expect(plan.profiles.development).toMatchObject({ users: 10, spawnRate: 2, runTime: '2m', expect: { failureRatio: 0, p95: 500, p99: 1000 } })
    expect(plan.profiles.staging).toMatchObject({ users: 100, spawnRate: 10, runTime: '10m', expect: { failureRatio: 0.01, p95: 500, p99: 1000, dbConnectionsStable: true } })
    expect(plan.profiles.production).toMatchObject({ users: 1000, spawnRate: 50, runTime: '30m', expect: { failureRatio: 0.01, p95: 1000, p99: 2000, noMemoryLeak: true, dbConnectionsMax: 50 } })
    expect(plan.profiles.stress).toMatchObject({ users: 2000, spawnRate: 100, runTime: '15m', expect: { findMaxUsers: true } })
    expect(plan.currency).toBe('USD')
    expect(plan.costs['voice message end-to-end']).toBeGreaterThan(0)
  })
})
