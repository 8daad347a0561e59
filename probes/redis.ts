/**
 * Redis probe: what `redis-cli INFO stats` shows by hand, as per-second deltas on the run's
 * clock: keyspace hits and misses and the hit rate of each interval (null when nothing was
 * looked up) and over the run, commands per second, connected and blocked clients, used
 * memory (maxmemory in the facts), evicted, expired and rejected per second; plus the PING
 * round trip. INFO counters are server-wide: every client of the server counts. The keyspace
 * lookups other probes of the session caused on the same server (the Celery probe's, when the
 * broker shares the cache's server), recorded in the session's LookupLedger, are subtracted
 * from each interval's hits and misses (clamped at 0). Misses on Celery's keys (a result backend
 * polled for unfinished tasks, its queues) are told apart by key-miss events where the server
 * allows them (redis-key-misses.ts) and left out too.
 *
 * ioredis reconnects by itself; while it is disconnected commands fail at once (no offline
 * queue), so a sample during an outage is a gap, never a wait.
 */
import { Redis } from 'ioredis'
import { describeError } from '../shared/errors.js'
import { METRICS } from '../shared/metrics.js'
import { redactUrl } from '../shared/redact.js'
import { ProbeStartError, Rates } from './probe.js'
import type { Probe, Reading } from './probe.js'
import { redisServerKey } from './lookup-ledger.js'
import type { LookupLedger } from './lookup-ledger.js'
import { KeyMissWatch } from './redis-key-misses.js'
import { rejectAfter, within } from '../shared/wait.js'

const M = METRICS.redis

export function parseInfo (text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith('#')) continue
    const i = line.indexOf(':')
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1)
  }
  return out
}

/** how long start() waits for the server's first answer */
const START_TIMEOUT_MS = 5000

/**
 * Why a Redis connection failed, in words: ioredis's connect() only says "Connection is
 * closed." whatever happened; the reason is in the error the client emitted before.
 */
export function redisFailure (err: unknown, emitted?: unknown): string {
  const e = (emitted ?? err) as { code?: string; message?: string }
  const text = `${e?.code ?? ''} ${e?.message ?? String(emitted ?? err)}`
  if (/ECONNREFUSED/.test(text)) return 'connection refused: nothing listens there'
  if (/the server accepted the connection but did not answer/.test(text)) return 'timed out: the server accepted the connection but did not answer'
  if (/ETIMEDOUT|connect timeout|timed out/i.test(text)) return 'timed out: no answer'
  if (/ENOTFOUND|EAI_AGAIN/.test(text)) return 'the host name does not resolve'
  if (/WRONGPASS|NOAUTH|invalid password|invalid username-password|without any password configured|AUTH failed/i.test(text)) return `authentication failed (${(e?.message ?? '').trim()})`
  if (/SSL|TLS|certificate|EPROTO|ERR_TLS/i.test(text)) return `TLS failed (${(e?.message ?? '').trim()})`
  return describeError(emitted ?? err)
}

/** A Redis client for probes: no offline queue, no retries inside a command, reconnects in the background. */
export function probeRedis (url: string, name: string): Redis {
  return new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 3000,
    // a server that accepts the connection and never answers fails a command, not the probe loop
    commandTimeout: 3000,
    connectionName: name,
    retryStrategy: (times) => Math.min(250 * 2 ** Math.min(times, 6), 5000)
  })
}

export interface RedisProbeOptions {
  /** keyspace lookups other probes of the session made on Redis servers, left out of the hit rate */
  ledger?: LookupLedger
  /** Celery's queue names (the Celery probe's), whose misses are Celery's, not the cache's */
  celeryQueues?: string[]
  /** tell Celery's misses from the app's by key-miss events (default true; see redis-key-misses.ts) */
  keyMisses?: boolean
}

export class RedisProbe implements Probe {
  readonly name = 'redis'
  readonly target: string
  private client: Redis
  private readonly rates = new Rates()
  private lastError = ''
  private lastErrorObject: unknown
  /** sums of the per-interval increases over the run */
  private run = { hits: 0, misses: 0, evicted: 0, expired: 0, samples: 0 }
  private lastHits: number | null = null
  private info: Record<string, string> = {}
  private uptimeAtStart: number | null = null
  private restarted = false
  private readonly server: string
  /** lookups of other probes left out over the run */
  private leftOut = { hits: 0, misses: 0 }
  /** Celery's misses told apart by key-miss events, when the server allows them */
  private keyMisses: KeyMissWatch | null = null
  private keyMissesWhy: string | null = null
  private celeryMissesLeftOut = 0

  constructor (private readonly url: string, private readonly o: RedisProbeOptions = {}) {
    this.target = redactUrl(url)
    this.server = redisServerKey(url)
    this.client = probeRedis(url, 'loadlens-probe')
    this.client.on('error', (err: Error) => { this.lastError = describeError(err); this.lastErrorObject = err })
  }

  async start (): Promise<void> {
    try {
      await rejectAfter(this.client.connect(), START_TIMEOUT_MS, 'timed out: the server accepted the connection but did not answer')
      this.info = parseInfo(await this.client.info())
    } catch (err) {
      this.client.disconnect()
      let why = redisFailure(err, this.lastErrorObject ?? (/Connection is closed/.test(String((err as Error)?.message)) ? undefined : err))
      if (/^timed out/.test(why) && /^rediss:/i.test(this.url)) why += ' (rediss:// speaks TLS: does the server?)'
      throw new ProbeStartError(`cannot connect to ${this.target}: ${why}`, { cause: err })
    }
    this.uptimeAtStart = Number(this.info.uptime_in_seconds ?? NaN)
    if (this.o.keyMisses !== false) {
      const watch = new KeyMissWatch(this.client, probeRedis(this.url, 'loadlens-probe-keymiss'), this.o.celeryQueues ?? [])
      this.keyMissesWhy = await watch.start()
      if (this.keyMissesWhy === null) this.keyMisses = watch
    }
  }

  async sample (now: number): Promise<Reading[]> {
    if (this.client.status !== 'ready') throw new Error(this.lastError || `not connected (${this.client.status})`)
    const t0 = performance.now()
    await this.client.ping()
    const pingMs = performance.now() - t0
    const info = parseInfo(await this.client.info())
    this.info = info
    const n = (k: string): number => Number(info[k] ?? NaN)
    const counters = {
      hits: n('keyspace_hits'),
      misses: n('keyspace_misses'),
      // the probe's own PING and INFO are commands too
      commands: n('total_commands_processed'),
      evicted: n('evicted_keys'),
      expired: n('expired_keys'),
      rejected: n('rejected_connections')
    }
    // the server restarted or its stats were reset
    if (this.lastHits !== null && counters.hits < this.lastHits) this.restarted = true
    this.lastHits = counters.hits
    const hits = this.rates.delta('hits', counters.hits, now)
    const misses = this.rates.delta('misses', counters.misses, now)
    // less what other probes of the session looked up on this server meanwhile
    const others = this.o.ledger?.total(this.server)
    if (others) {
      const h = this.rates.delta('othersHits', others.hits, now)
      const m = this.rates.delta('othersMisses', others.misses, now)
      if (hits && h) this.leftOut.hits += this.discount(hits, h.delta)
      // (with key-miss events, the other probes' misses, all on Celery's keys, are among Celery's below)
      if (misses && m && !this.keyMisses) this.leftOut.misses += this.discount(misses, m.delta)
    }
    // less Celery's misses (its result backend polled for unfinished tasks, its queues), told apart by key
    let celeryMisses: { delta: number; seconds: number } | null = null
    if (this.keyMisses) {
      celeryMisses = this.rates.delta('celeryMisses', this.keyMisses.total().celery, now)
      if (misses && celeryMisses) this.celeryMissesLeftOut += this.discount(misses, celeryMisses.delta)
    }
    const commands = this.rates.delta('commands', counters.commands, now)
    const lookups = hits && misses ? hits.delta + misses.delta : null
    const evicted = this.rates.delta('evicted', counters.evicted, now)
    const expired = this.rates.delta('expired', counters.expired, now)
    if (hits && misses) {
      this.run.hits += hits.delta
      this.run.misses += misses.delta
    }
    this.run.evicted += evicted?.delta ?? 0
    this.run.expired += expired?.delta ?? 0
    this.run.samples++
    const out: Reading[] = [
      { metric: M.hitRate, unit: 'ratio', value: lookups ? hits!.delta / lookups : null },
      { metric: M.hitsPerS, unit: 'per_s', value: hits ? hits.delta / hits.seconds : null },
      { metric: M.missesPerS, unit: 'per_s', value: misses ? misses.delta / misses.seconds : null },
      { metric: M.opsPerS, unit: 'per_s', value: commands ? Math.max(0, commands.delta - 2) / commands.seconds : null },
      // less the probe's own connection
      { metric: M.connectedClients, unit: 'count', value: Math.max(0, n('connected_clients') - 1) },
      { metric: M.blockedClients, unit: 'count', value: n('blocked_clients') },
      { metric: M.usedMemory, unit: 'bytes', value: n('used_memory') },
      { metric: M.evictedPerS, unit: 'per_s', value: evicted ? evicted.delta / evicted.seconds : null },
      { metric: M.expiredPerS, unit: 'per_s', value: expired ? expired.delta / expired.seconds : null },
      { metric: M.rejectedPerS, unit: 'per_s', value: this.rates.rate('rejected', counters.rejected, now) },
      { metric: M.pingMs, unit: 'ms', value: Math.round(pingMs * 1000) / 1000 }
    ]
    if (this.keyMisses) out.push({ metric: M.celeryMissesPerS, unit: 'per_s', value: celeryMisses ? celeryMisses.delta / celeryMisses.seconds : null })
    return out
  }

  /** takes `n` off an interval's increase, at most all of it; returns what was taken */
  private discount (d: { delta: number }, n: number): number {
    const taken = Math.min(d.delta, n)
    d.delta -= taken
    return taken
  }

  async stop (): Promise<void> {
    // the server's notification setting goes back to what it was before the client goes
    if (this.keyMisses) await within(this.keyMisses.stop(), 2000)
    this.client.disconnect()
  }

  facts (): Record<string, unknown> {
    const i = this.info
    const f: Record<string, unknown> = {
      redisVersion: i.redis_version,
      maxmemory: i.maxmemory !== undefined ? Number(i.maxmemory) : undefined,
      maxmemoryPolicy: i.maxmemory_policy,
      usedMemoryPeak: i.used_memory_peak !== undefined ? Number(i.used_memory_peak) : undefined,
      uptimeAtStartS: this.uptimeAtStart ?? undefined
    }
    if (this.run.samples) {
      const { hits, misses } = this.run
      f.hitsOverRun = hits
      f.missesOverRun = misses
      f.hitRateOverRun = hits + misses > 0 ? hits / (hits + misses) : null
      f.evictedOverRun = this.run.evicted
      f.expiredOverRun = this.run.expired
    }
    if (this.restarted) f.restartedDuringRun = true
    if (this.o.ledger?.isBroker(this.server)) f.sharedWithBroker = true
    if (this.leftOut.hits || this.leftOut.misses) f.lookupsLeftOut = { ...this.leftOut, by: 'the Celery probe on this server (its queue-length reads and the workers\' replies to it)' }
    f.keyMisses = this.keyMisses ? 'by key' : `server-wide only: ${this.keyMissesWhy ?? 'key-miss events not asked for'}`
    if (this.keyMisses) f.keyMissesHow = `key-miss events${this.keyMisses.changedConfig ? ', switched on for the run and switched back' : ''}: the hit rate leaves out ${this.celeryMissesLeftOut} misses on Celery's keys (its result backend, its queues)${this.leftOut.hits ? ` and ${this.leftOut.hits} hits the Celery probe caused` : ''}; Celery's hits still count`
    if (this.keyMisses) f.celeryMissesLeftOut = this.celeryMissesLeftOut
    for (const k of Object.keys(f)) if (f[k] === undefined) delete f[k]
    return f
  }

  note (): string | undefined {
    const notes: string[] = []
    if (this.uptimeAtStart !== null && this.uptimeAtStart < 60) notes.push(`the server had been up ${this.uptimeAtStart} s when the run started: a cold cache lowers the hit rate`)
    if (this.restarted) notes.push('the server restarted (or its stats were reset) during the run: run totals count from then on')
    // (with Celery's misses told apart by key the counters are the cache's: nothing to warn of;
    // the facts say what was left out)
    if (!this.keyMisses && (this.leftOut.hits || this.leftOut.misses)) {
      notes.push(`this server is also the Celery broker: the hit rate leaves out the ${this.leftOut.hits} hits and ${this.leftOut.misses} misses the Celery probe caused; the workers' and producers' own broker lookups and other clients of the server still count (a broker on a Redis server of its own keeps the cache's hit rate clean)`)
    }
    if (this.keyMissesWhy && this.o.ledger?.isBroker(this.server)) notes.push(`Celery's misses could not be told from the cache's: ${this.keyMissesWhy}`)
    return notes.length ? notes.join('; ') : undefined
  }
}
