/**
 * Prometheus /metrics of a run (prom-client, in its own Registry, never the global one), so an
 * existing Prometheus/Grafana can watch a run:
 *   loadlens_info{scenario,profile,host,run_id} 1
 *   loadlens_running                       1 while the load runs
 *   loadlens_users                         running users (closed) or busy virtual users (open)
 *   loadlens_request_duration_seconds      histogram by {type,name}
 *   loadlens_requests_total                counter by {type,name}
 *   loadlens_request_failures_total        counter by {type,name,status,kind}
 *   loadlens_probe_<probe>_<metric>        the last value of every probe series, with its labels
 * Values are read at scrape time from the cumulative totals the load generator keeps (exact
 * HDR histograms, counted once even when worker threads report the same second), so the load
 * generator's hot path is untouched.
 */
import { Gauge, Registry } from 'prom-client'
import { decodeHistogram, eachBucket } from '../shared/hist.js'
import { redactText } from '../shared/redact.js'
import type { MetricsSource } from './live.js'

/** request duration buckets, seconds */
export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

interface Value { labels: Record<string, string | number>; value: number; metricName?: string }

/** A metric family computed at scrape time (prom-client formats and escapes it). */
class Family {
  constructor (readonly name: string, readonly help: string, readonly type: 'counter' | 'gauge' | 'histogram', private readonly compute: () => Value[]) {}
  get (): { name: string; help: string; type: string; values: Value[]; aggregator: 'sum' } {
    // label values come from the scenario, the target and the probes (URLs, query texts): never a secret
    const values = this.compute().map(v => ({ ...v, labels: Object.fromEntries(Object.entries(v.labels ?? {}).map(([k, x]) => [k, redactText(String(x))])) }))
    return { name: this.name, help: this.help, type: this.type, values, aggregator: 'sum' }
  }

  reset (): void {}
}

export function metricName (s: string): string {
  const n = s.replace(/[^a-zA-Z0-9_:]/g, '_').replace(/_+/g, '_')
  return /^[a-zA-Z_:]/.test(n) ? n : `_${n}`
}

export function labelName (s: string): string {
  const n = s.replace(/[^a-zA-Z0-9_]/g, '_')
  const ok = /^[a-zA-Z_]/.test(n) ? n : `_${n}`
  return ok.startsWith('__') ? `x${ok}` : ok
}

/** Cumulative bucket counts of an HDR histogram (us) at the bounds (s). */
function bucketCounts (encoded: string, boundsS: number[]): { counts: number[]; total: number } {
  const h = decodeHistogram(encoded)
  const counts = new Array<number>(boundsS.length).fill(0)
  const total = h.totalCount
  eachBucket(h, (us, n) => {
    for (let i = 0; i < boundsS.length; i++) if (us <= boundsS[i]! * 1e6) counts[i]! += n
  })
  h.destroy()
  return { counts, total }
}

export class RunMetrics {
  readonly registry = new Registry()

  constructor (private readonly source: () => MetricsSource | undefined) {
    const src = source
    this.registry.registerMetric(new Family('loadlens_info', 'The run being measured (value 1).', 'gauge', () => {
      const s = src()
      if (!s) return []
      const i = s.metricsInfo()
      return [{ labels: { scenario: i.scenario, profile: i.profile ?? '', host: i.host, run_id: i.runId ?? '' }, value: 1 }]
    }) as never)
    this.registry.registerMetric(new Gauge({
      name: 'loadlens_running',
      help: '1 while the load runs, 0 before and after.',
      registers: [],
      collect () { const s = src(); this.set(s && ['starting', 'running', 'stopping'].includes(s.metricsInfo().state) ? 1 : 0) }
    }))
    this.registry.registerMetric(new Gauge({
      name: 'loadlens_users',
      help: 'Running users (closed model) or busy virtual users (open model).',
      registers: [],
      collect () { this.set(src()?.users() ?? 0) }
    }))
    this.registry.registerMetric(new Family('loadlens_request_duration_seconds', 'Response time of the requests, by request type and name.', 'histogram', () => {
      const out: Value[] = []
      for (const e of src()?.totals().entries ?? []) {
        const labels = { type: e.type, name: e.name }
        const { counts, total } = bucketCounts(e.hist, DURATION_BUCKETS)
        DURATION_BUCKETS.forEach((b, i) => out.push({ metricName: 'loadlens_request_duration_seconds_bucket', labels: { ...labels, le: b }, value: counts[i]! }))
        out.push({ metricName: 'loadlens_request_duration_seconds_bucket', labels: { ...labels, le: '+Inf' }, value: total })
        out.push({ metricName: 'loadlens_request_duration_seconds_sum', labels, value: e.sumUs / 1e6 })
        out.push({ metricName: 'loadlens_request_duration_seconds_count', labels, value: total })
      }
      return out
    }) as never)
    this.registry.registerMetric(new Family('loadlens_requests_total', 'Requests made, by request type and name (failures included).', 'counter', () =>
      (src()?.totals().entries ?? []).map(e => ({ labels: { type: e.type, name: e.name }, value: e.requests }))) as never)
    this.registry.registerMetric(new Family('loadlens_request_failures_total', 'Failed requests by type, name, status (HTTP status, or the failure kind) and kind.', 'counter', () => {
      const sums = new Map<string, Value>()
      for (const g of src()?.totals().errors ?? []) {
        const labels = { type: g.type, name: g.name, status: g.status !== undefined ? String(g.status) : g.kind, kind: g.kind }
        const k = JSON.stringify(labels)
        const v = sums.get(k)
        if (v) v.value += g.count
        else sums.set(k, { labels, value: g.count })
      }
      return [...sums.values()]
    }) as never)
    this.probeFamilies = new Map()
  }

  private probeFamilies: Map<string, Family>

  /** Probe gauges appear as their series appear. */
  private syncProbes (): void {
    const series = this.source()?.series() ?? []
    for (const s of series) {
      const name = metricName(`loadlens_probe_${s.probe}_${s.metric}`)
      if (this.probeFamilies.has(name)) continue
      const probe = s.probe
      const metric = s.metric
      const fam = new Family(name, `${s.description ?? `${s.probe}.${s.metric}`} (${s.unit}; the last value sampled)`, 'gauge', () => {
        const out: Value[] = []
        for (const x of this.source()?.series() ?? []) {
          if (x.probe !== probe || x.metric !== metric) continue
          // the last sample: a series whose probe is in a gap (its last point null) is not
          // exported, rather than its last good value passed off as current
          const lastPoint = x.points[x.points.length - 1]
          const last = lastPoint ? lastPoint[1] : null
          if (last === null || !Number.isFinite(last)) continue
          const labels: Record<string, string> = {}
          for (const [k, v] of Object.entries(x.labels ?? {})) labels[labelName(k)] = v
          out.push({ labels, value: last })
        }
        return out
      })
      this.probeFamilies.set(name, fam)
      this.registry.registerMetric(fam as never)
    }
  }

  async text (): Promise<string> {
    this.syncProbes()
    return this.registry.metrics()
  }

  get contentType (): string {
    return this.registry.contentType
  }
}
