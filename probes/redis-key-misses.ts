/**
 * Whose keyspace misses: Redis counts keyspace_hits and keyspace_misses for the whole server,
 * and a server that is also Celery's broker or result backend counts Celery's lookups too. A
 * Celery result backend in particular misses on every poll of a task that has not finished
 * (GET celery-task-meta-<id>), so an app that polls its jobs makes a healthy cache look bad.
 *
 * Redis (6 and later) can publish an event for each miss with the key's name (keyspace
 * notifications, flag `m` with `E`: channel __keyevent@<db>__:keymiss). This watch switches
 * those events on for the run when they are off (CONFIG SET notify-keyspace-events, adding
 * `Em` to what is set; the previous value is put back at the end), subscribes, and counts the
 * misses on Celery's keys apart: its result backend (celery-task-meta-*, celery-taskset-meta-*,
 * chord-unlock*), kombu's bindings and bookkeeping (_kombu.*, unacked*), the queues given to
 * the Celery probe and Celery's default queue. A server that refuses CONFIG (a managed Redis,
 * an ACL without it) keeps the server-wide counters, and the probe says so.
 */
import type { Redis } from 'ioredis'
import { describeError } from '../shared/errors.js'

/** the flags the watch needs in notify-keyspace-events: keyevent channels, key-miss events */
const NEEDED = ['E', 'm']

/** Is `key` one of Celery's (its result backend, kombu's bookkeeping, a queue)? */
export function celeryKey (key: string, queues: readonly string[] = []): boolean {
  if (/^celery-task(set)?-meta-|^chord-unlock|^_kombu\.|^unacked(_index|_mutex)?$/.test(key)) return true
  // a queue, or one of its priority lists (name + "\x06\x16" + priority)
  for (const q of [...queues, 'celery']) if (key === q || key.startsWith(`${q}\x06\x16`)) return true
  return /\.reply\.celery\.pidbox$|^celeryev\b/.test(key)
}

export interface KeyMissCounts {
  /** misses on Celery's keys */
  celery: number
  /** every other miss: the app's */
  other: number
}

export class KeyMissWatch {
  private readonly counts: KeyMissCounts = { celery: 0, other: 0 }
  /** the server's setting before the watch changed it (restored at stop); null when it was left as it was */
  private previous: string | null = null
  private switched = false
  private subscribed = false

  /**
   * @param admin a connected client that may run CONFIG
   * @param subscriber a client for the subscription only (a subscribed connection runs nothing else)
   */
  constructor (private readonly admin: Redis, private readonly subscriber: Redis, private readonly queues: readonly string[]) {}

  /** null when misses are told apart from now on, else why not (one sentence) */
  async start (): Promise<string | null> {
    let current: string
    try {
      const got = await this.admin.call('CONFIG', 'GET', 'notify-keyspace-events') as string[]
      current = String(got?.[1] ?? '')
    } catch (err) {
      return `the server does not let this client read its configuration (${describeError(err)})`
    }
    const missing = NEEDED.filter(f => !current.includes(f))
    if (missing.length) {
      try {
        await this.admin.call('CONFIG', 'SET', 'notify-keyspace-events', current + missing.join(''))
        this.previous = current
        this.switched = true
      } catch (err) {
        return `the server does not let this client switch on key-miss events (${describeError(err)})`
      }
    }
    try {
      this.subscriber.on('pmessage', (_pattern: string, _channel: string, key: string) => {
        if (celeryKey(key, this.queues)) this.counts.celery++
        else this.counts.other++
      })
      await this.subscriber.connect()
      await this.subscriber.psubscribe('__keyevent@*__:keymiss')
      this.subscribed = true
    } catch (err) {
      await this.stop()
      return `could not subscribe to the key-miss events (${describeError(err)})`
    }
    return null
  }

  /** misses counted so far (counters that only grow) */
  total (): KeyMissCounts {
    return { ...this.counts }
  }

  get active (): boolean {
    return this.subscribed
  }

  /** whether the watch switched the events on (and puts, or put, the setting back at stop) */
  get changedConfig (): boolean {
    return this.switched
  }

  async stop (): Promise<void> {
    this.subscribed = false
    this.subscriber.disconnect()
    if (this.previous !== null) {
      const previous = this.previous
      this.previous = null
      await this.admin.call('CONFIG', 'SET', 'notify-keyspace-events', previous).catch(() => {})
    }
  }
}
