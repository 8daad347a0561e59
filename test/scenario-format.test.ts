/** The scenario format: validation, profiles and flags, and the bundled example scenario. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadScenario } from '../scenarios/load.js'
import { resolveLoadPlan } from '../scenarios/profile.js'
import { between, constant, constantPacing, constantThroughput } from '../scenarios/define.js'
import { startLoad } from '../loadgen/runner.js'
import { checkExpectations } from '../reports/expectations.js'
import { buildResult, prepareRun } from '../app/run.js'
import { json, startServer } from './helpers/server.js'
import type { TestServer } from './helpers/server.js'
import { plan } from './helpers/scenario.js'

const task = async (u: any) => { await u.http.get('/') }

describe('wait times', () => {
  it('compute the wait after a task as Locust does', () => {
    const b = between(1, 2)
    for (let i = 0; i < 100; i++) { const w = b.next(0); expect(w).toBeGreaterThanOrEqual(1); expect(w).toBeLessThanOrEqual(2) }
    expect(constant(3).next(10)).toBe(3)
    expect(constantPacing(2).next(0.5)).toBe(1.5)
    expect(constantPacing(2).next(3)).toBe(0)
    expect(constantThroughput(4).next(0.1)).toBeCloseTo(0.15)
    expect(() => between(2, 1)).toThrow(/max \(1\) is smaller than min \(2\)/)
  })
})

describe('validation', () => {
  it('names the field that is wrong', () => {
    expect(() => plan({ users: {} })).toThrow(/inline-scenario: users must name at least one user class/)
    expect(() => plan({ users: { U: { weight: 0, tasks: { a: task } } } })).toThrow(/users\.U\.weight must be a positive integer/)
    expect(() => plan({ users: { U: { weight: 1.5, tasks: { a: task } } } })).toThrow(/users\.U\.weight/)
    expect(() => plan({ users: { U: { tasks: { a: { weight: 2 } as any } } } })).toThrow(/users\.U\.tasks\.a\.run must be a function/)
    expect(() => plan({ users: { U: { wait: 5 as any, tasks: { a: task } } } })).toThrow(/users\.U\.wait must be between/)
    expect(() => plan({ users: { U: { tasks: { a: task } } }, profiles: { p: { users: -1 } } })).toThrow(/profiles\.p\.users/)
    expect(() => plan({ users: { U: { tasks: { a: task } } }, profiles: { p: { runTime: '1x' } } })).toThrow(/profiles\.p\.runTime: expected a duration/)
    expect(() => plan({ users: { U: { tasks: { a: task } } }, profiles: { p: { expect: { failureRatio: 5 } } } })).toThrow(/expect\.failureRatio: expected a ratio/)
    expect(() => plan({ users: { U: { tasks: { a: task } } }, defaultProfile: 'x' })).toThrow(/defaultProfile must name one of the profiles/)
    expect(() => plan({ host: 'nope', users: { U: { tasks: { a: task } } } })).toThrow(/host: expected a URL/)
  })
})

describe('unknown fields', () => {
  const ok = { U: { tasks: { a: task } } }
  it('refuses a field a part does not have, naming where it is, what was probably meant and the fields there are', () => {
    // Locust's and camelCase spellings of `wait`: ignored, the users would send without pause
    expect(() => plan({ users: { U: { waitTime: constant(1), tasks: { a: task } } as any } })).toThrow('inline-scenario: users.U: unknown field "waitTime" (in a user class): did you mean "wait"?; the fields are weight, wait, state, headers, onStart, onStop, tasks')
    expect(() => plan({ users: { U: { wait_time: between(1, 2), tasks: { a: task } } as any } })).toThrow(/users\.U: unknown field "wait_time" .*did you mean "wait"\?/)
    expect(() => plan({ users: { U: { tasks: { a: task }, on_start: task } as any } })).toThrow(/users\.U: unknown field "on_start" .*did you mean "onStart"\?/)
    // a typo: the nearest field
    expect(() => plan({ users: { U: { wieght: 2, tasks: { a: task } } as any } })).toThrow(/unknown field "wieght" .*did you mean "weight"\?/)
    expect(() => plan({ users: { U: { tasks: { a: { weight: 2, rn: task } as any } } } })).toThrow(/users\.U\.tasks\.a: unknown field "rn" \(in a task\): did you mean "run"\?/)
    // nothing like any field: no guess, the list
    expect(() => plan({ users: ok, banana: 1 } as any)).toThrow('inline-scenario: unknown field "banana" (in a scenario); the fields are name, description, host')
    expect(() => plan({ users: ok, profiles: { p: { users: 5, run_time: '1m' } as any } })).toThrow(/profiles\.p: unknown field "run_time" \(in a profile\): did you mean "runTime"\?/)
    expect(() => plan({ users: ok, profiles: { p: { stages: [{ duration: '10s', users: 5, rampUp: 1 }] } as any } })).toThrow(/profiles\.p\.stages\[0\]: unknown field "rampUp" \(in a stage\)/)
    expect(() => plan({ users: ok, profiles: { p: { arrivalRate: { rate: 5, maxVus: 10 } } as any } })).toThrow(/profiles\.p\.arrivalRate: unknown field "maxVus" \(in an arrival rate\): did you mean "maxVUs"\?/)
    expect(() => plan({ users: ok, profiles: { p: { arrivalRate: { rate: 5, stages: [{ duration: '5s', rate: 9 }] } } as any } })).toThrow(/arrivalRate\.stages\[0\]: unknown field "rate" \(in an arrival-rate stage\)/)
    expect(() => plan({ users: ok, profiles: { p: { arrivalRate: { rate: 5, stages: '5s' } } as any } })).toThrow(/profiles\.p\.arrivalRate\.stages: expected a list of \{ duration, target \}/)
    expect(() => plan({ users: ok, profiles: { p: { stages: [5] } as any } })).toThrow(/profiles\.p\.stages\[0\]: expected \{ duration, users \}/)
    expect(() => plan({ users: ok, profiles: { p: { expect: { p95: 200, p100: 300 } } as any } })).toThrow(/profiles\.p\.expect: unknown field "p100" \(in an expect block\)/)
    expect(() => plan({ users: ok, profiles: { p: { expect: { byName: { 'GET /': { p95: 100, p59: 1 } } } } as any } })).toThrow(/expect\.byName\["GET \/"\]: unknown field "p59" \(in a set of limits\): did you mean "p50"\?/)
  })

  it('takes every field the format has', () => {
    const p = plan({
      description: 'd',
      host: 'http://127.0.0.1:1',
      allowedHosts: ['api.internal'],
      requestTimeout: '5s',
      costs: { 'GET /': 0.1 },
      currency: 'EUR',
      defaultProfile: 'closed',
      users: { U: { weight: 2, wait: constant(1), state: () => ({}), headers: { a: 'b' }, onStart: task, onStop: task, tasks: { a: task, b: { weight: 3, run: task } } } },
      profiles: {
        closed: { description: 'c', users: 5, spawnRate: 1, runTime: '10s', stopTimeout: '2s', advisory: ['x'], stages: [{ duration: '5s', users: 5, spawnRate: 1 }], expect: { failureRatio: 0.01, p50: 1, p90: 2, p95: 3, p99: 4, byName: { 'GET /': { failureRatio: 0, p50: 1, p90: 2, p95: 3, p99: 4 } }, dbConnectionsMax: 5, dbConnectionsStable: true, cacheHitRateMin: 0.5, noMemoryLeak: true, dbQueryMeanMs: 10, findMaxUsers: false } },
        open: { arrivalRate: { rate: 5, timeUnit: '1s', preAllocatedVUs: 2, maxVUs: 9, stages: [{ duration: '5s', target: 9 }] } }
      }
    })
    expect(p.classes[0]!.tasks.map(t => t.weight)).toEqual([1, 3])
    expect(Object.keys(p.profiles)).toEqual(['closed', 'open'])
  })
})

describe('profiles and flags', () => {
  const p = plan({
    users: { U: { tasks: { a: task } } },
    defaultProfile: 'dev',
    profiles: {
      dev: { users: 10, spawnRate: 2, runTime: '2m', expect: { failureRatio: 0, p95: 500 } },
      shape: { stages: [{ duration: '30s', users: 50 }, { duration: '1m', users: 50 }] },
      open: { arrivalRate: { rate: 20, maxVUs: 40, stages: [{ duration: '10s', target: 40 }] } }
    }
  })
  it('uses the default profile, with flags overriding it', () => {
    const a = resolveLoadPlan(p, {})
    expect(a).toMatchObject({ profileName: 'dev', durationS: 120, model: { kind: 'closed', stages: [{ durationS: 120, users: 10, spawnRate: 2 }] } })
    expect(a.expectations).toEqual({ failureRatio: 0, p95: 500 })
    const b = resolveLoadPlan(p, { users: 3, runTime: '30s' })
    expect(b.model).toEqual({ kind: 'closed', stages: [{ durationS: 30, users: 3, spawnRate: 2 }] })
    expect(b.durationS).toBe(30)
  })
  it('runs stages, and --run-time caps them', () => {
    expect(resolveLoadPlan(p, { profile: 'shape' }).durationS).toBe(90)
    expect(resolveLoadPlan(p, { profile: 'shape', runTime: '45s' }).durationS).toBe(45)
    expect(resolveLoadPlan(p, { stages: '10s:5,20s:5@1,10s:0' }).model).toEqual({ kind: 'closed', stages: [{ durationS: 10, users: 5, spawnRate: undefined }, { durationS: 20, users: 5, spawnRate: 1 }, { durationS: 10, users: 0, spawnRate: undefined }] })
  })
  it('builds open models from a profile or --arrival-rate', () => {
    const o = resolveLoadPlan(p, { profile: 'open' })
    expect(o.model).toMatchObject({ kind: 'open', startRate: 20, maxVUs: 40, stages: [{ durationS: 10, rate: 40 }] })
    const f = resolveLoadPlan(p, { arrivalRate: 50, runTime: '20s', maxVUs: 10 })
    expect(f.model).toMatchObject({ kind: 'open', startRate: 50, maxVUs: 10, stages: [{ durationS: 20, rate: 50 }] })
  })
  it('says what is missing', () => {
    const bare = plan({ users: { U: { tasks: { a: task } } } })
    expect(() => resolveLoadPlan(bare, {})).toThrow(/--users: required/)
    expect(() => resolveLoadPlan(bare, { users: 5 })).toThrow(/--run-time: required/)
    expect(() => resolveLoadPlan(bare, { arrivalRate: 5 })).toThrow(/--run-time: required with an arrival rate/)
    expect(() => resolveLoadPlan(p, { profile: 'prod' })).toThrow(/unknown profile "prod".*dev, shape, open/)
  })
})

describe('the example scenario', () => {
  let s: TestServer
  beforeAll(async () => {
    s = await startServer((req, res) => {
      if (req.url === '/items') return json(res, 200, { items: [1, 2, 3] })
      if (req.url === '/login') return json(res, 200, { token: 'abc' })
      if (req.url === '/cart' && req.method === 'POST') return json(res, 201, {})
      json(res, 200, { ok: true })
    })
  })
  afterAll(async () => { await s.close() })

  it('runs every task of both user classes and meets its smoke expectations', async () => {
    // tasks are picked at random by weight: enough picks that every task runs (10 buyers x 3
    // paced iterations: a 1-in-4 task is missed with probability 0.75^30 < 0.02 %)
    const prep = await prepareRun({ scenario: 'scenarios/example/scenario.ts', host: s.url, runTime: '5s', users: 40, spawnRate: 40 })
    expect(prep.plan.classes.map(c => c.name)).toEqual(['Reader', 'Buyer'])
    const out = await startLoad({ plan: prep.plan, model: prep.load.model, durationS: prep.load.durationS, stopTimeoutS: 5, host: s.url })
    expect(out.exceptions).toEqual([])
    expect(Object.keys(out.totals.tasks).sort()).toEqual(['Buyer.add_to_cart', 'Buyer.checkout', 'Reader.health', 'Reader.list_items', 'Reader.view_item'])
    // buyers (10 of 40 by the classes' weights 3:1) logged in and sent their token
    expect(s.seen.filter(r => r.url === '/login')).toHaveLength(10)
    const carts = s.seen.filter(r => r.url === '/cart')
    expect(carts.length).toBeGreaterThan(0)
    expect(carts.every(r => r.headers.authorization === 'Bearer abc')).toBe(true)
    const result = buildResult(prep, { ...out, stopReason: 'completed' }, {})
    const checks = checkExpectations(result)
    expect(checks.map(c => c.label)).toEqual(['overall failure ratio', 'overall p95', 'overall p99'])
    expect(checks.every(c => c.pass)).toBe(true)
    expect(result.totals.entries.find(e => e.key === 'FLOW checkout end-to-end')?.requests).toBeGreaterThan(0)
  })

  it('loads the same scenario through the file loader', async () => {
    const loaded = await loadScenario('scenarios/example/scenario.ts')
    expect(loaded.name).toBe('example')
    expect(Object.keys(loaded.profiles)).toEqual(['smoke', 'ramp', 'open'])
    // the compiled module is kept for the load threads, which load it without compiling again:
    // given a compiled module, the loader runs that one, not the file
    expect(loaded.compiled!.code).toContain('defineScenario')
    const renamed = { ...loaded.compiled!, code: loaded.compiled!.code.replace(/name: "example"/, 'name: "example-as-compiled"') }
    const fromCompiled = await loadScenario('scenarios/example/scenario.ts', renamed)
    expect(fromCompiled.name).toBe('example-as-compiled')
    expect(fromCompiled.classes.map(c => c.name)).toEqual(['Reader', 'Buyer'])
    // compiled against another scenario API (a thread running the built code): compiled again from the file
    expect((await loadScenario('scenarios/example/scenario.ts', { ...renamed, api: 'file:///elsewhere/define.js' })).name).toBe('example')
  })
})
