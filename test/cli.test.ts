/** The `loadlens` command as a user runs it: bad input, Ctrl-C, scenarios outside the repo. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { json, sleep, startServer } from './helpers/server.js'
import type { TestServer } from './helpers/server.js'
import { BIN, runCli, startCli } from './helpers/cli.js'
import { buildProgram } from '../cli/main.js'
import { spawnSync } from 'node:child_process'

let s: TestServer
let dir: string
const EXAMPLE = 'scenarios/example/scenario.ts'

beforeAll(async () => {
  s = await startServer((req, res) => {
    if (req.url === '/items') return json(res, 200, { items: [1, 2] })
    if (req.url === '/login') return json(res, 200, { token: 't' })
    json(res, req.method === 'POST' && req.url === '/cart' ? 201 : 200, { ok: true })
  }, { record: false })
  dir = mkdtempSync(join(tmpdir(), 'loadlens-cli-'))
})
afterAll(async () => { await s.close() })

function scenarioFile (name: string, text: string): string {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

describe('bad input gets one clear line and exit code 2', () => {
  const cases: Array<[string, () => string[], RegExp]> = [
    ['a missing scenario file', () => ['run', join(dir, 'nope.ts')], /nope\.ts: no such scenario file/],
    ['a scenario that throws', () => ['run', scenarioFile('throws.ts', "throw new Error('bad setup')\n")], /throws\.ts: the scenario file failed to load: bad setup/],
    ['a syntax error', () => ['run', scenarioFile('syntax.ts', 'export default {{{\n')], /syntax\.ts: the scenario file failed to load: .*syntax\.ts:1:\d+: (Expected|Unexpected)/],
    ['no default export', () => ['run', scenarioFile('nodefault.ts', 'export const x = 1\n')], /nodefault\.ts: expected a default export/],
    ['a task with weight 0', () => ['run', scenarioFile('w0.ts', "import { defineScenario } from 'loadlens'\nexport default defineScenario({ name: 'w', users: { U: { tasks: { a: { weight: 0, run: async () => {} } } } } })\n")], /w0\.ts: users\.U\.tasks\.a\.weight must be a positive integer.*got 0/],
    ['a negative weight', () => ['run', scenarioFile('wneg.ts', "import { defineScenario } from 'loadlens'\nexport default defineScenario({ name: 'w', users: { U: { tasks: { a: { weight: -2, run: async () => {} } } } } })\n")], /users\.U\.tasks\.a\.weight must be a positive integer.*-2/],
    ['no tasks', () => ['run', scenarioFile('notasks.ts', "import { defineScenario } from 'loadlens'\nexport default defineScenario({ name: 'n', users: { U: { tasks: {} } } })\n")], /notasks\.ts: users\.U\.tasks must name at least one task/],
    ['an unknown profile', () => ['run', EXAMPLE, '--profile', 'nightly'], /--profile: unknown profile "nightly".*smoke, ramp, open/],
    ['a malformed duration', () => ['run', EXAMPLE, '--run-time', '5x'], /--run-time.*5x/],
    ['a host that is not a URL', () => ['run', EXAMPLE, '--host', 'not a url'], /--host: expected a URL/],
    ['a non-numeric user count', () => ['run', EXAMPLE, '--users', 'many'], /--users.*many/],
    ['an unknown HTTP client', () => ['run', EXAMPLE, '--http-client', 'curl'], /--http-client.*expected loadlens or undici, got "curl"/],
    ['malformed stages', () => ['run', EXAMPLE, '--stages', '30s-10'], /--stages: stage 1 "30s-10" should be duration:target/],
    ['an unknown flag', () => ['run', EXAMPLE, '--userz', '3'], /unknown option '--userz'/],
    ['zero users', () => ['run', EXAMPLE, '--users', '0'], /--users: expected a whole number > 0, got 0/],
    ['an arrival rate of zero', () => ['run', EXAMPLE, '--arrival-rate', '0'], /--arrival-rate: expected a number > 0, got 0/],
    ['a spawn rate of zero', () => ['run', EXAMPLE, '--spawn-rate', '0'], /--spawn-rate: expected a number > 0, got 0/],
    ['a negative spawn rate', () => ['run', EXAMPLE, '--spawn-rate', '-2'], /--spawn-rate <n>' argument '-2' is invalid/],
    ['a negative arrival rate', () => ['run', EXAMPLE, '--arrival-rate', '-1'], /--arrival-rate <n>' argument '-1' is invalid/],
    ['stages that never start a user', () => ['run', EXAMPLE, '--stages', '10s:0'], /--stages: expected at least 1 user at some point, got 0/],
    ['a stage spawning at 0 a second', () => ['run', EXAMPLE, '--stages', '10s:5@0'], /--stages: stage 1 "10s:5@0": the spawn rate after @ must be > 0/],
    ['a profile of 0 users', () => ['run', scenarioFile('p0.ts', "import { defineScenario } from 'loadlens'\nexport default defineScenario({ name: 'p', users: { U: { tasks: { a: async () => {} } } }, profiles: { none: { users: 0, runTime: '5s' } } })\n"), '--profile', 'none'], /profile "none": users: expected at least 1 user at some point, got 0/],
    ['a request budget of 0', () => ['run', EXAMPLE, '--max-requests', '0'], /--max-requests: expected a whole number >= 1, got 0/],
    ['a bound of 0 request names', () => ['run', EXAMPLE, '--max-names', '0'], /--max-names: expected a whole number >= 1, got 0/],
    ['a port out of range', () => ['run', EXAMPLE, '--web-port', '99999'], /--web-port <n>' argument '99999' is invalid\. expected a port number from 1 to 65535, got "99999"/],
    // every command is registered for a command line that names none of them: the suggestion still comes
    ['a mistyped command', () => ['rnu', EXAMPLE], /unknown command 'rnu'/]
  ]
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const r = await runCli(args())
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(message)
      expect(r.stderr.trim().split('\n').filter(l => !/^\(Did you mean/.test(l))).toHaveLength(1)
      expect(r.stderr).not.toMatch(/\n\s+at /)
    })
  }

  it('a command line that names a command registers only it; any other, all of them', () => {
    const names = (argv: string[]): string[] => buildProgram(['node', 'loadlens', ...argv]).commands.map(c => c.name())
    expect(names(['run', 'x.ts'])).toEqual(['run'])
    expect(names(['check', 'r.json'])).toEqual(['check'])
    expect(names(['--help'])).toHaveLength(11)
    expect(names(['rnu'])).toContain('run')
    expect(names([])).toHaveLength(11)
  })

  it('an unreachable target is exit 3 (the harness could not do its job)', async () => {
    const r = await runCli(['run', EXAMPLE, '--host', 'http://127.0.0.1:9', '-t', '2s'])
    expect(r.code).toBe(3)
    expect(r.stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9: connection refused/)
  })
})

describe('running', () => {
  it('runs a scenario that lives outside the repository and imports loadlens', async () => {
    const file = scenarioFile('outside.ts', `
import { defineScenario, between } from 'loadlens'
interface S { n: number }
export default defineScenario({
  name: 'outside',
  users: { U: { wait: between(0.01, 0.02), state: (): S => ({ n: 0 }), tasks: { a: async (u) => { await u.http.get('/items') } } } },
  profiles: { quick: { users: 3, spawnRate: 10, runTime: '2s', expect: { failureRatio: 0, p95: 1000 } } }
})
`)
    const out = join(dir, 'outside.json')
    const r = await runCli(['run', file, '--profile', 'quick', '--host', s.url, '--json', out], { cwd: dir })
    // stderr carries the live progress and one line per probe, never an error
    expect(r.stderr).not.toMatch(/loadlens:|Error|\n\s+at /)
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/GET\s+\/items/)
    expect(r.stdout).toMatch(/PASS\s+2\. p95 and p99 within their targets/)
    const result = JSON.parse(readFileSync(out, 'utf8'))
    expect(result.format).toBe('loadlens/result')
    expect(result.totals.overall.requests).toBeGreaterThan(50)
    expect(result.meta.profile).toBe('quick')
  })

  it('exits 1 when an expectation fails', async () => {
    const r = await runCli(['run', EXAMPLE, '--host', s.url, '-u', '2', '-r', '10', '-t', '2s', '--out-dir', dir, '-q'])
    expect(r.code).toBe(0)
    const file = scenarioFile('strict.ts', `
import { defineScenario } from 'loadlens'
export default defineScenario({
  name: 'strict',
  users: { U: { tasks: { a: async (u) => { await u.http.get('/nope', { expect: 201 }) } } } },
  profiles: { p: { users: 1, spawnRate: 1, runTime: '1s', expect: { failureRatio: 0 } } }
})
`)
    const bad = await runCli(['run', file, '--profile', 'p', '--host', s.url, '--out-dir', dir])
    expect(bad.code).toBe(1)
    expect(bad.stdout).toMatch(/FAIL\s+1\. No failed requests/)
  })

  it('a typo in a request option stops the run at once with the key, the nearest known one and where it was written', async () => {
    // two folders down: deeper than the working directory's own depth from /
    mkdirSync(join(dir, 'deep', 'er'), { recursive: true })
    const file = scenarioFile('deep/er/typo.ts', `import { defineScenario } from 'loadlens'
export default defineScenario({
  name: 'typo',
  users: { U: { tasks: { a: async (u) => {
    await u.http.post('/cart', { jsn: { item: 1 } })
  } } } },
  profiles: { p: { users: 2, spawnRate: 10, runTime: '30s' } }
})
`)
    const t0 = Date.now()
    const r = await runCli(['run', file, '--profile', 'p', '--host', s.url, '--out-dir', dir, '-q'])
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toMatch(/^loadlens: .*typo\.ts:5:\d+: u\.http\.post\(\): unknown request option "jsn" \(did you mean "json"\?\); the options are json, form, body/)
    // the scenario's own path (the compiled module's source map is relative to the scenario's folder, whatever the working directory)
    expect(r.stderr).toContain(`loadlens: ${file}:5:`)
    expect(Date.now() - t0).toBeLessThan(15_000)
    expect(readdirSync(dir).some(f => f.startsWith('typo') && f.endsWith('.journal.jsonl'))).toBe(false)
  })

  it('a run whose every task throws fails the gate, though no request failed', async () => {
    const file = scenarioFile('throwing.ts', `
import { defineScenario } from 'loadlens'
export default defineScenario({
  name: 'throwing',
  users: { U: { tasks: { a: async (u) => { await u.http.get('/items'); throw new Error('unexpected body') } } } },
  profiles: { p: { users: 2, spawnRate: 10, runTime: '1s' } }
})
`)
    const r = await runCli(['run', file, '--profile', 'p', '--host', s.url, '--out-dir', dir])
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/FAIL\s+1\. Failures under 1\.0%\s+every task run threw an exception \(\d+ of \d+\), e\.g\. a: "Error: unexpected body"/)
    const none = scenarioFile('nothing.ts', `
import { defineScenario } from 'loadlens'
export default defineScenario({
  name: 'nothing',
  users: { U: { onStart: async () => { throw new Error('cannot log in') }, tasks: { a: async (u) => { await u.http.get('/items') } } } },
  profiles: { p: { users: 2, spawnRate: 10, runTime: '1s' } }
})
`)
    const r2 = await runCli(['run', none, '--profile', 'p', '--host', s.url, '--out-dir', dir])
    expect(r2.code).toBe(1)
    expect(r2.stdout).toMatch(/FAIL\s+1\. Failures under 1\.0%\s+no request was measured; \d+ exceptions in tasks, e\.g\. onStart: "Error: cannot log in"/)
  })

  it('Ctrl-C stops the load gracefully, still writes the result, and exits 130 (an interrupted run is no pass)', async () => {
    const out = join(dir, 'interrupted.json')
    const { child, done } = startCli(['run', EXAMPLE, '--host', s.url, '-u', '5', '-r', '10', '-t', '5m', '--json', out])
    await sleep(2500)
    child.kill('SIGINT')
    const r = await done
    expect(r.code).toBe(130)
    expect(existsSync(out)).toBe(true)
    const result = JSON.parse(readFileSync(out, 'utf8'))
    expect(result.meta.stopReason).toBe('interrupted')
    expect(result.totals.overall.requests).toBeGreaterThan(5)
    expect(r.stdout).toMatch(/stopped: interrupted/)
  })

  it('SIGTERM does the same, exit 143', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'loadlens-term-'))
    const { child, done } = startCli(['run', EXAMPLE, '--host', s.url, '-u', '3', '-r', '10', '-t', '5m', '--out-dir', outDir, '-q'])
    await sleep(2000)
    child.kill('SIGTERM')
    expect((await done).code).toBe(143)
    const files = readdirSync(outDir).filter(f => f.endsWith('.json'))
    expect(files).toHaveLength(1)
    expect(JSON.parse(readFileSync(join(outDir, files[0]!), 'utf8')).meta.stopReason).toBe('interrupted')
  })
})

describe('output into a pipe whose reader stopped', () => {
  it('`loadlens locust --help | head -1`: exit 0, no stack trace', () => {
    const r = spawnSync('bash', ['-c', `set -o pipefail; node ${BIN} locust --help | head -1`], { encoding: 'utf8', timeout: 30_000 })
    expect(r.stdout).toMatch(/^Usage: loadlens locust/)
    expect(r.stderr).not.toMatch(/EPIPE|Error/)
    expect(r.status).toBe(0)
  })
})
