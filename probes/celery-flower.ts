/**
 * Celery probe through Flower's HTTP API (--celery-flower URL), for brokers loadlens cannot
 * speak to directly. Each sample reads Flower's Prometheus `/metrics` (worker online,
 * executing and prefetched tasks, task event counters: succeeded and failed per second) and
 * `/api/queues/length` (queue depth); `/api/workers` (Flower's cached inspect results) gives
 * each worker's pool size, refreshed every 30 s. Same series as the broker probe.
 * Flower 2 needs auth or FLOWER_UNAUTHENTICATED_API=true; basic-auth credentials in the URL
 * are sent as an Authorization header.
 */
import { request } from 'undici'
import { describeError } from '../shared/errors.js'
import { METRICS } from '../shared/metrics.js'
import { redactUrl } from '../shared/redact.js'
import { ProbeStartError, Rates } from './probe.js'
import type { Probe, Reading } from './probe.js'
import { parseExposition } from './prometheus.js'

const M = METRICS.celery

export class CeleryFlowerProbe implements Probe {
  readonly name = 'celery'
  readonly target: string
  readonly timeoutMs?: number
  private readonly base: URL
  private readonly auth: string | undefined
  private readonly rates = new Rates()
  private concurrency = new Map<string, number>()
  private workersAt = 0

  constructor (url: string, private readonly queues?: string[], timeoutMs?: number) {
    this.target = `Flower ${redactUrl(url)}`
    const u = new URL(url)
    this.auth = u.username ? 'Basic ' + Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64') : undefined
    u.username = ''
    u.password = ''
    if (!u.pathname.endsWith('/')) u.pathname += '/'
    this.base = u
    this.timeoutMs = timeoutMs
  }

  private async get (path: string): Promise<string> {
    const res = await request(new URL(path, this.base), {
      headers: { accept: 'application/json, text/plain', ...(this.auth ? { authorization: this.auth } : {}) },
      headersTimeout: 2000,
      bodyTimeout: 2000
    })
    const text = await res.body.text()
    if (res.statusCode === 401 || res.statusCode === 403) throw new Error(`HTTP ${res.statusCode}: Flower wants credentials (put them in the URL, or run Flower with FLOWER_UNAUTHENTICATED_API=true)`)
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode} for ${path}`)
    return text
  }

  private async refreshWorkers (): Promise<void> {
    const workers = JSON.parse(await this.get('api/workers')) as Record<string, any>
    for (const [name, w] of Object.entries(workers)) {
      const c = Number(w?.stats?.pool?.['max-concurrency'] ?? w?.concurrency)
      if (Number.isFinite(c)) this.concurrency.set(name, c)
    }
    this.workersAt = Date.now()
  }

  async start (): Promise<void> {
    try {
      await this.get('metrics')
      await this.refreshWorkers()
    } catch (err) {
      throw new ProbeStartError(`--celery-flower ${redactUrl(this.base.href)}: ${describeError(err)}`, { cause: err })
    }
  }

  async sample (now: number): Promise<Reading[]> {
    if (Date.now() - this.workersAt > 30_000) await this.refreshWorkers().catch(() => {})
    const [metricsText, queuesText] = await Promise.all([this.get('metrics'), this.get('api/queues/length')])
    const rows = parseExposition(metricsText)
    const online = new Set<string>()
    const active = new Map<string, number>()
    const reserved = new Map<string, number>()
    let succeeded = 0
    let failed = 0
    for (const r of rows) {
      const w = r.labels.worker
      if (r.name === 'flower_worker_online' && w && r.value === 1) online.add(w)
      else if (r.name === 'flower_worker_number_of_currently_executing_tasks' && w) active.set(w, r.value)
      else if (r.name === 'flower_worker_prefetched_tasks' && w) reserved.set(w, (reserved.get(w) ?? 0) + r.value)
      else if (r.name === 'flower_events_total' && r.labels.type === 'task-succeeded') succeeded += r.value
      else if (r.name === 'flower_events_total' && r.labels.type === 'task-failed') failed += r.value
    }
    const out: Reading[] = [{ metric: M.workersOnline, unit: 'count', value: online.size }]
    for (const w of [...online].sort()) {
      out.push({ metric: M.active, labels: { worker: w }, unit: 'count', value: active.get(w) ?? 0 })
      out.push({ metric: M.reserved, labels: { worker: w }, unit: 'count', value: reserved.get(w) ?? 0 })
      const c = this.concurrency.get(w)
      if (c !== undefined) out.push({ metric: M.concurrency, labels: { worker: w }, unit: 'count', value: c })
    }
    out.push({ metric: M.succeededPerS, unit: 'per_s', value: this.rates.rate('succeeded', succeeded, now) })
    out.push({ metric: M.failedPerS, unit: 'per_s', value: this.rates.rate('failed', failed, now) })
    const queues = (JSON.parse(queuesText) as { active_queues?: Array<{ name: string; messages: number }> }).active_queues ?? []
    for (const q of queues) {
      if (this.queues?.length && !this.queues.includes(q.name)) continue
      out.push({ metric: M.queueDepth, labels: { queue: q.name }, unit: 'count', value: Number(q.messages) })
    }
    return out
  }

  async stop (): Promise<void> {}

  facts (): Record<string, unknown> {
    return { source: 'flower', concurrency: Object.fromEntries(this.concurrency) }
  }
}
