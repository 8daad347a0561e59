/**
 * The demo target's HTTP API, a small stand-in for the Mluv.Me backend the seed describes:
 *
 *   POST /api/v1/users                          register (JSON) -> 201 new, 200 known telegram_id
 *   GET  /api/v1/users/:id                      profile (Redis cache, TTL)
 *   GET  /api/v1/users/:id/stats                aggregates over the user's messages
 *   GET  /api/v1/users/:id/saved-words          saved words (Redis cache, TTL)
 *   GET  /api/v1/users/:id/streak-calendar      messages per day over 5 weeks, current streak
 *   POST /api/v1/voice/process                  multipart (user_id, text_hint, audio WAV) -> 202 {job_id};
 *                                               checks the user's messages today (daily allowance) first
 *   GET  /api/v1/voice/jobs/:id                 the job: queued | processing | done (+ correction) | failed
 *   GET  /health, /metrics (Prometheus), /debug/stats (counters the tests read)
 *
 * Like a FastAPI app with a session dependency, a request takes a PostgreSQL connection at its
 * first query and keeps it until the request is completely done, which includes the activity
 * event recorded after the response was sent (users.last_seen_at or the job's poll count,
 * then a call to the analytics service, 80-160 ms): so every request holds a connection for
 * a while after its client has the answer. That costs the client nothing while the pool has
 * room, and is what a pool too small turns into waiting. Every /users/:id request looks the
 * user up through the cache first (authentication), so a working cache keeps most reads off
 * the database. Each fault toggle changes exactly one thing (see faults.ts).
 */
import { randomBytes, randomUUID } from 'node:crypto'
import express from 'express'
import type { NextFunction, Request, Response } from 'express'
import busboy from 'busboy'
import pg from 'pg'
import type { Redis } from 'ioredis'
import client from 'prom-client'
import { faultValue } from './faults.js'
import type { TargetConfig } from './settings.js'
import type { Logger } from './log.js'
import { traceback } from './log.js'
import type { VoiceJob } from './inprocess.js'

export const LEVELS = ['A1', 'A2', 'B1', 'B2', 'C1', 'C2']
export const CORRECTION_STYLES = ['gentle', 'balanced', 'strict']
export const NATIVE_LANGUAGES = ['en', 'ru', 'uk', 'de', 'pl', 'vi', 'es', 'fr']
/** the leak fault keeps at most this much, so a long run cannot exhaust the machine */
export const LEAK_CAP_BYTES = 1024 * 2 ** 20
/** voice messages a user may send a day (generous: a load test never reaches it) */
export const DAILY_VOICE_LIMIT = 100_000

/** Where voice jobs go: Celery through the broker, or the in-process worker. */
export interface JobSink {
  readonly kind: 'celery' | 'in-process'
  publish (job: VoiceJob): Promise<void>
  close (): Promise<void>
}

export interface ApiDeps {
  config: TargetConfig
  pool: pg.Pool
  cache: Redis
  jobs: JobSink
  log: Logger
}

/** Counters for /debug/stats (the tests read them; nothing here is needed to serve). */
export interface Counters {
  requests: number
  registered: number
  reRegistered: number
  uploads: number
  wavAccepted: number
  wavRejected: number
  jobsPublished: number
  injectedErrors: number
  serverErrors: number
  cacheHits: number
  cacheMisses: number
  leakedBytes: number
  /** connection checkouts that had to wait for a free connection */
  poolWaits: number
  poolWaitMsMax: number
  poolCheckouts: number
}

class HttpError extends Error {
  constructor (readonly status: number, message: string) {
    super(message)
  }
}

/** A failure the `errors` fault injects, shaped like the real backend's upstream errors. */
class UpstreamServiceError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'UpstreamServiceError'
  }
}

const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms))
const between = (lo: number, hi: number): number => lo + Math.random() * (hi - lo)

/** Spins the event loop for `ms` of CPU time (the cpu fault). */
function burnCpu (ms: number): number {
  const end = performance.now() + ms
  let x = 0
  while (performance.now() < end) for (let i = 0; i < 2000; i++) x += Math.sqrt(i + x)
  return x
}

/** The request's database session: a pooled connection taken at the first query, released when the response ends. */
class Session {
  private pending?: Promise<pg.PoolClient>
  private broken = false

  constructor (private readonly pool: pg.Pool, private readonly counters: Counters) {}

  connection (): Promise<pg.PoolClient> {
    if (!this.pending) {
      const t0 = performance.now()
      const mustWait = this.pool.idleCount === 0 && this.pool.totalCount >= (this.pool.options.max ?? 10)
      this.counters.poolCheckouts++
      this.pending = this.pool.connect().then((c) => {
        const waited = performance.now() - t0
        if (mustWait || waited > 5) {
          this.counters.poolWaits++
          this.counters.poolWaitMsMax = Math.max(this.counters.poolWaitMsMax, waited)
        }
        return c
      })
    }
    return this.pending
  }

  async query<R extends pg.QueryResultRow = any> (text: string, params?: unknown[]): Promise<pg.QueryResult<R>> {
    const c = await this.connection()
    try {
      return await c.query<R>(text, params)
    } catch (err) {
      this.broken = true
      throw err
    }
  }

  release (): void {
    const p = this.pending
    this.pending = undefined
    // a connection left inside a failed transaction is not given back to the pool
    p?.then(c => c.release(this.broken ? true : undefined), () => {})
  }
}

declare module 'express-serve-static-core' {
  interface Request {
    db: Session
    /** what the activity event after the response records */
    activity?: { user?: number; job?: string }
  }
}

function isWav (b: Buffer): boolean {
  return b.length >= 44 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WAVE' && b.toString('latin1', 12, 16) === 'fmt '
}

function userIdParam (req: Request): number {
  const id = Number(req.params.id)
  if (!Number.isInteger(id) || id <= 0 || id > 2_147_483_647) throw new HttpError(400, 'user id must be a positive integer')
  return id
}

interface Profile {
  id: number
  telegram_id: string
  username: string | null
  first_name: string | null
  level: string
  correction_style: string
  native_language: string
  created_at: string
}

export interface Api {
  app: express.Express
  counters: Counters
  registry: client.Registry
  leaked: Array<{ at: number; path: string; payload: string }>
  /** waits (bounded) until no request and no activity event holds a session */
  drain (timeoutMs: number): Promise<void>
}

export function createApi (deps: ApiDeps): Api {
  const { config, pool, cache, jobs, log } = deps
  const faults = config.faults
  const cacheOff = faults['cache-off'] !== undefined
  const ttl = faultValue(faults, 'cache-ttl') ?? config.cacheTtlS
  const leakKb = faultValue(faults, 'leak')
  const cpuMs = faultValue(faults, 'cpu')
  const errorShare = faultValue(faults, 'errors')
  const idleTxMs = faultValue(faults, 'idle-tx')

  const counters: Counters = {
    requests: 0, registered: 0, reRegistered: 0, uploads: 0, wavAccepted: 0, wavRejected: 0, jobsPublished: 0,
    injectedErrors: 0, serverErrors: 0, cacheHits: 0, cacheMisses: 0, leakedBytes: 0, poolWaits: 0, poolWaitMsMax: 0, poolCheckouts: 0
  }
  const leaked: Api['leaked'] = []

  // ---- Prometheus metrics (the metrics probe reads /metrics)
  const registry = new client.Registry()
  client.collectDefaultMetrics({ register: registry })
  new client.Gauge({
    name: 'mluvme_db_pool_connections',
    help: 'PostgreSQL pool connections by state',
    labelNames: ['state'],
    registers: [registry],
    collect () {
      this.set({ state: 'total' }, pool.totalCount)
      this.set({ state: 'idle' }, pool.idleCount)
      this.set({ state: 'waiting' }, pool.waitingCount)
    }
  })
  new client.Gauge({ name: 'mluvme_db_pool_max', help: 'PostgreSQL pool size', registers: [registry], collect () { this.set(config.poolSize) } })
  new client.Gauge({ name: 'mluvme_leaked_bytes', help: 'bytes kept by the leak fault', registers: [registry], collect () { this.set(counters.leakedBytes) } })
  const httpRequests = new client.Counter({ name: 'mluvme_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'], registers: [registry] })
  const httpDuration = new client.Histogram({ name: 'mluvme_http_request_duration_seconds', help: 'HTTP request duration by route', labelNames: ['route'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [registry] })
  const cacheLookups = new client.Counter({ name: 'mluvme_cache_lookups_total', help: 'Redis cache lookups by result', labelNames: ['result'], registers: [registry] })
  const jobsPublished = new client.Counter({ name: 'mluvme_jobs_published_total', help: 'voice jobs queued', registers: [registry] })

  // ---- the cache: lookups always go to Redis; cache-off stores nothing, cache-ttl shortens the TTL
  let cacheWarned = 0
  const cacheDown = (err: unknown): void => {
    if (Date.now() - cacheWarned > 10_000) { cacheWarned = Date.now(); log('WARNING', `Redis cache unavailable, reading from PostgreSQL: ${(err as Error).message}`) }
  }
  async function cached<T> (key: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
    try {
      const hit = await cache.get(key)
      if (hit !== null) {
        counters.cacheHits++
        cacheLookups.inc({ result: 'hit' })
        return JSON.parse(hit) as T
      }
    } catch (err) { cacheDown(err) }
    counters.cacheMisses++
    cacheLookups.inc({ result: 'miss' })
    const value = await load()
    if (value !== undefined) await store(key, value)
    return value
  }
  async function store (key: string, value: unknown): Promise<void> {
    if (cacheOff) return
    try { await cache.set(key, JSON.stringify(value), 'EX', ttl) } catch (err) { cacheDown(err) }
  }

  const userKey = (id: number): string => `mluvme:user:${id}`
  const wordsKey = (id: number): string => `mluvme:words:${id}`

  const PROFILE_SQL = 'SELECT id, telegram_id::text AS telegram_id, username, first_name, level, correction_style, native_language, created_at FROM users WHERE id = $1'

  /** authentication: the user behind /users/:id, through the cache */
  async function loadUser (req: Request, id: number): Promise<Profile> {
    const user = await cached<Profile>(userKey(id), async () => (await req.db.query<Profile>(PROFILE_SQL, [id])).rows[0])
    if (!user) throw new HttpError(404, `no user ${id}`)
    req.activity = { user: id }
    return user
  }

  /** a call to another service (object storage, analytics) while the request holds its session */
  const externalCall = (lo: number, hi: number): Promise<void> => sleep(between(lo, hi))

  /** idle-tx: runs `fn` in a transaction that stays open across an external call */
  async function heldTransaction<T> (req: Request, fn: () => Promise<T>): Promise<T> {
    await req.db.query('BEGIN')
    const out = await fn()
    await externalCall(idleTxMs! * 0.5, idleTxMs! * 1.5)
    await req.db.query('COMMIT')
    return out
  }

  /** After the response: record the activity, then tell the analytics service, still on the request's session. */
  async function recordActivity (req: Request): Promise<void> {
    const a = req.activity
    if (!a) return
    const write = (): Promise<unknown> => a.user !== undefined
      ? req.db.query('UPDATE users SET last_seen_at = now() WHERE id = $1', [a.user])
      : req.db.query('UPDATE voice_jobs SET polls = polls + 1 WHERE id = $1', [a.job])
    if (idleTxMs !== undefined) {
      await heldTransaction(req, write)
    } else {
      await write()
      await externalCall(80, 160)
    }
  }

  const app = express()
  app.disable('x-powered-by')
  app.set('etag', false)

  app.get('/health', (_req, res) => {
    res.json({ ok: true, pid: process.pid, jobs: jobs.kind, faults, pool: { max: config.poolSize, total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount } })
  })
  app.get('/metrics', async (_req, res) => {
    res.set('content-type', registry.contentType)
    res.send(await registry.metrics())
  })
  app.get('/debug/stats', (_req, res) => {
    res.json({ ...counters, pool: { max: config.poolSize, total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }, leakedChunks: leaked.length })
  })

  // ---- per-request: session, counters, and the process-level faults
  let busy = 0
  app.use('/api', (req, res, next) => {
    counters.requests++
    busy++
    const t0 = performance.now()
    req.db = new Session(pool, counters)
    res.once('close', () => {
      const route = req.route?.path ? `/api${String(req.route.path)}` : 'unmatched'
      httpRequests.inc({ method: req.method, route, status: String(res.statusCode) })
      httpDuration.observe({ route }, (performance.now() - t0) / 1000)
      const done = res.statusCode < 400 ? recordActivity(req) : Promise.resolve()
      done.catch((err: Error) => log('ERROR', `recording the activity of ${req.method} ${req.originalUrl} failed: ${err.message}`))
        .finally(() => { req.db.release(); busy-- })
    })
    if (leakKb !== undefined && counters.leakedBytes < LEAK_CAP_BYTES) {
      // a request context kept in a list nobody empties: leakKb KB of string on the V8 heap
      leaked.push({ at: Date.now(), path: req.originalUrl, payload: randomBytes(leakKb * 512).toString('hex') })
      counters.leakedBytes += leakKb * 1024
      if (counters.leakedBytes >= LEAK_CAP_BYTES) log('WARNING', `the leak fault stopped at ${LEAK_CAP_BYTES / 2 ** 20} MB to protect the machine`)
    }
    if (cpuMs !== undefined) burnCpu(cpuMs)
    if (errorShare !== undefined && Math.random() * 100 < errorShare) {
      counters.injectedErrors++
      next(new UpstreamServiceError(`speech service answered 502 Bad Gateway (injected by the errors fault, ${errorShare}% of requests)`))
      return
    }
    next()
  })

  const api = express.Router()

  api.post('/v1/users', express.json({ limit: '16kb' }), async (req, res) => {
    const b = (req.body ?? {}) as Record<string, unknown>
    const telegramId = typeof b.telegram_id === 'number' || typeof b.telegram_id === 'string' ? String(b.telegram_id) : ''
    if (!/^[1-9]\d{0,18}$/.test(telegramId)) throw new HttpError(400, 'telegram_id must be a positive integer')
    const level = String(b.level ?? 'A1')
    const style = String(b.correction_style ?? 'balanced')
    const lang = String(b.native_language ?? 'en')
    if (!LEVELS.includes(level)) throw new HttpError(400, `level must be one of ${LEVELS.join(', ')}`)
    if (!CORRECTION_STYLES.includes(style)) throw new HttpError(400, `correction_style must be one of ${CORRECTION_STYLES.join(', ')}`)
    if (!NATIVE_LANGUAGES.includes(lang)) throw new HttpError(400, `native_language must be one of ${NATIVE_LANGUAGES.join(', ')}`)
    const r = await req.db.query<Profile & { inserted: boolean }>(
      `INSERT INTO users (telegram_id, username, first_name, level, correction_style, native_language)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (telegram_id) DO UPDATE SET last_seen_at = now()
       RETURNING id, telegram_id::text AS telegram_id, username, first_name, level, correction_style, native_language, created_at, (xmax = 0) AS inserted`,
      [telegramId, b.username ?? null, b.first_name ?? null, level, style, lang])
    const { inserted, ...profile } = r.rows[0]!
    if (inserted) counters.registered++
    else counters.reRegistered++
    // write-through: the new user's profile and (empty) word list are cached at once
    await store(userKey(profile.id), profile)
    if (inserted) await store(wordsKey(profile.id), [])
    req.activity = { user: profile.id }
    res.status(inserted ? 201 : 200).json(profile)
  })

  api.get('/v1/users/:id', async (req, res) => {
    res.json(await loadUser(req, userIdParam(req)))
  })

  api.get('/v1/users/:id/stats', async (req, res) => {
    const id = userIdParam(req)
    await loadUser(req, id)
    const s = await req.db.query(
      `SELECT count(*)::int AS messages, coalesce(sum(words), 0)::int AS words_spoken,
              coalesce(round(avg(score)::numeric, 1), 0)::float AS average_score, coalesce(sum(mistakes), 0)::int AS mistakes,
              count(DISTINCT (created_at AT TIME ZONE 'UTC')::date)::int AS active_days, max(created_at) AS last_message_at
       FROM messages WHERE user_id = $1`, [id])
    const w = await req.db.query('SELECT count(*)::int AS n FROM saved_words WHERE user_id = $1', [id])
    res.json({ user_id: id, ...s.rows[0], saved_words: w.rows[0].n })
  })

  api.get('/v1/users/:id/saved-words', async (req, res) => {
    const id = userIdParam(req)
    await loadUser(req, id)
    const words = await cached(wordsKey(id), async () => (await req.db.query(
      "SELECT word, translation, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS saved_on FROM saved_words WHERE user_id = $1 ORDER BY created_at DESC LIMIT 50", [id])).rows)
    res.json({ user_id: id, words })
  })

  api.get('/v1/users/:id/streak-calendar', async (req, res) => {
    const id = userIdParam(req)
    await loadUser(req, id)
    const r = await req.db.query<{ day: string; messages: number }>(
      `SELECT to_char(date_trunc('day', created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day, count(*)::int AS messages
       FROM messages WHERE user_id = $1 AND created_at >= now() - interval '35 days' GROUP BY 1 ORDER BY 1`, [id])
    const active = new Set(r.rows.map(x => x.day))
    let streak = 0
    const d = new Date()
    if (!active.has(d.toISOString().slice(0, 10))) d.setUTCDate(d.getUTCDate() - 1)
    while (active.has(d.toISOString().slice(0, 10))) { streak++; d.setUTCDate(d.getUTCDate() - 1) }
    res.json({ user_id: id, current_streak: streak, days: r.rows })
  })

  api.post('/v1/voice/process', async (req, res) => {
    counters.uploads++
    const { fields, audio } = await readUpload(req)
    if (!audio) throw new HttpError(400, 'multipart field "audio" (a WAV file) is required')
    if (!isWav(audio)) { counters.wavRejected++; throw new HttpError(415, 'audio must be a WAV file (RIFF/WAVE)') }
    counters.wavAccepted++
    const userId = Number(fields.user_id)
    if (!Number.isInteger(userId) || userId <= 0) throw new HttpError(400, 'user_id must be a positive integer')
    const user = await loadUser(req, userId)
    // the daily allowance of voice messages (the AI provider is paid per message)
    const today = await req.db.query<{ n: number }>("SELECT count(*)::int AS n FROM messages WHERE user_id = $1 AND created_at >= date_trunc('day', now())", [userId])
    const sentToday = today.rows[0]!.n
    if (sentToday >= DAILY_VOICE_LIMIT) throw new HttpError(429, `daily limit of ${DAILY_VOICE_LIMIT} voice messages reached`)
    const jobId = randomUUID()
    const insert = (): Promise<unknown> => req.db.query(
      "INSERT INTO voice_jobs (id, user_id, status, audio_bytes, text_hint) VALUES ($1, $2, 'queued', $3, $4)",
      [jobId, userId, audio.length, (fields.text_hint ?? '').slice(0, 500)])
    if (idleTxMs !== undefined) {
      // idle-tx: the audio goes to object storage while the job's transaction is still open
      await heldTransaction(req, insert)
    } else {
      await insert()
      await externalCall(60, 140) // object storage PUT of the audio, session still held
    }
    await jobs.publish({ jobId, userId, audioBytes: audio.length, textHint: fields.text_hint ?? '', settings: { level: user.level, correction_style: user.correction_style, native_language: user.native_language } })
    counters.jobsPublished++
    jobsPublished.inc()
    res.status(202).json({ job_id: jobId, status: 'queued', messages_today: sentToday + 1 })
  })

  api.get('/v1/voice/jobs/:jobId', async (req, res) => {
    const jobId = String(req.params.jobId)
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(jobId)) throw new HttpError(400, 'job id must be a UUID')
    const r = await req.db.query('SELECT id AS job_id, status, transcript, corrected, mistakes, score, error FROM voice_jobs WHERE id = $1', [jobId])
    if (r.rowCount === 0) throw new HttpError(404, `no job ${jobId}`)
    req.activity = { job: jobId }
    const job = r.rows[0]
    if (job.status !== 'done') { delete job.transcript; delete job.corrected; delete job.mistakes; delete job.score }
    if (job.status !== 'failed') delete job.error
    res.json(job)
  })

  app.use('/api', api)
  app.use('/api', (_req, _res, next) => { next(new HttpError(404, 'not found')) })

  // ---- errors: 4xx answered plainly; anything else is logged with a traceback and answered 500
  let windowErrors = 0
  let windowRequests = 0
  let lastRequests = 0
  const errorWatch = setInterval(() => {
    windowRequests = counters.requests - lastRequests
    lastRequests = counters.requests
    if (windowErrors > 0 && windowErrors / Math.max(1, windowRequests) >= 0.02) {
      log('CRITICAL', `error rate ${(100 * windowErrors / Math.max(1, windowRequests)).toFixed(1)}% over the last 5 s (${windowErrors} of ${windowRequests} requests failed)`)
    }
    windowErrors = 0
  }, 5000)
  errorWatch.unref()

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof HttpError) {
      res.status(err.status).json({ error: err.message })
      return
    }
    const status = (err as { status?: number }).status
    if (typeof status === 'number' && status >= 400 && status < 500) {
      res.status(status).json({ error: (err as Error).message })
      return
    }
    counters.serverErrors++
    windowErrors++
    const e = err instanceof Error ? err : new Error(String(err))
    log('ERROR', `unhandled exception in ${req.method} ${req.originalUrl}\n${traceback(e)}`)
    if (!res.headersSent) res.status(500).json({ error: 'internal server error' })
  })

  const drain = async (timeoutMs: number): Promise<void> => {
    const until = Date.now() + timeoutMs
    while (busy > 0 && Date.now() < until) await sleep(20)
  }

  return { app, counters, registry, leaked, drain }
}

/** Reads a multipart upload (busboy): the text fields and the `audio` file, bounded in size. */
function readUpload (req: Request): Promise<{ fields: Record<string, string>; audio?: Buffer }> {
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy
    try {
      bb = busboy({ headers: req.headers, limits: { fileSize: 2 * 1024 * 1024, files: 1, fields: 10, fieldSize: 4096 } })
    } catch {
      reject(new HttpError(400, 'expected a multipart/form-data body'))
      return
    }
    const fields: Record<string, string> = {}
    let audio: Buffer | undefined
    let tooBig = false
    bb.on('field', (name, value) => { fields[name] = value })
    bb.on('file', (name, stream) => {
      const chunks: Buffer[] = []
      stream.on('data', (c: Buffer) => chunks.push(c))
      stream.on('limit', () => { tooBig = true })
      stream.on('end', () => { if (name === 'audio') audio = Buffer.concat(chunks) })
    })
    bb.on('error', (err) => reject(new HttpError(400, `bad multipart body: ${(err as Error).message}`)))
    bb.on('close', () => tooBig ? reject(new HttpError(413, 'audio larger than 2 MB')) : resolve({ fields, audio }))
    req.pipe(bb)
  })
}
