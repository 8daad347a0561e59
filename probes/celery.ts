/**
 * Celery probe over the Redis broker (see celery-wire.ts for the protocol): each sample
 * broadcasts `active`, `reserved` and `stats` to every worker and reads the queues' depth.
 *   workers_online          workers that answered within the window
 *   active / reserved       tasks executing / prefetched, per worker
 *   concurrency             the worker's pool size (stats pool.max-concurrency)
 *   queue_depth             messages waiting in each queue (LLEN of the lists that exist)
 *   finished_per_s          tasks finished per second (stats totals less active tasks)
 *   succeeded_per_s, failed_per_s   from task events, when workers send them (-E)
 *
 * The reply window is 60 % of the interval (at most 1 s); once every worker known from the
 * last sample and from heartbeats has answered, the sample ends early. Every tenth sample
 * waits the whole window to find new workers.
 *
 * Keyspace lookups: when the broker is also a cache's Redis server, what the probe reads
 * would count in the cache's hit rate (INFO is server-wide). It makes no misses of its own
 * (lists that do not exist are not read), and records what it causes, its LLEN hits and its
 * workers' replies (one SMEMBERS hit each), in the session's LookupLedger, which the Redis
 * probe subtracts when it watches the same server.
 */
import type { Redis } from 'ioredis'
import { describeError } from '../shared/errors.js'
import { METRICS } from '../shared/metrics.js'
import { redactUrl } from '../shared/redact.js'
import { ProbeStartError } from './probe.js'
import type { Probe, Reading } from './probe.js'
import { probeRedis, redisFailure } from './redis.js'
import { brokerDb, decodeEnvelope, memoryRefused, queueDepths, RemoteControl } from './celery-wire.js'
import { redisServerKey } from './lookup-ledger.js'
import type { LookupCount, LookupLedger } from './lookup-ledger.js'
import type { ProcessRoles } from './process-roles.js'

const M = METRICS.celery
const DISCOVER_EVERY = 10

export interface CeleryProbeOptions {
  broker: string
  queues?: string[]
  intervalMs?: number
  /** where the keyspace lookups the probe causes are recorded (shared with the Redis probe of the session) */
  ledger?: LookupLedger
  /** where the workers' pids go (their stats replies name the worker and its pool's processes), for the pg probe */
  roles?: ProcessRoles
}

export class CeleryProbe implements Probe {
  readonly name = 'celery'
  readonly target: string
  readonly timeoutMs: number
  private readonly windowMs: number
  private readonly queues: string[]
  private readonly cmd: Redis
  private readonly blocking: Redis
  private readonly events: Redis
  private readonly rc: RemoteControl
  private readonly db: number
  private lastError = ''
  private lastErrorObject: unknown
  private samples = 0
  private lastRepliers = new Set<string>()
  private heartbeats = new Map<string, number>()
  private finishedBefore = new Map<string, number>()
  private lastAt = 0
  private taskEvents = false
  private succeeded = 0
  private failed = 0
  private workersSeen = new Map<string, { concurrency?: number; pool?: string; firstSeen: number; lastSeen: number }>()
  private peakDepth = new Map<string, number>()
  private readonly ledger?: LookupLedger
  private readonly roles?: ProcessRoles
  private readonly server: string
  /** find the queue lists that exist with MEMORY USAGE before reading them (off when the server refuses MEMORY) */
  private discover = true
  /** keyspace lookups caused over the run: LLEN hits and misses, the workers' reply lookups */
  private caused = { hits: 0, misses: 0, replies: 0 }

  constructor (o: CeleryProbeOptions) {
    this.target = `${redactUrl(o.broker)} (queues ${(o.queues?.length ? o.queues : ['celery']).join(', ')})`
    this.queues = o.queues?.length ? o.queues : ['celery']
    const interval = o.intervalMs ?? 1000
    this.windowMs = Math.min(1000, Math.max(100, interval * 0.6))
    this.timeoutMs = Math.min(interval * 0.95, this.windowMs + 400)
    this.cmd = probeRedis(o.broker, 'loadlens-celery-probe')
    this.blocking = probeRedis(o.broker, 'loadlens-celery-replies')
    this.events = probeRedis(o.broker, 'loadlens-celery-events')
    for (const c of [this.cmd, this.blocking, this.events]) c.on('error', (err: Error) => { this.lastError = describeError(err); this.lastErrorObject = err })
    this.db = brokerDb(o.broker)
    this.rc = new RemoteControl(this.cmd, this.blocking, this.db)
    this.ledger = o.ledger
    this.roles = o.roles
    this.server = redisServerKey(o.broker)
    this.ledger?.markBroker(this.server)
  }

  async start (): Promise<void> {
    try {
      await Promise.all([this.cmd.connect(), this.blocking.connect(), this.events.connect()])
      await this.cmd.ping()
    } catch (err) {
      this.disconnect()
      throw new ProbeStartError(`cannot connect to the Celery broker ${this.target}: ${redisFailure(err, this.lastErrorObject)}`, { cause: err })
    }
    this.events.on('pmessage', (_pattern: string, _channel: string, message: string) => this.onEvent(message))
    await this.events.psubscribe(`/${this.db}.celeryev/*`)
  }

  private onEvent (raw: string): void {
    let body
    try {
      body = decodeEnvelope(raw).body
    } catch {
      return
    }
    // a worker with an event loop buffers task events and sends them as a list (`task.multi`)
    for (const ev of Array.isArray(body) ? body : [body]) this.onOneEvent(ev)
  }

  private onOneEvent (ev: any): void {
    if (!ev || typeof ev !== 'object') return
    const type = String(ev.type ?? '')
    const host = String(ev.hostname ?? '')
    if (type === 'worker-heartbeat' || type === 'worker-online') this.heartbeats.set(host, Date.now())
    else if (type === 'worker-offline') this.heartbeats.delete(host)
    else if (type.startsWith('task-')) {
      this.taskEvents = true
      if (type === 'task-succeeded') this.succeeded++
      else if (type === 'task-failed') this.failed++
    }
  }

  private expected (): Set<string> | undefined {
    if (this.samples % DISCOVER_EVERY === 0) return undefined
    const out = new Set(this.lastRepliers)
    const now = Date.now()
    for (const [host, at] of this.heartbeats) if (now - at < 5000) out.add(host)
    return out.size ? out : undefined
  }

  async sample (now: number, signal: AbortSignal): Promise<Reading[]> {
    if (this.cmd.status !== 'ready' || this.blocking.status !== 'ready') throw new Error(this.lastError || `broker not connected (${this.cmd.status})`)
    const onAbort = (): void => { this.blocking.disconnect(true) }
    signal.addEventListener('abort', onAbort, { once: true })
    let replies
    let depths
    const received = this.rc.received
    const lookups: LookupCount = { hits: 0, misses: 0 }
    try {
      replies = await this.rc.broadcast(['active', 'reserved', 'stats'], { windowMs: this.windowMs, expect: this.expected() })
      depths = await this.readDepths(lookups)
    } finally {
      signal.removeEventListener('abort', onAbort)
      // made on the server whatever became of the sample
      this.account(lookups, this.rc.received - received)
    }
    this.samples++
    const active = replies.get('active')!
    const reserved = replies.get('reserved')!
    const stats = replies.get('stats')!
    const workers = new Set<string>([...active.keys(), ...reserved.keys(), ...stats.keys()])
    this.lastRepliers = workers
    const out: Reading[] = [{ metric: M.workersOnline, unit: 'count', value: workers.size }]
    const seconds = this.lastAt ? (now - this.lastAt) / 1000 : 0
    this.lastAt = now
    let finished = 0
    let finishedKnown = false
    for (const w of [...workers].sort()) {
      const a = active.get(w)
      const r = reserved.get(w)
      const s = stats.get(w) as any
      const nActive = Array.isArray(a) ? a.length : null
      if (nActive !== null) out.push({ metric: M.active, labels: { worker: w }, unit: 'count', value: nActive })
      if (Array.isArray(r)) out.push({ metric: M.reserved, labels: { worker: w }, unit: 'count', value: r.length })
      const conc = Number(s?.pool?.['max-concurrency'])
      if (Number.isFinite(conc)) out.push({ metric: M.concurrency, labels: { worker: w }, unit: 'count', value: conc })
      const seen = this.workersSeen.get(w) ?? { firstSeen: Math.floor(now / 1000), lastSeen: 0 }
      seen.lastSeen = Math.floor(now / 1000)
      if (Number.isFinite(conc)) seen.concurrency = conc
      if (s?.pool) seen.pool = 'processes' in s.pool ? 'prefork' : 'threads' in s.pool ? 'threads' : undefined
      if (s && this.roles) this.roles.addWorkers([Number(s.pid), ...(Array.isArray(s.pool?.processes) ? s.pool.processes.map(Number) : [])])
      this.workersSeen.set(w, seen)
      if (s && typeof s.total === 'object' && nActive !== null) {
        const total = Object.values(s.total as Record<string, number>).reduce((x, y) => x + Number(y), 0)
        const done = total - nActive
        const before = this.finishedBefore.get(w)
        this.finishedBefore.set(w, done)
        if (before !== undefined && done >= before && seconds > 0) {
          finished += done - before
          finishedKnown = true
        }
      }
    }
    out.push({ metric: M.finishedPerS, unit: 'per_s', value: finishedKnown ? finished / seconds : (workers.size === 0 && seconds > 0 ? 0 : null) })
    if (this.taskEvents && seconds > 0) {
      out.push({ metric: M.succeededPerS, unit: 'per_s', value: this.succeeded / seconds })
      out.push({ metric: M.failedPerS, unit: 'per_s', value: this.failed / seconds })
    }
    this.succeeded = 0
    this.failed = 0
    for (const [q, n] of depths) {
      out.push({ metric: M.queueDepth, labels: { queue: q }, unit: 'count', value: n })
      this.peakDepth.set(q, Math.max(this.peakDepth.get(q) ?? 0, n))
    }
    return out
  }

  private async readDepths (lookups: LookupCount): Promise<Map<string, number>> {
    if (this.discover) {
      try {
        return await queueDepths(this.cmd, this.queues, { lookups })
      } catch (err) {
        if (!memoryRefused(err)) throw err
        this.discover = false
      }
    }
    return queueDepths(this.cmd, this.queues, { discover: false, lookups })
  }

  private account (lookups: LookupCount, replies: number): void {
    this.caused.hits += lookups.hits
    this.caused.misses += lookups.misses
    this.caused.replies += replies
    this.ledger?.add(this.server, lookups.hits + replies, lookups.misses)
  }

  private disconnect (): void {
    for (const c of [this.cmd, this.blocking, this.events]) c.disconnect()
  }

  async stop (): Promise<void> {
    try {
      if (this.cmd.status === 'ready') await this.rc.close()
    } catch {
      // the broker is gone: nothing to clean
    }
    this.disconnect()
  }

  note (): string | undefined {
    const notes: string[] = []
    if (this.samples && !this.taskEvents) notes.push('no task events seen: start workers with -E (or worker_send_task_events = True) to count succeeded and failed tasks; finished_per_s counts both')
    if (this.samples && this.workersSeen.size === 0) notes.push('no worker answered the remote-control broadcast (is remote control disabled, or the broker a different database?)')
    return notes.length ? notes.join('; ') : undefined
  }

  facts (): Record<string, unknown> {
    return {
      workers: Object.fromEntries(this.workersSeen),
      queues: this.queues,
      peakQueueDepth: Object.fromEntries(this.peakDepth),
      taskEvents: this.taskEvents,
      replyWindowMs: this.windowMs,
      queueDepthRead: this.discover ? 'LLEN of the queue lists that exist (found with MEMORY USAGE, not a keyspace lookup)' : 'LLEN of every queue list (the server refuses MEMORY USAGE: lists that do not exist count as keyspace misses)',
      // what the probe made the broker's Redis server count in keyspace_hits / keyspace_misses
      keyspaceLookups: { llenHits: this.caused.hits, llenMisses: this.caused.misses, workerReplyHits: this.caused.replies }
    }
  }
}
