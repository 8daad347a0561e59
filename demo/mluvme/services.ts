/**
 * Checks that PostgreSQL and Redis answer before anything is started. When one does not,
 * the error says in one line which URL was tried, the env var that sets it and how to start
 * the service (HarnessError, exit 3).
 */
import pg from 'pg'
import { Redis } from 'ioredis'
import { DemoStartError, describeError } from '../../shared/errors.js'
import { redactUrl } from '../../shared/redact.js'
import type { ResolvedUrl } from './settings.js'

const TIMEOUT_MS = 3000

function why (err: unknown): string {
  const code = (err as { code?: string }).code
  if (code === 'ECONNREFUSED') return 'connection refused'
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host name does not resolve'
  if (code === 'ETIMEDOUT') return 'no answer'
  return describeError(err).split('\n')[0]!
}

/** Where the URL came from and how to change it. */
function setBy (r: ResolvedUrl, envNames: string[]): string {
  const vars = envNames.join(' or ')
  if (r.source === 'option') return `the URL was given as an option (env: ${vars})`
  if (r.source === 'default') return `the URL is the default; set ${vars} to use another server`
  return `the URL comes from ${r.source}`
}

export async function checkPostgres (r: ResolvedUrl, envNames: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: r.url, connectionTimeoutMillis: TIMEOUT_MS, application_name: 'loadlens-demo-check' })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.query('SELECT 1')
  } catch (err) {
    throw new DemoStartError(
      `PostgreSQL is not reachable at ${redactUrl(r.url)} (${why(err)}); ${setBy(r, envNames)}. ` +
      'Start PostgreSQL (e.g. `sudo service postgresql start`, or `docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:16`) and run again.',
      { cause: err }
    )
  } finally {
    await client.end().catch(() => {})
  }
}

export async function checkRedis (r: ResolvedUrl, envNames: string[], role: string): Promise<void> {
  const redis = new Redis(r.url, { lazyConnect: true, connectTimeout: TIMEOUT_MS, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false })
  let cause: unknown
  redis.on('error', (err) => { cause ??= err })
  try {
    await redis.connect()
    await redis.ping()
  } catch (err) {
    throw new DemoStartError(
      `Redis (${role}) is not reachable at ${redactUrl(r.url)} (${why(cause ?? err)}); ${setBy(r, envNames)}. ` +
      'Start Redis (e.g. `sudo service redis-server start`, or `docker run -d -p 6379:6379 redis:7`) and run again.',
      { cause: cause ?? err }
    )
  } finally {
    redis.disconnect()
  }
}
