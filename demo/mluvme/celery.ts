/**
 * Publishing a Celery task from TypeScript, without Python: the task message in Celery's
 * message protocol v2 (headers carry the task name and id; the body is the JSON triple
 * [args, kwargs, embed]) inside the envelope kombu's Redis transport keeps in a queue's
 * list (body base64-encoded, delivery_info naming exchange and routing key). Publishing to a
 * queue through the default exchange is an LPUSH on the list named like the queue; workers
 * take messages from the other end (BRPOP), so the list is first in, first out.
 */
import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import type { Redis } from 'ioredis'

/** A Python-style repr of JSON values, for the argsrepr/kwargsrepr headers (shown by `inspect`). */
export function pyRepr (value: unknown): string {
  if (value === null || value === undefined) return 'None'
  if (value === true) return 'True'
  if (value === false) return 'False'
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'None'
  if (typeof value === 'string') return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`
  if (typeof value === 'object') return `{${Object.entries(value).map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`).join(', ')}}`
  return pyRepr(String(value))
}

export interface TaskMessage {
  id: string
  /** the JSON string pushed on the queue's list */
  payload: string
}

/** Builds the Redis-transport envelope of one task message (protocol v2, JSON serializer). */
export function celeryTaskMessage (task: string, args: unknown[], kwargs: Record<string, unknown>, queue: string, id: string = randomUUID()): TaskMessage {
  const argsTuple = pyRepr(args).replace(/^\[/, '(').replace(/\]$/, args.length === 1 ? ',)' : ')')
  const body = JSON.stringify([args, kwargs, { callbacks: null, errbacks: null, chain: null, chord: null }])
  const envelope = {
    body: Buffer.from(body, 'utf8').toString('base64'),
    'content-encoding': 'utf-8',
    'content-type': 'application/json',
    headers: {
      lang: 'py',
      task,
      id,
      shadow: null,
      eta: null,
      expires: null,
      group: null,
      group_index: null,
      retries: 0,
      timelimit: [null, null],
      root_id: id,
      parent_id: null,
      argsrepr: argsTuple,
      kwargsrepr: pyRepr(kwargs),
      origin: `gen${process.pid}@${hostname()}`,
      ignore_result: true
    },
    properties: {
      correlation_id: id,
      reply_to: randomUUID(),
      delivery_mode: 2,
      delivery_info: { exchange: '', routing_key: queue },
      priority: 0,
      body_encoding: 'base64',
      delivery_tag: randomUUID()
    }
  }
  return { id, payload: JSON.stringify(envelope) }
}

/** Publishes a task to `queue` on the broker; resolves with the task id. */
export async function publishTask (broker: Redis, task: string, args: unknown[], kwargs: Record<string, unknown>, queue: string, id?: string): Promise<string> {
  const msg = celeryTaskMessage(task, args, kwargs, queue, id)
  await broker.lpush(queue, msg.payload)
  return msg.id
}
