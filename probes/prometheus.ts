/**
 * Prometheus endpoint probe: scrapes the target's `/metrics` (text exposition format) every
 * interval and keeps the series the user selects (`--target-metric NAME`, `*` as a wildcard)
 * plus the process series when the endpoint has them (process_resident_memory_bytes as
 * bytes, process_cpu_seconds_total as percent of one core), and `metrics.up` (1 when the
 * scrape answered, 0 when it did not).
 *
 * Parsing is done by parse-prometheus-text-format. That package folds labelled histograms and
 * summaries into one unlabelled sample, so their TYPE lines are dropped before parsing: their
 * `_sum`, `_count` and `_bucket` samples then come through as plain samples with their labels,
 * and a selected histogram or summary gives `<name>_mean` (sum/count of the interval) and
 * `<name>_count` (observations per second) per label set. Counters (TYPE counter, or a name
 * ending in `_total`) become rates per second; gauges are kept as they are.
 */
import { request } from 'undici'
import parsePrometheus from 'parse-prometheus-text-format'
import { METRICS } from '../shared/metrics.js'
import { redactUrl } from '../shared/redact.js'
import { describeError } from '../shared/errors.js'
import type { Unit } from '../shared/types.js'
import { ProbeStartError, Rates } from './probe.js'
import type { Probe, Reading } from './probe.js'

const MAX_SERIES = 200
const RSS = 'process_resident_memory_bytes'
const CPU = 'process_cpu_seconds_total'

export interface PromSampleRow { name: string; labels: Record<string, string>; value: number; type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped' }

/** Every sample of an exposition, with histogram and summary samples kept apart and labelled. */
export function parseExposition (text: string): PromSampleRow[] {
  const folded = new Map<string, 'histogram' | 'summary'>()
  const kept: string[] = []
  for (const line of text.split('\n')) {
    const m = /^#\s*TYPE\s+(\S+)\s+(histogram|summary|gaugehistogram)\s*$/.exec(line)
    if (m) {
      folded.set(m[1]!, m[2] === 'summary' ? 'summary' : 'histogram')
      continue
    }
    if (line.startsWith('# EOF')) continue
    kept.push(line)
  }
  const rows: PromSampleRow[] = []
  for (const fam of parsePrometheus(kept.join('\n'))) {
    const base = fam.name.replace(/_(sum|count|bucket)$/, '')
    const type = folded.get(base) ?? (fam.type.toLowerCase() as PromSampleRow['type'])
    for (const s of fam.metrics) {
      if (s.value === undefined) continue
      const value = s.value === '+Inf' ? Infinity : s.value === '-Inf' ? -Infinity : Number(s.value)
      rows.push({ name: fam.name, labels: s.labels ?? {}, value, type })
    }
  }
  return rows
}

function unitOf (name: string): Unit {
  if (/_bytes$/.test(name)) return 'bytes'
  if (/_seconds$/.test(name)) return 's'
  if (/_ratio$/.test(name)) return 'ratio'
  if (/_percent$/.test(name)) return 'percent'
  return 'count'
}

function globMatcher (patterns: string[]): (name: string) => boolean {
  const res = patterns.map(p => new RegExp('^' + p.split('*').map(x => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$'))
  return (name) => res.some(r => r.test(name))
}

function labelKey (labels: Record<string, string>): string {
  return Object.keys(labels).sort().map(k => `${k}=${labels[k]}`).join(',')
}

export interface PrometheusProbeOptions {
  url: string
  select?: string[]
  timeoutMs?: number
}

export class PrometheusProbe implements Probe {
  readonly name = 'metrics'
  readonly target: string
  private readonly rates = new Rates()
  private readonly selected: (name: string) => boolean
  private readonly known = new Set<string>()
  private dropped = 0
  private seenSelected = new Set<string>()
  private scrapes = 0

  constructor (private readonly o: PrometheusProbeOptions) {
    this.target = redactUrl(o.url)
    this.selected = globMatcher(o.select ?? [])
  }

  private async scrape (): Promise<string> {
    const ms = this.o.timeoutMs ?? 800
    const res = await request(this.o.url, {
      headers: { accept: 'text/plain;version=0.0.4;q=0.9,*/*;q=0.1', 'user-agent': 'loadlens-probe' },
      headersTimeout: ms,
      bodyTimeout: ms
    })
    const body = await res.body.text()
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode} from ${this.target}`)
    return body
  }

  async start (): Promise<void> {
    let text: string
    try {
      text = await this.scrape()
      parseExposition(text)
    } catch (err) {
      throw new ProbeStartError(`--target-metrics ${this.target}: ${describeError(err)}`, { cause: err })
    }
  }

  async sample (now: number): Promise<Reading[]> {
    const rows = parseExposition(await this.scrape())
    this.scrapes++
    const out: Reading[] = [{ metric: METRICS.metrics.up, unit: 'count', value: 1 }]
    const hist = new Map<string, { base: string; labels: Record<string, string>; sum?: number; count?: number }>()
    for (const r of rows) {
      if (r.name === RSS) {
        out.push({ metric: RSS, labels: nonEmpty(r.labels), unit: 'bytes', value: r.value })
        continue
      }
      if (r.name === CPU) {
        const rate = this.rates.rate(`${CPU}{${labelKey(r.labels)}}`, r.value, now)
        out.push({ metric: 'process_cpu', labels: nonEmpty(r.labels), unit: 'percent', value: rate === null ? null : Math.round(rate * 10000) / 100, description: 'rate of process_cpu_seconds_total, percent of one core' })
        continue
      }
      if (r.type === 'histogram' || r.type === 'summary') {
        const base = r.name.replace(/_(sum|count|bucket)$/, '')
        if (!this.selected(base) && !this.selected(r.name)) continue
        const part = r.name.slice(base.length + 1)
        if (part !== 'sum' && part !== 'count') continue
        const labels = { ...r.labels }
        delete labels.quantile
        const key = `${base}{${labelKey(labels)}}`
        const h = hist.get(key) ?? { base, labels }
        h[part] = r.value
        hist.set(key, h)
        continue
      }
      if (!this.selected(r.name)) continue
      this.seenSelected.add(r.name)
      const counter = r.type === 'counter' || /_total$/.test(r.name)
      if (counter) {
        out.push({ metric: r.name, labels: nonEmpty(r.labels), unit: 'per_s', value: this.rates.rate(`${r.name}{${labelKey(r.labels)}}`, r.value, now), description: `rate of the counter ${r.name}` })
      } else {
        out.push({ metric: r.name, labels: nonEmpty(r.labels), unit: unitOf(r.name), value: Number.isFinite(r.value) ? r.value : null })
      }
    }
    for (const [key, h] of hist) {
      this.seenSelected.add(h.base)
      const sum = h.sum === undefined ? null : this.rates.delta(`${key}:sum`, h.sum, now)
      const count = h.count === undefined ? null : this.rates.delta(`${key}:count`, h.count, now)
      out.push({ metric: `${h.base}_mean`, labels: nonEmpty(h.labels), unit: unitOf(h.base), value: sum && count && count.delta > 0 ? sum.delta / count.delta : null, description: `mean of ${h.base} over the interval` })
      out.push({ metric: `${h.base}_count`, labels: nonEmpty(h.labels), unit: 'per_s', value: count ? count.delta / count.seconds : null, description: `observations of ${h.base} per second` })
    }
    return this.bounded(out)
  }

  /** at most MAX_SERIES series: new ones past the cap are dropped (and counted) */
  private bounded (readings: Reading[]): Reading[] {
    const out: Reading[] = []
    for (const r of readings) {
      const id = `${r.metric}{${labelKey(r.labels ?? {})}}`
      if (!this.known.has(id)) {
        if (this.known.size >= MAX_SERIES) { this.dropped++; continue }
        this.known.add(id)
      }
      out.push(r)
    }
    return out
  }

  gapReadings (): Reading[] {
    return [{ metric: METRICS.metrics.up, unit: 'count', value: 0 }]
  }

  async stop (): Promise<void> {}

  note (): string | undefined {
    const notes: string[] = []
    const missing = (this.o.select ?? []).filter(p => !p.includes('*') && !this.seenSelected.has(p))
    if (this.scrapes && missing.length) notes.push(`not found at ${this.target}: ${missing.join(', ')}`)
    if (this.dropped) notes.push(`more than ${MAX_SERIES} series selected: the rest were not kept (select fewer with --target-metric)`)
    return notes.length ? notes.join('; ') : undefined
  }

  facts (): Record<string, unknown> {
    return { url: this.target, selected: this.o.select ?? [], series: this.known.size }
  }
}

function nonEmpty (labels: Record<string, string>): Record<string, string> | undefined {
  return Object.keys(labels).length ? labels : undefined
}
