/**
 * The crash-safe journal of a run: while the load goes on, every second's measurements (the
 * second's SliceReport, as the load threads hand it over, and the probe points sampled since
 * the last second) are appended to `<run id>.journal.jsonl` in the output folder and flushed
 * to disk (fsync), so a run killed with `kill -9`, by the OOM killer or with its CI runner
 * loses at most its last second or two. A run that ends normally writes its result and
 * removes the journal; `loadlens recover <journal>` (or `loadlens report <journal>`) rebuilds
 * the result from it, diagnoses it and writes every report.
 *
 * One JSON document a line: {"type":"header", meta, probes}, then {"type":"second", report,
 * points} once a second; points are [series index, epoch second, value] with the series'
 * description ({"type":"series", ...}) written the first time it appears.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import { describeError, InputFileError } from '../shared/errors.js'
import { redactDeep } from '../shared/redact.js'
import { makeDirs } from '../shared/files.js'
import { seriesId } from '../shared/metrics.js'
import { RESULT_FORMAT, RESULT_VERSION } from '../shared/types.js'
import type { ProbeGap, ProbeStatus, RunMeta, RunResult, Series, Unit } from '../shared/types.js'
import { Aggregator } from '../loadgen/aggregate.js'
import { LOAD_DEFAULTS } from '../shared/settings.js'
import type { SliceReport } from '../loadgen/recorder.js'
import { nameOverflowInfo } from '../loadgen/names.js'
import { SeriesStore } from '../probes/series-store.js'

export const JOURNAL_SUFFIX = '.journal.jsonl'

export interface JournalPoint {
  probe: string
  metric: string
  labels?: Record<string, string>
  unit: Unit
  t: number
  value: number | null
}

export interface JournalHeader {
  type: 'header'
  format: 'loadlens/journal'
  version: 1
  /** the run's meta as known at the start (endedAt and stopReason are set on recovery) */
  meta: RunMeta
  /** the probes that were watching, and what */
  probes: Array<{ probe: string; target: string; state: ProbeStatus['state'] }>
  /** unit costs of the scenario, for the cost summary on recovery */
  costs?: Record<string, number>
  currency?: string
}

export class Journal {
  private fd: number | null
  private readonly seriesIndex = new Map<string, number>()
  private points: string[] = []
  private lastT = 0

  /**
   * @param onError told once when a write fails during the run (the disk filled up, the folder
   * went away): the journal stops there, the run goes on, and its result is still written at
   * the end
   */
  constructor (readonly path: string, header: Omit<JournalHeader, 'type' | 'format' | 'version'>, private readonly onError: (message: string) => void = () => {}) {
    makeDirs(dirname(path))
    this.fd = openSync(path, 'w')
    // secrets never reach the disk, here either: a journal outlives a killed run
    this.line({ type: 'header', format: 'loadlens/journal', version: 1, ...redactDeep(header) })
    this.flush()
  }

  private write (text: string): void {
    if (this.fd === null) return
    try {
      writeSync(this.fd, text)
    } catch (err) {
      const fd = this.fd
      this.fd = null
      try { closeSync(fd) } catch { /* already gone */ }
      this.onError(`the journal ${this.path} could not be written (${describeError(err)}): it stops here; the result is still written at the end`)
    }
  }

  private line (doc: unknown): void {
    this.write(JSON.stringify(doc) + '\n')
  }

  private flush (): void {
    if (this.fd === null) return
    try { fsyncSync(this.fd) } catch { /* a filesystem without fsync: the write still went to the OS */ }
  }

  /** a probe reading (or a gap) as it is stored */
  point (p: JournalPoint): void {
    if (this.fd === null) return
    const id = seriesId(p.probe, p.metric, p.labels)
    let i = this.seriesIndex.get(id)
    if (i === undefined) {
      i = this.seriesIndex.size
      this.seriesIndex.set(id, i)
      this.line({ type: 'series', i, probe: p.probe, metric: p.metric, labels: p.labels, unit: p.unit })
    }
    this.points.push(`[${i},${p.t},${p.value === null || !Number.isFinite(p.value) ? 'null' : p.value}]`)
  }

  /** one second of the load, with the probe points gathered since the last one; flushed to disk */
  second (report: SliceReport): void {
    if (this.fd === null) return
    this.lastT = report.slice.t
    const points = this.points
    this.points = []
    this.write(`{"type":"second","report":${JSON.stringify(redactDeep(report))},"points":[${points.join(',')}]}\n`)
    this.flush()
  }

  /** the run ended: the remaining points, then the file is closed (and removed when `remove`) */
  close (remove: boolean): void {
    if (this.fd !== null) {
      if (this.points.length) this.write(`{"type":"points","points":[${this.points.join(',')}]}\n`)
      this.flush()
      if (this.fd !== null) closeSync(this.fd)
      this.fd = null
    }
    if (remove) rmSync(this.path, { force: true })
  }

  get lastSecond (): number {
    return this.lastT
  }
}

/** Rebuilds a run's result from its journal: the load's seconds through the same aggregation as a live run, the probe series through the same store. */
export function recoverJournal (path: string): { result: RunResult; header: JournalHeader; seconds: number } {
  if (!existsSync(path)) throw new InputFileError(`${path}: no such journal`)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new InputFileError(`${path}: cannot read the journal (${describeError(err)})`)
  }
  const lines = text.split('\n')
  let header: JournalHeader | undefined
  const agg = new Aggregator()
  const store = new SeriesStore()
  const series: Array<{ probe: string; metric: string; labels?: Record<string, string>; unit: Unit }> = []
  let seconds = 0
  let lastT = 0
  const addPoints = (points: Array<[number, number, number | null]>): void => {
    for (const [i, t, v] of points) {
      const s = series[i]
      if (s) store.put(s.probe, s.metric, s.labels, s.unit, t, v)
    }
  }
  lines.forEach((raw, n) => {
    if (!raw.trim()) return
    let doc: any
    try {
      doc = JSON.parse(raw)
    } catch {
      // the last line of a killed run may be cut short: everything before it counts
      if (n >= lines.length - 2) return
      throw new InputFileError(`${path}: line ${n + 1} is not JSON: not a loadlens journal, or damaged`)
    }
    if (n === 0) {
      if (doc?.type !== 'header' || doc.format !== 'loadlens/journal') throw new InputFileError(`${path}: not a loadlens journal (its first line is not a journal header)`)
      header = doc as JournalHeader
      return
    }
    if (doc.type === 'series') series[doc.i] = { probe: doc.probe, metric: doc.metric, labels: doc.labels, unit: doc.unit }
    else if (doc.type === 'second') {
      agg.add(doc.report as SliceReport)
      addPoints(doc.points)
      seconds++
      lastT = Math.max(lastT, doc.report.slice.t)
    } else if (doc.type === 'points') addPoints(doc.points)
  })
  if (!header) throw new InputFileError(`${path}: the journal is empty`)
  const totals = agg.result()
  const probeSeries = store.series()
  const meta: RunMeta = {
    ...header.meta,
    endedAt: lastT ? lastT * 1000 + 999 : header.meta.startedAt,
    stopReason: 'interrupted',
    stopMessage: `recovered from the journal ${path}: the run ended without writing its result (killed, out of memory, or the machine went away); its last ${seconds ? 'second or two' : 'seconds'} may be missing`,
    peakUsers: totals.timeline.reduce((m, s) => Math.max(m, s.users), 0),
    ...(agg.nameOverflow ? { nameOverflow: nameOverflowInfo(agg.nameOverflow, Number(header.meta.options?.maxNames) || LOAD_DEFAULTS.maxNames) } : {})
  }
  const status: ProbeStatus[] = header.probes.map(p => ({ probe: p.probe, target: p.target, state: p.state, message: p.state === 'not configured' ? undefined : 'recovered from the journal: the probe\'s facts (top queries, examples) were not written', samples: 0, skippedTicks: 0, gaps: gapsOf(probeSeries.filter(s => s.probe === p.probe)) }))
  const result: RunResult = {
    format: RESULT_FORMAT,
    version: RESULT_VERSION,
    meta,
    totals: { overall: totals.overall, entries: totals.entries, tasks: totals.tasks },
    timeline: totals.timeline,
    errors: totals.errors,
    exceptions: totals.exceptions,
    probes: { series: probeSeries, status }
  }
  return { result, header, seconds }
}

/**
 * A probe's gaps, from its stored series: the seconds where it wrote a gap (a null) and no
 * value, joined into runs (the journal keeps the gaps' places, not their reasons).
 */
export function gapsOf (series: Series[]): ProbeGap[] {
  const empty = new Set<number>()
  const seen = new Set<number>()
  for (const s of series) {
    for (const [t, v] of s.points) (v === null ? empty : seen).add(t)
  }
  const ts = [...empty].filter(t => !seen.has(t)).sort((a, b) => a - b)
  const gaps: ProbeGap[] = []
  for (const t of ts) {
    const last = gaps[gaps.length - 1]
    if (last && t === last.to + 1) last.to = t
    else gaps.push({ from: t, to: t, reason: 'no data (recovered from the journal, which keeps no reasons)' })
  }
  return gaps
}
