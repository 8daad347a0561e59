/**
 * `loadlens merge results/*.json`: the segments of one distributed run (`--segment i/N` on
 * several machines or processes) merged exactly into one result. Histograms are added (HDR),
 * never averaged; the timeline is merged by epoch second (users, requests and failures
 * summed, error groups renumbered); probe series come from the segment that ran the probes.
 * The merged result is an ordinary result: every report, the diagnosis and the checklist
 * read it. Inputs that cannot be segments of one run are refused with one line (exit 2).
 */
import type { Writable } from 'node:stream'
import { InputFileError } from '../shared/errors.js'
import { readResult, runIdFor } from '../shared/files.js'
import { mergeEncoded, encodeHistogram } from '../shared/hist.js'
import type {
  CostSummary, EntryTotals, ErrorGroup, ExceptionGroup, ProbeStatus, RunResult, Series, SegmentInfo, Share, ThreadHealth, TimelineSlice
} from '../shared/types.js'
import { mergeSlices } from '../loadgen/aggregate.js'
import { errorSignature } from '../loadgen/recorder.js'
import { findDistortion, findSaturation } from '../loadgen/health.js'
import { WHOLE } from '../loadgen/share.js'
import { computeCost } from '../reports/cost.js'
import { formatSummary } from '../reports/terminal/summary.js'
import { analyse } from './analyse.js'
import { writeOutputs, outputLabel } from './outputs.js'

export interface MergeInput {
  path: string
  result: RunResult
}

export interface MergeOutcome {
  result: RunResult
  /** things the user should know (missing segments, probes in several segments) */
  warnings: string[]
}

const EPS = 1e-9

/** The segments a result holds: its own, or those it was merged from. */
function segmentsOf (r: RunResult): SegmentInfo[] {
  if (r.meta.segments?.length) return r.meta.segments
  const m = r.meta
  return [{
    segment: m.segment ?? 'whole',
    share: m.share ?? WHOLE,
    runId: m.runId,
    hostname: m.machine?.hostname ?? 'unknown',
    cpus: m.machine?.cpus ?? 0,
    workers: m.workers ?? 1,
    startedAt: m.startedAt,
    endedAt: m.endedAt,
    stopReason: m.stopReason,
    requests: r.totals.overall.requests,
    probes: r.probes.series.length > 0,
    ...(m.saturation ? { saturation: m.saturation } : {})
  }]
}

function shareText (s: Share): string {
  return `[${s.from.toFixed(4)}, ${s.to.toFixed(4)})`
}

/** Refuses inputs that are not segments of one run: one line naming the file and the field. */
function checkCompatible (inputs: MergeInput[]): void {
  const first = inputs[0]!
  const a = first.result.meta
  for (const x of inputs.slice(1)) {
    const b = x.result.meta
    if (b.scenario !== a.scenario) throw new InputFileError(`${x.path}: scenario "${b.scenario}" differs from "${a.scenario}" in ${first.path}; only segments of one run can be merged`)
    if (b.host !== a.host) throw new InputFileError(`${x.path}: host ${b.host} differs from ${a.host} in ${first.path}; only segments of one run can be merged`)
    if ((b.profile ?? '') !== (a.profile ?? '')) throw new InputFileError(`${x.path}: profile "${b.profile ?? '(none)'}" differs from "${a.profile ?? '(none)'}" in ${first.path}; only segments of one run can be merged`)
    if (JSON.stringify(b.model) !== JSON.stringify(a.model)) throw new InputFileError(`${x.path}: the load model (users, rates, stages) differs from the one in ${first.path}; only segments of one run can be merged`)
    if (b.versions?.loadlens !== a.versions?.loadlens) throw new InputFileError(`${x.path}: written by loadlens ${b.versions?.loadlens ?? 'unknown'}, but ${first.path} by loadlens ${a.versions?.loadlens ?? 'unknown'}; merge results of one loadlens version`)
  }
  // every part of the load may be merged once
  const parts = inputs.flatMap(x => segmentsOf(x.result).map(s => ({ path: x.path, s })))
  parts.sort((p, q) => p.s.share.from - q.s.share.from || p.s.share.to - q.s.share.to)
  for (let i = 1; i < parts.length; i++) {
    const prev = parts[i - 1]!
    const cur = parts[i]!
    if (cur.s.share.from < prev.s.share.to - EPS) {
      const same = prev.path === cur.path ? '' : ` of ${prev.path}`
      throw new InputFileError(`${cur.path}: segment ${cur.s.segment} ${shareText(cur.s.share)} overlaps segment ${prev.s.segment} ${shareText(prev.s.share)}${same}; each part of the load can be merged only once`)
    }
  }
}

function mergeTotals (list: EntryTotals[]): EntryTotals {
  const first = list[0]!
  const h = mergeEncoded(list.map(e => e.hist))
  const withRequests = list.filter(e => e.requests > 0)
  const out: EntryTotals = {
    key: first.key,
    type: first.type,
    name: first.name,
    requests: list.reduce((a, e) => a + e.requests, 0),
    failures: list.reduce((a, e) => a + e.failures, 0),
    bytes: list.reduce((a, e) => a + e.bytes, 0),
    minUs: withRequests.length ? Math.min(...withRequests.map(e => e.minUs)) : 0,
    maxUs: Math.max(0, ...list.map(e => e.maxUs)),
    sumUs: list.reduce((a, e) => a + e.sumUs, 0),
    hist: encodeHistogram(h)
  }
  h.destroy()
  return out
}

function groupSignature (g: ErrorGroup): string {
  return errorSignature(g.type, g.name, { kind: g.kind, status: g.status, message: g.message })
}

/** Error groups of all inputs by signature, renumbered; returns per-input id maps. */
function mergeErrors (inputs: MergeInput[]): { errors: ErrorGroup[]; remap: Array<Map<string, string>> } {
  const all = inputs.flatMap((x, i) => x.result.errors.map(g => ({ g, i })))
  all.sort((p, q) => p.g.firstAt - q.g.firstAt || p.i - q.i || Number(p.g.id) - Number(q.g.id))
  const bySig = new Map<string, ErrorGroup>()
  const remap = inputs.map(() => new Map<string, string>())
  for (const { g, i } of all) {
    const sig = groupSignature(g)
    let m = bySig.get(sig)
    if (!m) {
      m = { ...g, id: String(bySig.size), count: 0 }
      bySig.set(sig, m)
    }
    m.count += g.count
    m.firstAt = Math.min(m.firstAt, g.firstAt)
    m.lastAt = Math.max(m.lastAt, g.lastAt)
    remap[i]!.set(g.id, m.id)
  }
  const errors = [...bySig.values()].sort((a, b) => b.count - a.count || Number(a.id) - Number(b.id))
  return { errors, remap }
}

function mergeExceptions (inputs: MergeInput[]): ExceptionGroup[] {
  const byKey = new Map<string, ExceptionGroup>()
  for (const x of inputs) {
    for (const e of x.result.exceptions) {
      const key = `${e.userClass}\u001f${e.task}\u001f${e.message}`
      const known = byKey.get(key)
      if (known) {
        known.count += e.count
        known.firstAt = Math.min(known.firstAt, e.firstAt)
        known.stack ??= e.stack
      } else {
        byKey.set(key, { ...e })
      }
    }
  }
  return [...byKey.values()].sort((a, b) => b.count - a.count)
}

/** A slice of one input, ready to be added: error ids renumbered, threads named by segment. */
function prepareSlice (s: TimelineSlice, remap: Map<string, string>, segment: string | undefined, path: string): TimelineSlice {
  const out: TimelineSlice = { ...s }
  if (s.errors) {
    const errors: Record<string, number> = {}
    for (const [id, n] of Object.entries(s.errors)) {
      const to = remap.get(id)
      if (to === undefined) throw new InputFileError(`${path}: timeline second ${s.t} counts error group ${id}, which is not in the result's errors (the file was edited or is damaged)`)
      errors[to] = (errors[to] ?? 0) + n
    }
    out.errors = errors
  }
  const g = s.generator
  if (g) {
    const threads: ThreadHealth[] = g.workers?.length ? g.workers : [{ elu: g.elu, loopDelayP99Ms: g.loopDelayP99Ms }]
    out.generator = { ...g, workers: threads.map(t => (t.segment || !segment ? { ...t } : { ...t, segment })) }
  }
  return out
}

function mergeTimeline (inputs: MergeInput[], remap: Array<Map<string, string>>): TimelineSlice[] {
  const byT = new Map<number, TimelineSlice>()
  inputs.forEach((x, i) => {
    const seg = x.result.meta.segments?.length ? undefined : x.result.meta.segment
    for (const s of x.result.timeline) {
      const prepared = prepareSlice(s, remap[i]!, seg, x.path)
      const known = byT.get(s.t)
      byT.set(s.t, known ? mergeSlices(known, prepared) : prepared)
    }
  })
  return [...byT.values()].sort((a, b) => a.t - b.t)
}

/** Probe series and statuses from the segments that have them; the lowest segment wins a tie. */
function mergeProbes (inputs: MergeInput[], warnings: string[]): RunResult['probes'] {
  const series = new Map<string, Series>()
  const status = new Map<string, ProbeStatus>()
  const from: string[] = []
  let dropped = 0
  for (const x of inputs) {
    if (x.result.probes.series.length === 0 && x.result.probes.status.length === 0) continue
    from.push(x.result.meta.segment ?? x.path)
    for (const s of x.result.probes.series) {
      if (series.has(s.id)) dropped++
      else series.set(s.id, s)
    }
    for (const st of x.result.probes.status) {
      const key = `${st.probe}\u001f${st.target}`
      if (!status.has(key)) status.set(key, st)
    }
  }
  if (dropped > 0) warnings.push(`probes ran in more than one segment (${from.join(', ')}): ${dropped} series kept from the first only; run them in one segment (--probes-on i)`)
  return { series: [...series.values()], status: [...status.values()] }
}

function mergeCost (inputs: MergeInput[], merged: RunResult): CostSummary | undefined {
  const costs = inputs.map(x => x.result.cost).filter((c): c is CostSummary => c !== undefined)
  if (costs.length === 0) return undefined
  const units: Record<string, number> = {}
  for (const c of costs) for (const [key, v] of Object.entries(c.byName)) units[key] = v.unit
  return computeCost(merged, units, costs[0]!.currency, costs[0]!.budget)
}

/** Merges results of segments of one run. Inputs must be in any order; they are sorted by segment. */
export function mergeResults (given: MergeInput[]): MergeOutcome {
  if (given.length === 0) throw new InputFileError('merge: expected one or more result files')
  const inputs = [...given].sort((a, b) => segmentsOf(a.result)[0]!.share.from - segmentsOf(b.result)[0]!.share.from)
  checkCompatible(inputs)
  const warnings: string[] = []
  const segments = inputs.flatMap(x => segmentsOf(x.result)).sort((a, b) => a.share.from - b.share.from)
  const covered = segments.reduce((a, s) => a + (s.share.to - s.share.from), 0)
  if (covered < 1 - 1e-6) {
    warnings.push(`the merged result holds ${(covered * 100).toFixed(1)}% of the load (segments ${segments.map(s => s.segment).join(', ')}); a segment is missing`)
  }

  const first = inputs[0]!.result
  const { errors, remap } = mergeErrors(inputs)
  const timeline = mergeTimeline(inputs, remap)
  const keys = [...new Set(inputs.flatMap(x => x.result.totals.entries.map(e => e.key)))].sort((a, b) => a.localeCompare(b))
  const entries = keys.map(k => mergeTotals(inputs.flatMap(x => x.result.totals.entries.filter(e => e.key === k))))
  const tasks: Record<string, number> = {}
  for (const x of inputs) for (const [k, n] of Object.entries(x.result.totals.tasks)) tasks[k] = (tasks[k] ?? 0) + n

  const metas = inputs.map(x => x.result.meta)
  const startedAt = Math.min(...metas.map(m => m.startedAt))
  const endedAt = Math.max(...metas.map(m => m.endedAt))
  const notCompleted = metas.find(m => m.stopReason !== 'completed')
  const sum = (f: (m: RunResult['meta']) => number | undefined): number | undefined => {
    const v = metas.map(f).filter((n): n is number => n !== undefined)
    return v.length ? v.reduce((a, b) => a + b, 0) : undefined
  }
  const share: Share = { from: segments[0]!.share.from, to: segments[segments.length - 1]!.share.to }
  const result: RunResult = {
    format: first.format,
    version: first.version,
    meta: {
      ...first.meta,
      runId: `${runIdFor(first.meta.scenario, first.meta.profile, startedAt)}-merged`,
      startedAt,
      endedAt,
      stopReason: notCompleted?.stopReason ?? 'completed',
      stopMessage: notCompleted ? `segment ${notCompleted.segment ?? '?'}: ${notCompleted.stopMessage ?? notCompleted.stopReason}` : undefined,
      share,
      segment: segments.map(s => s.segment).join(','),
      mergedFrom: metas.reduce((a, m) => a + (m.mergedFrom ?? 1), 0),
      segments,
      options: { command: 'merge', inputs: inputs.map(x => x.path), segmentOptions: first.meta.options },
      requestTimeoutMs: Math.max(...metas.map(m => m.requestTimeoutMs)),
      workers: sum(m => m.workers ?? 1),
      abortedAtStop: sum(m => m.abortedAtStop),
      droppedIterations: sum(m => m.droppedIterations),
      peakUsers: sum(m => m.peakUsers),
      readiness: metas.find(m => m.readiness)?.readiness,
      saturation: undefined
    },
    totals: { overall: mergeTotals(inputs.map(x => x.result.totals.overall)), entries, tasks },
    timeline,
    errors,
    exceptions: mergeExceptions(inputs),
    probes: mergeProbes(inputs, warnings)
  }
  const saturation = findSaturation(timeline)
  if (saturation) result.meta.saturation = saturation
  else delete result.meta.saturation
  const distortion = findDistortion(timeline)
  if (distortion) result.meta.distortion = distortion
  else delete result.meta.distortion
  if (!result.meta.stopMessage) delete result.meta.stopMessage
  const cost = mergeCost(inputs, result)
  if (cost) result.cost = cost
  // (the merged cost is the inputs' summed above, not computed again)
  analyse(result, { checklist: inputs.some(x => x.result.checklist) })
  return { result, warnings }
}

export interface MergeFilesOptions {
  /** the merged result JSON (default: <outDir>/<run id>.json) */
  output?: string
  outDir?: string
  /** the HTML report (default: beside the merged JSON) */
  html?: string
  noHtml?: boolean
  quiet?: boolean
  stdout?: Writable
  stderr?: Writable
}

/** Reads, checks, merges and writes; prints the summary unless quiet. */
export function mergeFiles (paths: string[], o: MergeFilesOptions = {}): MergeOutcome & { files: Record<string, string> } {
  if (paths.length === 0) throw new InputFileError('merge: expected one or more result files (e.g. loadlens merge results/*.json -o merged.json)')
  const inputs = paths.map(path => ({ path, result: readResult(path) }))
  const outcome = mergeResults(inputs)
  const files = writeOutputs(outcome.result, { json: o.output, outDir: o.outDir, html: o.html, noHtml: o.noHtml })
  const stdout = o.stdout ?? process.stdout
  const stderr = o.stderr ?? process.stderr
  for (const w of outcome.warnings) stderr.write(`loadlens: warning: ${w}\n`)
  if (!o.quiet) {
    const m = outcome.result.meta
    stdout.write(`Merged ${paths.length} result${paths.length === 1 ? '' : 's'} (segments ${m.segment}, ${m.workers} load thread${m.workers === 1 ? '' : 's'} on ${new Set(m.segments!.map(s => s.hostname)).size} machine(s))\n\n`)
    stdout.write(formatSummary(outcome.result) + '\n')
    if (m.saturation) stdout.write(`\nGenerator: ${m.saturation.message}\n`)
    for (const [kind, path] of Object.entries(files)) stdout.write(`${outputLabel(kind)}: ${path}\n`)
  }
  return { ...outcome, files }
}
