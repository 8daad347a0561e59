/**
 * Where the demo target's services are and how the API process is configured. The launcher
 * resolves the service URLs from options and env, and hands the API process one
 * `TargetConfig` (as JSON in MLUVME_CONFIG).
 */
import type { Faults } from './faults.js'

/** The demo's own PostgreSQL database, created when missing. */
export const DEMO_DATABASE = 'loadlens_demo'
/** PostgreSQL application_name of the API's sessions (what the pg probe filters on). */
export const API_APPLICATION = 'mluvme-api'
/** PostgreSQL application_name of the worker's sessions. */
export const WORKER_APPLICATION = 'mluvme-worker'
/** The seed's default pool size: "PostgreSQL connection pool limit (default: 20)". */
export const HEALTHY_POOL_SIZE = 20
/** Cache TTL of the healthy target, seconds. */
export const HEALTHY_CACHE_TTL_S = 300
/** Redis database numbers used when a URL names none. */
export const CACHE_REDIS_DB = 11
export const BROKER_REDIS_DB = 12
/** The Celery task the API publishes. */
export const VOICE_TASK = 'mluvme.process_voice'

export const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/postgres'
export const DEFAULT_REDIS_URL = `redis://127.0.0.1:6379/${CACHE_REDIS_DB}`

/** Everything the API process needs, passed as JSON in the environment. */
export interface TargetConfig {
  /** 0 = a free port */
  port: number
  host: string
  /** the demo database's URL (server URL with the database set) */
  pgUrl: string
  poolSize: number
  /** a search_path for the sessions (the slow-query fault's schema first) */
  searchPath?: string
  redisUrl: string
  cacheTtlS: number
  /** 'celery': publish to the broker; 'in-process': a simulated worker inside the API process */
  jobs: 'celery' | 'in-process'
  brokerUrl?: string
  queue: string
  /** in-process worker: parallel tasks and task time override */
  workerConcurrency: number
  taskSeconds?: number
  faults: Faults
}

export type UrlSource = 'option' | string

/** A URL and where it came from: "option", the env var's name, or "default". */
export interface ResolvedUrl {
  url: string
  source: UrlSource
}

/** The first of: an option, then the env vars in order, then the default. */
export function resolveUrl (option: string | undefined, env: NodeJS.ProcessEnv, names: string[], fallback: string): ResolvedUrl {
  if (option) return { url: option, source: 'option' }
  for (const n of names) {
    const v = env[n]
    if (v && v.trim()) return { url: v.trim(), source: n }
  }
  return { url: fallback, source: 'default' }
}

/** The same URL with another database path (PostgreSQL) or db number (Redis). */
export function withPath (url: string, path: string): string {
  const u = new URL(url)
  u.pathname = `/${path}`
  return u.toString()
}

/** A Redis URL with the given db number when it names none. */
export function redisWithDefaultDb (url: string, db: number): string {
  const u = new URL(url)
  if (u.pathname === '' || u.pathname === '/') u.pathname = `/${db}`
  return u.toString()
}

