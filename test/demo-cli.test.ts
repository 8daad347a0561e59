/**
 * `loadlens demo` as a user runs it: bad input is one line and exit 2, an unreachable service
 * is one line naming the URL (password hidden) and the env var, exit 3; a run wires every probe
 * to the demo target, and Ctrl-C stops the load, writes the result and stops everything the
 * demo started.
 */
import { describe, expect, it } from 'vitest'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { runCli, startCli } from './helpers/cli.js'
import { freePort } from '../shared/ports.js'
import { sleep } from './helpers/server.js'
import { alive } from './helpers/demo.js'
import type { RunResult } from '../shared/types.js'

describe('loadlens demo', () => {
  it('rejects an unknown fault with the list of known ones (exit 2)', async () => {
    const r = await runCli(['demo', '--fault', 'disk-full'])
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/--fault: unknown fault "disk-full"; expected one of: pool, cache-off, cache-ttl, leak, slow-query, idle-tx, backlog, cpu, errors/)
  })

  it('rejects a bad fault value (exit 2)', async () => {
    const r = await runCli(['demo', '--fault', 'pool=0'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/"pool=0": expected size in connections from 1 to 20/)
  })

  it('says which PostgreSQL URL it tried, and how to change or start it (exit 3)', async () => {
    const r = await runCli(['demo'], { env: { LOADLENS_DEMO_PG: 'postgres://postgres:hunter2@127.0.0.1:1/postgres' } })
    expect(r.code).toBe(3)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/PostgreSQL is not reachable at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/postgres \(connection refused\); the URL comes from LOADLENS_DEMO_PG\. Start PostgreSQL/)
    expect(r.stderr).not.toContain('hunter2')
  })

  it('says which Redis URL it tried when the cache is down (exit 3)', async () => {
    const r = await runCli(['demo'], { env: { LOADLENS_DEMO_REDIS: '', REDIS_URL: 'redis://127.0.0.1:1' } })
    expect(r.code).toBe(3)
    expect(r.stderr).toMatch(/Redis \(cache\) is not reachable at redis:\/\/127\.0\.0\.1:1\/11 \(connection refused\); the URL comes from REDIS_URL\. Start Redis/)
  })

  it('runs with every probe on the target and its live UI; Ctrl-C stops the load, writes the result and stops the target', async () => {
    // run from a folder outside the repository with the default, relative output folder, as a
    // user does: the Celery worker (which runs in its own folder) must still find its files
    const out = mkdtempSync(join(tmpdir(), 'loadlens-demo-cli-'))
    const webPort = await freePort()
    const { child, done } = startCli(['demo', '--run-time', '40s', '--ui', '--web-port', String(webPort)], { cwd: out })
    let stderr = ''
    let stdout = ''
    child.stderr!.on('data', (c: Buffer) => { stderr += c.toString() })
    child.stdout!.on('data', (c: Buffer) => { stdout += c.toString() })
    // the banner names both processes; then let the load and the probes run a few seconds
    const until = Date.now() + 60_000
    while (!/Celery\s+worker \S+ \(pid \d+/.test(stderr) && Date.now() < until) await sleep(100)
    const apiPid = Number(/API \(pid (\d+)\)/.exec(stderr)?.[1])
    const workerPid = Number(/worker \S+ \(pid (\d+)/.exec(stderr)?.[1])
    const queue = /queue (\S+)/.exec(stderr)?.[1]
    const brokerUrl = /broker (redis:\/\/\S+),/.exec(stderr)?.[1]
    // the broker is a redis-server of the demo's own, not a db of the cache's server
    const brokerPid = Number(/broker\s+private redis-server \(pid (\d+)\) on 127\.0\.0\.1:(\d+)/.exec(stderr)?.[1])
    expect(brokerUrl).toMatch(/^redis:\/\/127\.0\.0\.1:\d+\/0$/)
    expect(brokerUrl).not.toMatch(/:6379\//)
    expect(apiPid).toBeGreaterThan(0)
    expect(workerPid).toBeGreaterThan(0)
    expect(brokerPid).toBeGreaterThan(0)
    expect(alive(apiPid) && alive(workerPid) && alive(brokerPid)).toBe(true)
    await sleep(7000)
    // the live UI of the demo's run: the page, its requests and the probes on the target, /metrics
    expect(stdout).toContain(`Live UI: http://127.0.0.1:${webPort} `)
    const page = await fetch(`http://127.0.0.1:${webPort}/`)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('mluvme')
    const live = await (await fetch(`http://127.0.0.1:${webPort}/api/live`)).json() as { state: string; stats: { requests: number }; probes: Array<{ id: string; points: unknown[] }> }
    expect(live.state).toBe('running')
    expect(live.stats.requests).toBeGreaterThan(0)
    expect(live.probes.find(p => p.id === 'pg.server_connections')?.points.length).toBeGreaterThan(0)
    expect(live.probes.some(p => p.id.startsWith('redis.'))).toBe(true)
    // every user registers first (POST /api/v1/users)
    expect(await (await fetch(`http://127.0.0.1:${webPort}/metrics`)).text()).toMatch(/loadlens_requests_total\{[^}]*name="\/api\/v1\/users"[^}]*\} [1-9]/)
    child.kill('SIGINT')
    const r = await done
    expect(r.code).toBe(130)
    expect(r.stderr).not.toMatch(/internal error|at .*\.js:\d+/)

    // everything the demo started is gone, its broker too
    expect(alive(apiPid)).toBe(false)
    expect(alive(workerPid)).toBe(false)
    expect(alive(brokerPid)).toBe(false)
    // and the UI with them
    await expect(fetch(`http://127.0.0.1:${webPort}/api/live`)).rejects.toThrow()
    const broker = new Redis(brokerUrl!, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null })
    broker.on('error', () => {})
    try {
      await expect(broker.connect()).rejects.toThrow(/ECONNREFUSED|Connection is closed/)
    } finally {
      broker.disconnect()
    }

    const file = /Result: (\S+\.json)/.exec(r.stdout)?.[1]
    expect(file).toMatch(/^loadlens-results\//)
    expect(existsSync(join(out, file!))).toBe(true)
    const result = JSON.parse(readFileSync(join(out, file!), 'utf8')) as RunResult
    expect(result.meta.scenario).toBe('mluvme')
    expect(result.meta.profile).toBe('development')
    expect(result.meta.stopReason).toBe('interrupted')
    expect(result.totals.overall.requests).toBeGreaterThan(20)
    // every probe pointed at the demo target
    const status = Object.fromEntries(result.probes.status.map(s => [s.probe, s]))
    expect(status.pg?.target).toMatch(/\/loadlens_demo$/)
    // the API's sessions told from the worker's by the API process's sockets
    expect((status.pg?.facts as { attribution?: { method: string } } | undefined)?.attribution?.method).toBe('processes')
    expect(status.redis?.target).toMatch(/127\.0\.0\.1:6379\/11/)
    expect(status.celery?.target).toContain(queue!)
    expect(status.target?.target).toContain(String(apiPid))
    expect(status.logs?.target).toMatch(/mluvme-api-.*\.log/)
    for (const p of ['pg', 'redis', 'celery', 'target', 'logs']) expect(status[p]?.state, p).not.toBe('failed')
    expect(JSON.stringify(result)).not.toMatch(/postgres:[^@/]*:[^@]*@/)
    rmSync(out, { recursive: true, force: true })
  }, 90_000)
})
