/**
 * Celery's broadcast remote control (what `celery inspect active` does) spoken directly over
 * a Redis broker, with kombu's Redis transport conventions, so no Python is needed here:
 *
 * - A command is a JSON body {method, arguments, destination, pattern, matcher, ticket,
 *   reply_to: {exchange: "reply.celery.pidbox", routing_key: <oid>}} wrapped in kombu's
 *   envelope (body base64-encoded, headers {clock, expires}, properties with delivery_info),
 *   PUBLISHed on the fanout channel `/<db>.celery.pidbox`, which every worker PSUBSCRIBEs.
 * - Workers answer through the direct exchange `reply.celery.pidbox`: kombu looks up the
 *   binding set `_kombu.binding.reply.celery.pidbox` (members "routing_key\x06\x16pattern
 *   \x06\x16queue") and LPUSHes the reply envelope ({"<worker>": result}, header `ticket`)
 *   to the bound queue, a Redis list we BRPOP.
 * - Events (`-E`, and worker heartbeats always) are PUBLISHed on `/<db>.celeryev/<type>`.
 * - A queue's depth is the LLEN of its list plus its priority lists `<queue>\x06\x16<3|6|9>`;
 *   lists that do not exist are left out first (MEMORY USAGE), as their LLEN is a keyspace miss.
 * - Each reply costs the worker one SMEMBERS of the reply binding (kombu looks up the direct
 *   exchange's table before every publish): a keyspace hit on the broker's server.
 *
 * The binding member is added before every broadcast (a restarted broker forgets it) and
 * removed, with the reply list, when the probe stops.
 */
import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { LookupCount } from './lookup-ledger.js'

export const SEP = '\x06\x16'
export const PRIORITY_STEPS = [0, 3, 6, 9]

export interface Envelope {
  body: string
  'content-encoding': string
  'content-type': string
  headers: Record<string, unknown>
  properties: {
    delivery_mode?: number
    delivery_info: { exchange: string; routing_key: string }
    priority: number
    body_encoding: string
    delivery_tag: string
  }
}

/** The database number of a redis:// URL (its path), as kombu reads it. */
export function brokerDb (url: string): number {
  try {
    const db = new URL(url).pathname.replace(/^\//, '')
    return db && /^\d+$/.test(db) ? Number(db) : 0
  } catch {
    return 0
  }
}

export function encodeEnvelope (body: unknown, headers: Record<string, unknown>, exchange: string, routingKey: string): string {
  const env: Envelope = {
    body: Buffer.from(JSON.stringify(body), 'utf8').toString('base64'),
    'content-encoding': 'utf-8',
    'content-type': 'application/json',
    headers,
    properties: {
      delivery_mode: 1,
      delivery_info: { exchange, routing_key: routingKey },
      priority: 0,
      body_encoding: 'base64',
      delivery_tag: randomUUID()
    }
  }
  return JSON.stringify(env)
}

/** The body and headers of a kombu message; throws on what is not one. */
export function decodeEnvelope (raw: string): { body: any; headers: Record<string, any> } {
  const env = JSON.parse(raw) as Envelope
  let text = env.body
  if (env.properties?.body_encoding === 'base64') text = Buffer.from(text, 'base64').toString('utf8')
  if (env['content-type'] && env['content-type'] !== 'application/json') throw new Error(`unsupported content type ${env['content-type']} (loadlens reads JSON-serialized messages only)`)
  return { body: JSON.parse(text), headers: env.headers ?? {} }
}

/** Per method, the replies by worker name. */
export type Replies = Map<string, Map<string, unknown>>

export interface BroadcastOptions {
  /** longest wait for replies */
  windowMs: number
  /** stop early once every one of these workers answered every method */
  expect?: Set<string>
}

export class RemoteControl {
  readonly oid = randomUUID()
  private clock = 0
  readonly replyQueue: string
  /** replies taken from the reply list so far (each cost its worker one SMEMBERS of the binding) */
  received = 0
  private readonly bindingKey: string
  private readonly bindingMember: string

  constructor (
    private readonly cmd: Redis,
    private readonly blocking: Redis,
    private readonly db: number,
    private readonly namespace = 'celery'
  ) {
    const replyExchange = `reply.${namespace}.pidbox`
    this.replyQueue = `${this.oid}.${replyExchange}`
    this.bindingKey = `_kombu.binding.${replyExchange}`
    this.bindingMember = [this.oid, '', this.replyQueue].join(SEP)
  }

  get channel (): string {
    return `/${this.db}.${this.namespace}.pidbox`
  }

  /** Sends each method to every worker and collects the replies until the window closes. */
  async broadcast (methods: string[], o: BroadcastOptions): Promise<Replies> {
    const started = Date.now()
    await this.cmd.sadd(this.bindingKey, this.bindingMember)
    const byTicket = new Map<string, string>()
    const replies: Replies = new Map()
    for (const method of methods) {
      const ticket = randomUUID()
      byTicket.set(ticket, method)
      replies.set(method, new Map())
      const body = {
        method,
        arguments: {},
        destination: null,
        pattern: null,
        matcher: null,
        ticket,
        reply_to: { exchange: `reply.${this.namespace}.pidbox`, routing_key: this.oid }
      }
      const headers = { clock: ++this.clock, expires: (Date.now() + o.windowMs) / 1000 }
      await this.cmd.publish(this.channel, encodeEnvelope(body, headers, `${this.namespace}.pidbox`, ''))
    }
    const complete = (): boolean => {
      if (!o.expect || o.expect.size === 0) return false
      for (const m of replies.values()) for (const w of o.expect) if (!m.has(w)) return false
      return true
    }
    while (!complete()) {
      const left = o.windowMs - (Date.now() - started)
      if (left <= 5) break
      const r = await this.blocking.brpop(this.replyQueue, Math.max(0.01, left / 1000))
      if (!r) break
      this.received++
      let msg
      try {
        msg = decodeEnvelope(r[1])
      } catch {
        continue
      }
      const method = byTicket.get(String(msg.headers.ticket))
      // a late reply to an earlier broadcast: not this one's
      if (!method || !msg.body || typeof msg.body !== 'object') continue
      for (const [worker, result] of Object.entries(msg.body)) replies.get(method)!.set(worker, result)
    }
    return replies
  }

  /** removes the binding and the reply list */
  async close (): Promise<void> {
    await this.cmd.srem(this.bindingKey, this.bindingMember)
    await this.cmd.del(this.replyQueue, ...PRIORITY_STEPS.filter(p => p).map(p => `${this.replyQueue}${SEP}${p}`))
  }
}

/** The lists of a queue: its own and its priority lists. */
export function queueLists (queue: string): string[] {
  return PRIORITY_STEPS.map(p => p ? `${queue}${SEP}${p}` : queue)
}

export interface QueueDepthOptions {
  /** find the lists that exist first, with MEMORY USAGE (default true) */
  discover?: boolean
  /** counts the keyspace lookups the reads made, by outcome, as Redis counts them */
  lookups?: LookupCount
}

/**
 * Messages waiting in each queue (its list and its priority lists). Redis counts an LLEN of a
 * list that does not exist as a keyspace miss (and the priority lists usually do not exist),
 * so with `discover` the lists that exist are found first with MEMORY USAGE, which Redis does
 * not count as a lookup, and only those are read (a hit each). Without it (for a server that
 * refuses MEMORY) every list is read. An empty list does not exist in Redis: LLEN 0 was a miss.
 */
export async function queueDepths (cmd: Redis, queues: string[], o: QueueDepthOptions = {}): Promise<Map<string, number>> {
  const lists = queues.flatMap(queueLists)
  const counted = o.lookups ?? { hits: 0, misses: 0 }
  let read = lists
  if (o.discover ?? true) {
    const pipe = cmd.pipeline()
    for (const key of lists) pipe.call('MEMORY', 'USAGE', key, 'SAMPLES', '1')
    const res = await pipe.exec()
    read = lists.filter((_key, i) => {
      const [err, v] = res![i]!
      if (err) throw err
      return v !== null
    })
  }
  const lengths = new Map<string, number>()
  if (read.length) {
    const pipe = cmd.pipeline()
    for (const key of read) pipe.llen(key)
    const res = await pipe.exec()
    let failed: Error | null = null
    read.forEach((key, i) => {
      const [err, v] = res![i]!
      // a key of another type (WRONGTYPE) was found: a hit
      if (err) { counted.hits++; failed ??= err; return }
      if (Number(v) > 0) counted.hits++
      else counted.misses++
      lengths.set(key, Number(v))
    })
    if (failed) throw failed
  }
  const out = new Map<string, number>()
  for (const q of queues) out.set(q, queueLists(q).reduce((n, key) => n + (lengths.get(key) ?? 0), 0))
  return out
}

/** The MEMORY command is refused (unknown, renamed away, or not allowed by an ACL): read every list instead. */
export function memoryRefused (err: unknown): boolean {
  const text = String((err as Error)?.message ?? err)
  return /unknown command|NOPERM|no permissions|unknown subcommand/i.test(text) && !/WRONGTYPE/.test(text)
}
