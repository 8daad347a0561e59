/**
 * Chart specifications: what the HTML report and the live web UI draw (with uPlot in the
 * browser), built from a result's timeline and probe series. Every chart is on a grid of
 * epoch seconds; a missing second or a probe gap is null (drawn as a gap, never as zero).
 * Long runs are thinned to at most MAX_POINTS points per chart.
 */
import type { Finding, RunResult, Series, TimelineSlice, Unit, Window } from '../shared/types.js'
import { METRICS } from '../shared/metrics.js'

/** units the browser knows how to format */
export type ChartUnit = Unit | 'users' | 'req_s'

export interface ChartSeries {
  label: string
  /** the scale (y axis) it is drawn against */
  scale: string
  values: Array<number | null>
  color?: string
  /** dashed line */
  dash?: boolean
  width?: number
  /** sampled every few seconds (pg_stat_statements every 5th sample, a request row seen now and then): drawn as points joined across the seconds between them */
  spanGaps?: boolean
}

export interface ChartScale {
  unit: ChartUnit
  label: string
  side: 'left' | 'right'
  /** fixed range, e.g. 0..1 for ratios */
  min?: number
  max?: number
}

export interface ChartSpec {
  id: string
  title: string
  /** epoch seconds */
  x: number[]
  /** the run's first second: the x axis shows the time since it */
  t0?: number
  series: ChartSeries[]
  scales: Record<string, ChartScale>
  /** windows to shade (a finding's window) */
  bands?: Window[]
  /** one line under the chart (what it shows, what is missing) */
  note?: string
}

export const MAX_POINTS = 1800

const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#65a30d', '#ea580c', '#4f46e5', '#0d9488', '#9333ea']
export const color = (i: number): string => PALETTE[i % PALETTE.length]!

// ---------------------------------------------------------------------------------------
// the grid

/** Epoch seconds from the first to the last second that has data (timeline or probes). */
export function gridOf (result: RunResult): number[] {
  let lo = Infinity
  let hi = -Infinity
  for (const s of result.timeline) { lo = Math.min(lo, s.t); hi = Math.max(hi, s.t) }
  if (!Number.isFinite(lo)) {
    for (const s of result.probes.series) {
      for (const [t] of s.points) { lo = Math.min(lo, Math.floor(t)); hi = Math.max(hi, Math.floor(t)) }
    }
  }
  if (!Number.isFinite(lo)) return []
  const out: number[] = []
  for (let t = lo; t <= hi; t++) out.push(t)
  return out
}

/** A column of the timeline on the grid; null where the second is missing. */
export function timelineColumn (grid: number[], timeline: TimelineSlice[], pick: (s: TimelineSlice) => number | null | undefined): Array<number | null> {
  const out = new Array<number | null>(grid.length).fill(null)
  if (grid.length === 0) return out
  const t0 = grid[0]!
  for (const s of timeline) {
    const i = s.t - t0
    if (i < 0 || i >= grid.length) continue
    const v = pick(s)
    out[i] = v === undefined || v === null || !Number.isFinite(v) ? null : v
  }
  return out
}

/** A probe series on the grid (several points in one second are averaged). */
export function seriesColumn (grid: number[], series: Series): Array<number | null> {
  const out = new Array<number | null>(grid.length).fill(null)
  if (grid.length === 0) return out
  const t0 = grid[0]!
  const n = new Array<number>(grid.length).fill(0)
  for (const [t, v] of series.points) {
    const i = Math.floor(t) - t0
    if (i < 0 || i >= grid.length || v === null || !Number.isFinite(v)) continue
    out[i] = (out[i] ?? 0) + v
    n[i]!++
  }
  for (let i = 0; i < out.length; i++) if (n[i]! > 1) out[i] = out[i]! / n[i]!
  return out
}

type Reduce = 'mean' | 'max'

/** Thins a chart to at most `max` points: the mean of each bucket, or the max for latencies. */
export function thin (spec: ChartSpec, reduceFor: (s: ChartSeries) => Reduce, max = MAX_POINTS): ChartSpec {
  const n = spec.x.length
  if (n <= max) return spec
  const step = Math.ceil(n / max)
  const x: number[] = []
  for (let i = 0; i < n; i += step) x.push(spec.x[i]!)
  const series = spec.series.map(s => {
    const how = reduceFor(s)
    const values: Array<number | null> = []
    for (let i = 0; i < n; i += step) {
      let acc: number | null = null
      let count = 0
      for (let j = i; j < Math.min(n, i + step); j++) {
        const v = s.values[j]
        if (v === null || v === undefined) continue
        acc = acc === null ? v : how === 'max' ? Math.max(acc, v) : acc + v
        count++
      }
      values.push(acc === null ? null : how === 'max' ? acc : acc / count)
    }
    return { ...s, values }
  })
  return { ...spec, x, series, note: [spec.note, `${step}-second buckets: latency the highest, others the mean`].filter(Boolean).join('; ') }
}

/** Rounds values so the embedded JSON stays small. */
function round (v: number | null): number | null {
  if (v === null) return null
  if (v === 0 || !Number.isFinite(v)) return v
  const a = Math.abs(v)
  const digits = a >= 1000 ? 0 : a >= 100 ? 1 : a >= 1 ? 2 : 4
  const f = 10 ** digits
  return Math.round(v * f) / f
}

/**
 * Does a column have a point only every few seconds? The median distance between its points
 * is 2 or more: a series sampled every N s, not one with an outage (a run of empty seconds
 * between points a second apart)
 */
export function sparse (values: Array<number | null>): boolean {
  const gaps: number[] = []
  let last = -1
  for (let i = 0; i < values.length; i++) {
    if (values[i] === null) continue
    if (last >= 0) gaps.push(i - last)
    last = i
  }
  if (gaps.length < 2) return false
  gaps.sort((a, b) => a - b)
  return gaps[Math.floor(gaps.length / 2)]! >= 2
}

export function finish (spec: ChartSpec): ChartSpec {
  if (spec.t0 === undefined && spec.x.length) spec.t0 = spec.x[0]
  const thinned = thin(spec, s => (spec.scales[s.scale]?.unit === 'ms' ? 'max' : 'mean'))
  return { ...thinned, series: thinned.series.map(s => ({ ...s, values: s.values.map(round), ...(s.spanGaps ?? sparse(s.values) ? { spanGaps: true } : {}) })) }
}

// ---------------------------------------------------------------------------------------
// load charts

const msScale: ChartScale = { unit: 'ms', label: 'ms', side: 'left' }

export function loadCharts (result: RunResult, grid = gridOf(result)): ChartSpec[] {
  const tl = result.timeline
  if (tl.length === 0) return []
  const out: ChartSpec[] = []
  const open = result.meta.model.kind === 'open'
  out.push(finish({
    id: 'load-users-rps',
    title: open ? 'Busy virtual users and requests per second' : 'Users and requests per second',
    x: grid,
    series: [
      { label: open ? 'busy VUs' : 'users', scale: 'users', values: timelineColumn(grid, tl, s => s.users), color: '#64748b' },
      { label: 'req/s', scale: 'rps', values: timelineColumn(grid, tl, s => s.overall.requests), color: color(0) }
    ],
    scales: { users: { unit: 'users', label: open ? 'VUs' : 'users', side: 'left', min: 0 }, rps: { unit: 'req_s', label: 'req/s', side: 'right', min: 0 } }
  }))
  out.push(finish({
    id: 'load-failures',
    title: 'Failures per second',
    x: grid,
    series: [
      { label: 'failures/s', scale: 'fps', values: timelineColumn(grid, tl, s => s.overall.failures), color: color(1) },
      ...(open ? [{ label: 'dropped iterations/s', scale: 'fps', values: timelineColumn(grid, tl, s => s.dropped ?? 0), color: color(3) }] : [])
    ],
    scales: { fps: { unit: 'per_s', label: 'per s', side: 'left', min: 0 } }
  }))
  const lat = (p: 'p50' | 'p95' | 'p99') => timelineColumn(grid, tl, s => (s.overall.requests > 0 ? s.overall[p] : null))
  out.push(finish({
    id: 'load-percentiles',
    title: 'Response time percentiles (each second)',
    x: grid,
    series: [
      { label: 'p50', scale: 'ms', values: lat('p50'), color: color(2) },
      { label: 'p95', scale: 'ms', values: lat('p95'), color: color(3) },
      { label: 'p99', scale: 'ms', values: lat('p99'), color: color(1) }
    ],
    scales: { ms: msScale }
  }))
  const cap = result.diagnosis?.capacity
  if (cap) {
    out.push(finish({
      id: 'load-capacity',
      title: `Capacity: ${cap.maxUsers} concurrent users held within the criteria`,
      x: grid,
      series: [
        { label: open ? 'busy VUs' : 'users', scale: 'users', values: timelineColumn(grid, tl, s => s.users), color: '#64748b' },
        { label: 'req/s', scale: 'users', values: timelineColumn(grid, tl, s => s.overall.requests), color: color(0), dash: true },
        { label: 'p95', scale: 'ms', values: lat('p95'), color: color(3) },
        { label: 'failures/s', scale: 'users', values: timelineColumn(grid, tl, s => s.overall.failures), color: color(1) }
      ],
      scales: { users: { unit: 'users', label: 'users, req/s, failures/s', side: 'left', min: 0 }, ms: { ...msScale, side: 'right' } },
      bands: [cap.window ?? { from: cap.at, to: cap.at }],
      note: `the band runs from the last second the criteria held to where they broke: ${cap.reason}${cap.knee ? `; throughput stopped following the users at ${cap.knee.users} users` : ''}`
    }))
  }
  // p95 by request name: the busiest rows
  const counts = new Map<string, number>()
  for (const e of result.totals.entries) counts.set(e.key, e.requests)
  const keys = [...counts.entries()].filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]).map(([k]) => k)
  if (keys.length > 1) {
    const shown = keys.slice(0, 10)
    out.push(finish({
      id: 'load-p95-by-name',
      title: 'p95 by request name (each second)',
      x: grid,
      series: shown.map((k, i) => ({ label: k, scale: 'ms', values: timelineColumn(grid, tl, s => { const e = s.entries[k]; return e && e.requests > 0 ? e.p95 : null }), color: color(i) })),
      scales: { ms: msScale },
      note: keys.length > shown.length ? `the ${shown.length} busiest of ${keys.length} rows` : undefined
    }))
  }
  if (tl.some(s => s.generator)) {
    out.push(finish({
      id: 'load-generator',
      title: 'Load generator health',
      x: grid,
      series: [
        { label: 'CPU (cores)', scale: 'cores', values: timelineColumn(grid, tl, s => s.generator?.cpu), color: color(4) },
        { label: 'event-loop use', scale: 'cores', values: timelineColumn(grid, tl, s => s.generator?.elu), color: color(5) },
        { label: 'loop delay p99', scale: 'ms', values: timelineColumn(grid, tl, s => s.generator?.loopDelayP99Ms), color: color(1), dash: true }
      ],
      scales: { cores: { unit: 'cores', label: 'cores / ratio', side: 'left', min: 0 }, ms: { unit: 'ms', label: 'ms', side: 'right', min: 0 } },
      note: 'CPU near 1 core per load thread or a high loop delay means the generator, not the target, limited the test'
    }))
  }
  return out
}

// ---------------------------------------------------------------------------------------
// probe panels

export interface ProbePanel {
  title: string
  charts: ChartSpec[]
}

const UNIT_LABEL: Record<string, string> = { count: 'count', ratio: 'ratio', percent: '%', bytes: 'bytes', ms: 'ms', s: 's', per_s: 'per s', bytes_per_s: 'bytes/s', cores: 'cores', users: 'users', req_s: 'req/s' }

function labelOf (s: Series, omit: string[] = []): string {
  const l = Object.entries(s.labels ?? {}).filter(([k]) => !omit.includes(k))
  if (l.length === 0) return s.metric
  return l.map(([k, v]) => (l.length === 1 ? v : `${k}=${v}`)).join(', ')
}

function scaleFor (unit: Unit, side: 'left' | 'right'): ChartScale {
  return { unit, label: UNIT_LABEL[unit] ?? unit, side, min: 0, ...(unit === 'ratio' ? { max: 1 } : {}), ...(unit === 'percent' ? { max: 100 } : {}) }
}

/** One chart of several series (by unit: the first unit left, others right). */
function seriesChart (id: string, title: string, grid: number[], list: Series[], label: (s: Series) => string, note?: string): ChartSpec {
  const units: Unit[] = []
  for (const s of list) if (!units.includes(s.unit)) units.push(s.unit)
  const scales: Record<string, ChartScale> = {}
  units.forEach((u, i) => { scales[u] = scaleFor(u, i === 0 ? 'left' : 'right') })
  return finish({
    id,
    title,
    x: grid,
    series: list.map((s, i) => ({ label: label(s), scale: s.unit, values: seriesColumn(grid, s), color: color(i) })),
    scales,
    note
  })
}

/** The probe panels: PostgreSQL, Redis, Celery, host, target, then every other series. */
export function probePanels (result: RunResult, grid = gridOf(result)): ProbePanel[] {
  const all = result.probes.series.filter(s => s.points.length > 0)
  if (all.length === 0 || grid.length === 0) return []
  const used = new Set<string>()
  const pick = (probe: string, metric: string): Series[] => {
    const found = all.filter(s => s.probe === probe && s.metric === metric)
    for (const s of found) used.add(s.id)
    return found
  }
  const panels: ProbePanel[] = []
  const chart = (id: string, title: string, list: Series[], label: (s: Series) => string = s => labelOf(s), note?: string): ChartSpec[] =>
    list.length ? [seriesChart(id, title, grid, list, label, note)] : []

  const pg = [
    ...chart('pg-connections', 'PostgreSQL connections of the target by state', pick('pg', 'connections'), s => s.labels?.state ?? labelOf(s)),
    ...chart('pg-server-connections', 'PostgreSQL connections of the whole server', pick('pg', 'server_connections'),
      s => labelOf(s), typeof factOf(result, 'pg', 'max_connections') === 'number' ? `max_connections = ${String(factOf(result, 'pg', 'max_connections'))}` : undefined),
    ...chart('pg-sessions', 'PostgreSQL connections of the whole server by database, application and client', pick('pg', 'sessions'),
      s => s.labels ? `${s.labels.database} / ${s.labels.application} / ${s.labels.client}` : labelOf(s)),
    ...chart('pg-waiting', 'PostgreSQL sessions waiting, by wait event type', pick('pg', 'waiting'), s => s.labels?.wait_event_type ?? labelOf(s)),
    ...chart('pg-wait-events', 'PostgreSQL sessions waiting, by wait event', pick('pg', 'wait_events'),
      s => s.labels ? `${s.labels.wait_event_type}: ${s.labels.wait_event}` : labelOf(s)),
    ...chart('pg-ages', 'Oldest query, transaction and idle-in-transaction (s)', [...pick('pg', 'oldest_query_s'), ...pick('pg', 'oldest_xact_s'), ...pick('pg', 'idle_in_xact_s')], s => humanLabel(s)),
    ...chart('pg-query-mean', 'Mean query time (pg_stat_statements, every 5th sample)', [...pick('pg', 'query_mean_ms'), ...pick('pg', 'calls_per_s')], s => humanLabel(s))
  ]
  if (pg.length) panels.push({ title: 'PostgreSQL', charts: pg })
  const redis = [
    ...chart('redis-hit-rate', 'Redis cache hit rate', pick('redis', 'hit_rate'), () => 'hit rate', 'the checklist\'s target is above 85 %'),
    ...chart('redis-keys', 'Redis cache hits, misses, keys expired and evicted a second', [...pick('redis', 'hits_per_s'), ...pick('redis', 'misses_per_s'), ...pick('redis', 'expired_per_s'), ...pick('redis', 'evicted_per_s')], s => humanLabel(s)),
    ...chart('redis-ops', 'Redis commands a second', pick('redis', 'ops_per_s'), s => humanLabel(s)),
    ...chart('redis-memory', 'Redis memory', pick('redis', 'used_memory'), () => 'used memory')
  ]
  if (redis.length) panels.push({ title: 'Redis', charts: redis })
  const celery = [
    ...chart('celery-queue', 'Celery queue depth', pick('celery', 'queue_depth'), s => s.labels?.queue ?? labelOf(s)),
    ...chart('celery-active', 'Celery tasks active (and pool size) by worker', [...pick('celery', 'active'), ...pick('celery', 'concurrency')], s => `${s.metric} ${labelOf(s, [])}`.replace(/ (active|concurrency)$/, '')),
    ...chart('celery-workers', 'Celery workers online and tasks finished', [...pick('celery', 'workers_online'), ...pick('celery', 'succeeded_per_s'), ...pick('celery', 'failed_per_s')], s => humanLabel(s))
  ]
  if (celery.length) panels.push({ title: 'Celery', charts: celery })
  const host = [
    ...chart('host-cpu', 'Host CPU', [...pick('host', 'cpu')], () => 'CPU busy'),
    ...chart('host-memory', 'Host memory', [...pick('host', 'mem_used'), ...pick('host', 'mem_available'), ...pick('host', 'swap_used')], s => s.metric)
  ]
  if (host.length) panels.push({ title: 'Host', charts: host })
  const target = [
    ...chart('target-rss', 'Target process memory (RSS)', pick('target', 'rss'), () => 'RSS'),
    ...chart('target-cpu', 'Target process CPU', pick('target', 'cpu'), () => 'CPU')
  ]
  if (target.length) panels.push({ title: 'Target process', charts: target })
  // everything else, one chart per probe metric, in its system's panel (the generator's own
  // CPU and memory are the load generator chart's already)
  const rest = new Map<string, Series[]>()
  for (const s of all) {
    if (used.has(s.id) || s.probe === 'generator') continue
    const k = `${s.probe}.${s.metric}`
    rest.set(k, [...(rest.get(k) ?? []), s])
  }
  const SYSTEM: Record<string, string> = { pg: 'PostgreSQL', redis: 'Redis', celery: 'Celery', host: 'Host', target: 'Target process', logs: 'Logs', metrics: 'The target\'s /metrics' }
  let i = 0
  for (const [, list] of [...rest.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
    const first = list[0]!
    const title = SYSTEM[first.probe] ?? 'Other series'
    let panel = panels.find(p => p.title === title)
    if (!panel) panels.push(panel = { title, charts: [] })
    panel.charts.push(seriesChart(`probe-${i++}`, humanLabel({ probe: first.probe, metric: first.metric }), grid, list.slice(0, 12), s => labelOf(s), list.length > 12 ? `12 of ${list.length} series` : first.description))
  }
  return panels
}

function factOf (result: RunResult, probe: string, fact: string): unknown {
  const st = result.probes.status.find(s => s.probe === probe)
  const facts = st?.facts ?? {}
  return facts[fact] ?? facts[fact.replace(/_(\w)/g, (_, c: string) => c.toUpperCase())]
}

// ---------------------------------------------------------------------------------------
// a finding's chart

/** Series a finding may name that are not probe series but columns of the load timeline. */
const LOAD_COLUMNS: Record<string, { label: string; unit: ChartUnit; pick: (s: TimelineSlice) => number | null }> = {
  users: { label: 'users', unit: 'users', pick: s => s.users },
  requests: { label: 'req/s', unit: 'req_s', pick: s => s.overall.requests },
  rps: { label: 'req/s', unit: 'req_s', pick: s => s.overall.requests },
  failures: { label: 'failures/s', unit: 'per_s', pick: s => s.overall.failures },
  p50: { label: 'p50', unit: 'ms', pick: s => (s.overall.requests ? s.overall.p50 : null) },
  p95: { label: 'p95', unit: 'ms', pick: s => (s.overall.requests ? s.overall.p95 : null) },
  p99: { label: 'p99', unit: 'ms', pick: s => (s.overall.requests ? s.overall.p99 : null) },
  dropped: { label: 'dropped/s', unit: 'per_s', pick: s => s.dropped ?? 0 },
  'generator.cpu': { label: 'generator CPU', unit: 'cores', pick: s => s.generator?.cpu ?? null },
  'generator.elu': { label: 'generator event-loop use', unit: 'ratio', pick: s => s.generator?.elu ?? null },
  'generator.loop_delay_p99_ms': { label: 'generator loop delay p99', unit: 'ms', pick: s => s.generator?.loopDelayP99Ms ?? null }
}

function loadColumn (id: string): (typeof LOAD_COLUMNS)[string] | undefined {
  const bare = id.replace(/^(load|latency|timeline|overall)\./, '')
  return LOAD_COLUMNS[id] ?? LOAD_COLUMNS[bare] ?? LOAD_COLUMNS[bare.replace(/_ms$/, '')]
}

/** A probe series in plain words, with its unit where the axis does not say it ("app connections busy", "cache hit rate %"). */
const HUMAN: Record<string, (l: Record<string, string>) => string> = {
  'pg.connections': l => `app connections ${l.state === 'active' ? 'busy (active)' : l.state ?? ''}`.trim(),
  'pg.server_connections': () => 'server connections (every database)',
  'pg.owner_sessions': l => `${l.owner ?? ''} sessions`.trim(),
  'pg.waiting': l => `sessions waiting on ${l.wait_event_type ?? 'something'}`,
  'pg.wait_events': l => `sessions waiting on ${l.wait_event_type ?? ''}: ${l.wait_event ?? ''}`,
  'pg.oldest_query_s': () => 'oldest running query, s',
  'pg.oldest_xact_s': () => 'oldest open transaction, s',
  'pg.idle_in_xact_s': () => 'longest idle in transaction, s',
  'pg.query_mean_ms': () => 'mean query time, ms (pg_stat_statements)',
  'pg.calls_per_s': () => 'statements a second',
  'pg.seq_tup_read_per_s': l => `rows read by sequential scans of ${l.table ?? 'a table'} a second`,
  'pg.statement_active': () => 'statements running',
  'pg.statement_age_s': () => 'age of the running statement, s',
  'redis.hit_rate': () => 'cache hit rate %',
  'redis.hits_per_s': () => 'cache hits a second',
  'redis.misses_per_s': () => 'cache misses a second',
  'redis.expired_per_s': () => 'keys expired a second',
  'redis.evicted_per_s': () => 'keys evicted a second',
  'redis.used_memory': () => 'Redis memory',
  'redis.ops_per_s': () => 'Redis commands a second',
  'celery.queue_depth': l => `tasks waiting in queue ${l.queue ?? ''}`.trim(),
  'celery.active': () => 'tasks running',
  'celery.workers_online': () => 'Celery workers online',
  'celery.finished_per_s': () => 'tasks finished a second',
  'celery.succeeded_per_s': () => 'tasks succeeded a second',
  'celery.failed_per_s': () => 'tasks failed a second',
  'target.rss': () => 'target memory (RSS)',
  'target.cpu': () => 'target CPU % (100 = one core)',
  'host.cpu': () => 'host CPU % (100 = one core)',
  'logs.lines_per_s': l => `log lines${l.level ? ` (${l.level})` : ''} a second`,
  'pg.block_hit_ratio': () => 'shared-buffer hit ratio',
  'pg.commits_per_s': () => 'commits a second',
  'pg.rollbacks_per_s': () => 'rollbacks a second',
  'pg.temp_bytes_per_s': () => 'temporary file bytes a second',
  'pg.parallel_workers': () => 'parallel workers',
  'redis.connected_clients': () => 'Redis clients connected',
  'redis.blocked_clients': () => 'Redis clients blocked',
  'redis.rejected_per_s': () => 'Redis connections rejected a second',
  'redis.ping_ms': () => 'Redis PING, ms',
  'celery.reserved': () => 'tasks reserved by workers',
  'host.cpu_core': () => 'host CPU % by core',
  'host.load1': () => 'host load (1 min)',
  'host.net_rx_per_s': () => 'network received a second',
  'host.net_tx_per_s': () => 'network sent a second',
  'target.processes': () => 'target processes',
  'metrics.up': () => '/metrics answered (1 = yes)',
  'metrics.process_cpu': () => 'process CPU (the target\'s /metrics)',
  'metrics.process_resident_memory_bytes': () => 'process memory (the target\'s /metrics)'
}

export function humanLabel (s: Pick<Series, 'probe' | 'metric' | 'labels'>): string {
  const f = HUMAN[`${s.probe}.${s.metric}`]
  if (f) return f(s.labels ?? {})
  const labels = Object.values(s.labels ?? {})
  return `${s.probe} ${s.metric.replace(/_/g, ' ')}${labels.length ? ` (${labels.join(', ')})` : ''}`
}

/**
 * The chart that proves a finding: the series of its evidence (in plain words) with the
 * latency of the request names it slowed (or the overall p95) and the users, its window
 * shaded, so that the chart alone tells cause and effect apart from a healthy run.
 */
export function findingChart (result: RunResult, f: Finding, id: string, grid = gridOf(result)): ChartSpec | undefined {
  if (grid.length === 0) return undefined
  const tl = result.timeline
  const series: ChartSeries[] = []
  const scales: Record<string, ChartScale> = {}
  const missing: string[] = []
  const addScale = (unit: ChartUnit): string => {
    if (!scales[unit]) scales[unit] = unit === 'ms' ? { ...msScale } : { ...scaleFor(unit as Unit, Object.keys(scales).length === 0 ? 'left' : 'right'), unit }
    return unit
  }
  const ids = f.evidence.series ?? []
  // the effect: the latency of the rows the cause slowed, else the overall p95
  const rows = (f.evidence.rows ?? []).map(r => r.key).filter(k => result.totals.entries.some(e => e.key === k) && !ids.some(x => x.endsWith(k))).slice(0, 2)
  rows.forEach((key, j) => {
    series.push({ label: `p95 ${key}`, scale: addScale('ms'), values: timelineColumn(grid, tl, s => { const e = s.entries[key]; return e && e.requests ? e.p95 : null }), color: j === 0 ? '#111827' : '#6b7280', width: 2 })
  })
  if (!rows.length && !ids.some(x => loadColumn(x)?.unit === 'ms')) {
    series.push({ label: 'p95 (all requests)', scale: addScale('ms'), values: timelineColumn(grid, tl, s => (s.overall.requests ? s.overall.p95 : null)), color: '#111827', width: 2 })
  }
  let i = 0
  for (const sid of ids) {
    const probe = result.probes.series.find(s => s.id === sid)
    if (probe) {
      series.push({ label: humanLabel(probe), scale: addScale(probe.unit), values: seriesColumn(grid, probe), color: color(i++) })
      continue
    }
    const col = loadColumn(sid)
    const row = tl.length ? rowColumn(sid) : undefined
    if (col) series.push({ label: col.label, scale: addScale(col.unit), values: timelineColumn(grid, tl, col.pick), color: color(i++) })
    else if (row) series.push({ label: row.label, scale: addScale('ms'), values: timelineColumn(grid, tl, row.pick), color: color(i++) })
    else missing.push(sid)
  }
  // the load: the users (or the arrival rate's iterations), dashed
  if (tl.length && !series.some(x => x.label === 'users' || x.scale === 'users')) {
    series.push({ label: 'users', scale: addScale('users'), values: timelineColumn(grid, tl, s => s.users), color: '#94a3b8', dash: true })
  }
  return finish({
    id,
    title: f.title,
    x: grid,
    series,
    scales,
    bands: [f.evidence.window],
    note: missing.length ? `not in this result: ${missing.join(', ')}` : undefined
  })

  /** "p95 GET /x" or "GET /x": a row's p95 */
  function rowColumn (sid: string): { label: string; pick: (s: TimelineSlice) => number | null } | undefined {
    const m = /^(p50|p95|p99)[ :](.+)$/.exec(sid)
    const key = m ? m[2]! : sid
    const p = (m ? m[1] : 'p95') as 'p50' | 'p95' | 'p99'
    if (!result.totals.entries.some(e => e.key === key)) return undefined
    return { label: `${p} ${key}`, pick: s => { const e = s.entries[key]; return e && e.requests ? e[p] : null } }
  }
}
// ---------------------------------------------------------------------------------------
// A/B overlay (loadlens compare)

/** the probe series a comparison overlays, when both runs have them: [probe, metric, label filter, title] */
const OVERLAY_PROBES: Array<[string, string, Record<string, string> | undefined, string, ChartUnit]> = [
  ['pg', METRICS.pg.connections, { state: 'active' }, 'PostgreSQL connections of the target, active', 'count'],
  ['redis', METRICS.redis.hitRate, undefined, 'Redis cache hit rate', 'ratio'],
  ['target', METRICS.target.rss, undefined, 'Target memory (RSS)', 'bytes'],
  ['target', METRICS.target.cpu, undefined, 'Target CPU (100 = one core)', 'percent'],
  ['host', METRICS.host.cpu, undefined, 'Host CPU', 'percent'],
  ['celery', METRICS.celery.queueDepth, undefined, 'Celery queue depth', 'count']
]

/**
 * A and B on the same charts, aligned on the seconds since each run's start: throughput,
 * overall p95, the p95 of the request names both ran most, and the key probe series both
 * have. A is dashed grey, B solid blue.
 */
export function overlayCharts (a: RunResult, b: RunResult, o: { names?: number } = {}): ChartSpec[] {
  const ga = gridOf(a)
  const gb = gridOf(b)
  const n = Math.max(ga.length, gb.length)
  if (n === 0) return []
  const x = Array.from({ length: n }, (_, i) => i)
  const pad = (v: Array<number | null>): Array<number | null> => [...v, ...new Array<number | null>(Math.max(0, n - v.length)).fill(null)]
  const pair = (id: string, title: string, unit: ChartUnit, va: Array<number | null>, vb: Array<number | null>): ChartSpec => finish({
    id,
    title,
    x,
    t0: 0,
    series: [
      { label: `A ${a.meta.runId}`, scale: unit, values: pad(va), color: '#64748b', dash: true },
      { label: `B ${b.meta.runId}`, scale: unit, values: pad(vb), color: '#2563eb', width: 2 }
    ],
    scales: { [unit]: unit === 'ms' ? { ...msScale } : { ...scaleFor(unit as Unit, 'left'), unit } }
  })
  const out: ChartSpec[] = [
    pair('ab-rps', 'Requests per second', 'req_s', timelineColumn(ga, a.timeline, s => s.overall.requests), timelineColumn(gb, b.timeline, s => s.overall.requests)),
    pair('ab-p95', 'p95 of all requests', 'ms', timelineColumn(ga, a.timeline, s => (s.overall.requests ? s.overall.p95 : null)), timelineColumn(gb, b.timeline, s => (s.overall.requests ? s.overall.p95 : null)))
  ]
  const inB = new Map(b.totals.entries.map(e => [e.key, e.requests]))
  const names = a.totals.entries.filter(e => e.type !== 'FLOW' && inB.has(e.key))
    .sort((x1, x2) => (x2.requests + inB.get(x2.key)!) - (x1.requests + inB.get(x1.key)!)).slice(0, o.names ?? 6)
  names.forEach((e, i) => {
    const pick = (s: TimelineSlice): number | null => { const r = s.entries[e.key]; return r && r.requests ? r.p95 : null }
    out.push(pair(`ab-name-${i}`, `p95 of ${e.key}`, 'ms', timelineColumn(ga, a.timeline, pick), timelineColumn(gb, b.timeline, pick)))
  })
  const find = (r: RunResult, probe: string, metric: string, labels?: Record<string, string>): Series | undefined =>
    r.probes.series.find(s => s.probe === probe && s.metric === metric && (!labels || Object.entries(labels).every(([k, v]) => s.labels?.[k] === v)))
  OVERLAY_PROBES.forEach(([probe, metric, labels, title, unit], i) => {
    const sa = find(a, probe, metric, labels)
    const sb = find(b, probe, metric, labels)
    if (!sa || !sb) return
    out.push(pair(`ab-probe-${i}`, title, unit, seriesColumn(ga, sa), seriesColumn(gb, sb)))
  })
  return out
}
