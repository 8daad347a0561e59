/**
 * Probes in a run: startProbeSession says what each probe watches in one line, a probe that
 * cannot start says why in one line and the run goes on without it, --strict-probes makes
 * that a HarnessError, env fallbacks and bad values are checked, and passwords never appear
 * in log lines, statuses or the result. The CLI stores probe series in the result JSON.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { resolveProbeOptions, startProbeSession } from '../app/probes.js'
import { HarnessError, UsageError } from '../shared/errors.js'
import { startRedis } from './helpers/redis-server.js'
import type { PrivateRedis } from './helpers/redis-server.js'
import { json, sleep, startServer } from './helpers/server.js'
import { runCli, ROOT } from './helpers/cli.js'

const SECRET = 'pw-probe-secret-42'
let redis: PrivateRedis
const dir = mkdtempSync(join(tmpdir(), 'loadlens-probes-'))

beforeAll(async () => { redis = await startRedis() })
afterAll(async () => {
  await redis?.stop()
  rmSync(dir, { recursive: true, force: true })
})

describe('probe session', () => {
  it('one line per probe; one that cannot start says why and the run goes on; no password anywhere', async () => {
    const lines: string[] = []
    // nothing listens on port 1: the PostgreSQL probe cannot connect
    const session = await startProbeSession({ pg: `postgres://app:${SECRET}@127.0.0.1:1/app`, redis: `redis://:${SECRET}@127.0.0.1:${redis.port}/0`, host: false }, (l) => lines.push(l))
    expect(session).not.toBeNull()
    await sleep(1300)
    await session!.stop()
    expect(lines.every(l => !l.includes('\n'))).toBe(true)
    const pgLine = lines.filter(l => l.startsWith('probe pg:'))
    expect(pgLine).toHaveLength(1)
    expect(pgLine[0]).toMatch(/^probe pg: cannot start: cannot connect to postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/app: .*ECONNREFUSED.*\(the run goes on without it\)$/)
    expect(lines).toContain(`probe redis: watching redis://:***@127.0.0.1:${redis.port}/0`)
    expect(lines.some(l => /^probe generator: watching loadlens/.test(l))).toBe(true)
    const status = session!.status()
    expect(status.find(s => s.probe === 'pg')).toMatchObject({ state: 'failed' })
    expect(status.find(s => s.probe === 'redis')!.samples).toBeGreaterThanOrEqual(1)
    expect(status.find(s => s.probe === 'celery')).toMatchObject({ state: 'not configured' })
    expect(session!.series().some(s => s.id === 'redis.hit_rate')).toBe(true)
    const everything = JSON.stringify({ lines, status, series: session!.series() })
    expect(everything).not.toContain(SECRET)
  })

  it('--strict-probes: a probe that cannot start is a HarnessError', async () => {
    const lines: string[] = []
    const err = await startProbeSession({ redis: `redis://:${SECRET}@127.0.0.1:1/0`, host: false, strict: true }, (l) => lines.push(l)).catch(e => e)
    expect(err).toBeInstanceOf(HarnessError)
    expect(err.message).toMatch(/^--strict-probes: probe redis cannot start: cannot connect to redis:\/\/:\*\*\*@127\.0\.0\.1:1\/0/)
    expect(err.message).not.toContain(SECRET)
  })

  it('env fallbacks and checked values', () => {
    expect(resolveProbeOptions({}, { DATABASE_URL: 'postgres://x@127.0.0.1/db', REDIS_URL: 'redis://127.0.0.1:6379' })).toMatchObject({ pg: 'postgres://x@127.0.0.1/db', redis: 'redis://127.0.0.1:6379' })
    expect(resolveProbeOptions({ pg: 'postgres://flag@127.0.0.1/db' }, { DATABASE_URL: 'postgres://env@127.0.0.1/db' }).pg).toBe('postgres://flag@127.0.0.1/db')
    expect(() => resolveProbeOptions({}, { DATABASE_URL: `mysql://u:${SECRET}@h/db` })).toThrow(UsageError)
    expect(() => resolveProbeOptions({}, { DATABASE_URL: `mysql://u:${SECRET}@h/db` })).toThrow(/^DATABASE_URL: expected a postgres: or postgresql: URL, got "mysql:\/\/u:\*\*\*@h\/db"$/)
    expect(() => resolveProbeOptions({ celeryBroker: 'amqp://guest@127.0.0.1//' }, {})).toThrow(/--celery-broker: .*use --celery-flower/)
    expect(() => resolveProbeOptions({ targetPid: 1, targetProcess: 'x' }, {})).toThrow(/--target-pid and --target-process/)
    expect(() => resolveProbeOptions({ intervalS: 0.2 }, {})).toThrow(/--probe-interval/)
    expect(() => resolveProbeOptions({ log: 'a', logCommand: 'b' }, {})).toThrow(/--log and --log-command/)
  })
})

describe('loadlens run with probe flags', () => {
  it('stores pg and redis series in the result JSON, passwords redacted', async () => {
    const target = await startServer((req, res) => json(res, 200, { items: [1, 2] }))
    const out = join(dir, 'result.json')
    try {
      const r = await runCli(['run', 'scenarios/example/scenario.ts', '--host', target.url, '--headless', '-u', '2', '-t', '3s',
        '--pg', `postgres://postgres:${SECRET}@127.0.0.1:5432/postgres`, '--redis', redis.url, '--no-host-probe', '--json', out],
      { cwd: ROOT, timeoutMs: 60_000 })
      expect(r.stderr).toContain('probe pg: watching postgres://postgres:***@127.0.0.1:5432/postgres')
      expect(r.stderr + r.stdout).not.toContain(SECRET)
      const text = readFileSync(out, 'utf8')
      expect(text).not.toContain(SECRET)
      const result = JSON.parse(text)
      const ids: string[] = result.probes.series.map((s: { id: string }) => s.id)
      expect(ids).toContain('pg.connections{state="active"}')
      expect(ids).toContain('redis.hit_rate')
      expect(ids).toContain('generator.cpu')
      expect(ids.some(id => id.startsWith('host.'))).toBe(false)
      const conn = result.probes.series.find((s: { id: string }) => s.id === 'pg.server_connections')
      expect(conn.points.filter((p: [number, number | null]) => p[1] !== null).length).toBeGreaterThanOrEqual(2)
      expect(result.probes.status.find((s: { probe: string }) => s.probe === 'pg').state).not.toBe('failed')
    } finally {
      await target.close()
    }
  })

  it('bad probe flags are one-line usage errors', async () => {
    const r = await runCli(['run', 'scenarios/example/scenario.ts', '--host', 'http://127.0.0.1:9', '--headless', '--probe-interval', '0'], { cwd: ROOT })
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/--probe-interval/)
  })
})
