/** --expect: k6-style pass criteria on the command line, parsed and merged over a profile's. */
import { describe, expect, it } from 'vitest'
import { mergeExpectations, parseExpect } from '../scenarios/expect.js'
import { resolveLoadPlan } from '../scenarios/profile.js'
import type { ScenarioPlan } from '../scenarios/validate.js'

describe('--expect', () => {
  it('parses latency limits, failure ratios, database, cache and memory criteria, and per-name limits', () => {
    expect(parseExpect('p95=500,p99=1s,failures=1%')).toEqual({ p95: 500, p99: 1000, failureRatio: 0.01 })
    expect(parseExpect('p50=20ms, p90=45.5, failures=0')).toEqual({ p50: 20, p90: 45.5, failureRatio: 0 })
    expect(parseExpect('failures=0.02,db-connections-max=50,cache-hit-rate-min=85%,no-memory-leak,db-connections-stable,db_query_mean=10'))
      .toEqual({ failureRatio: 0.02, dbConnectionsMax: 50, cacheHitRateMin: 0.85, noMemoryLeak: true, dbConnectionsStable: true, dbQueryMeanMs: 10 })
    expect(parseExpect('no-memory-leak=false,find-max-users')).toEqual({ noMemoryLeak: false, findMaxUsers: true })
    expect(parseExpect('GET /api/v1/users/[id]:p95=200,"POST /a,b:c":failures=5%,p99=900'))
      .toEqual({ p99: 900, byName: { 'GET /api/v1/users/[id]': { p95: 200 }, 'POST /a,b:c': { failureRatio: 0.05 } } })
  })

  it('names the item and what it expected for every mistake', () => {
    expect(() => parseExpect('p95=fast')).toThrow('--expect "p95=fast": expected milliseconds like 500, 500ms or 1.5s, got "fast"')
    expect(() => parseExpect('failures=150%')).toThrow('--expect "failures=150%": expected a percentage like 1% or a ratio from 0 to 1')
    expect(() => parseExpect('p59=100')).toThrow(/unknown limit "p59" \(did you mean p50\?\); expected one of: p50, p90, p95, p99, failures/)
    expect(() => parseExpect('p95')).toThrow('p95 needs a value in ms, e.g. p95=500')
    expect(() => parseExpect('db-connections-max=lots')).toThrow('expected a whole number, got "lots"')
    expect(() => parseExpect('GET /x:db-connections-max=3')).toThrow("a request name's limit is one of p50, p90, p95, p99, failures")
    expect(() => parseExpect(' , ')).toThrow('--expect: expected limits like p95=500,p99=1000,failures=1%')
    expect(() => parseExpect('p95=x', 'loadlens.json: expect')).toThrow('loadlens.json: expect "p95=x"')
  })

  it('merges over the profile key by key, per-name limits by name', () => {
    expect(mergeExpectations({ failureRatio: 0, p95: 500, p99: 1000, byName: { a: { p95: 1 }, b: { p50: 2 } } }, { p95: 300, byName: { a: { p99: 9 } } }))
      .toEqual({ failureRatio: 0, p95: 300, p99: 1000, byName: { a: { p95: 1, p99: 9 }, b: { p50: 2 } } })
    expect(mergeExpectations(undefined, { p95: 1 })).toEqual({ p95: 1 })
    expect(mergeExpectations({ p95: 1 }, undefined)).toEqual({ p95: 1 })
  })

  it('reaches the load plan: the profile\'s criteria with the flag\'s on top, or the flag\'s alone', () => {
    const plan = {
      name: 's', allowedHosts: [], classes: [], requestTimeoutMs: 30_000, costs: {}, currency: 'USD', source: {},
      profiles: { dev: { users: 2, runTime: '5s', expect: { failureRatio: 0, p95: 500 } } }
    } as unknown as ScenarioPlan
    expect(resolveLoadPlan(plan, { profile: 'dev', expect: 'p95=200,p99=400' }).expectations).toEqual({ failureRatio: 0, p95: 200, p99: 400 })
    expect(resolveLoadPlan(plan, { users: 1, runTime: '1s', expect: 'failures=1%' }).expectations).toEqual({ failureRatio: 0.01 })
    expect(resolveLoadPlan(plan, { users: 1, runTime: '1s' }).expectations).toBeUndefined()
  })
})
