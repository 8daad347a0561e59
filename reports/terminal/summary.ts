/** The end-of-run summary printed to the terminal, in the manner of Locust's headless mode. */
import type { RunResult } from '../../shared/types.js'
import { formatDuration } from '../../shared/duration.js'
import { tableStats } from '../stats.js'
import type { RowStats } from '../stats.js'
import { formatMs, formatNumber, formatTable } from './table.js'

export function formatStatsTable (result: RunResult): string {
  const { rows, overall } = tableStats(result)
  const all: RowStats[] = [...rows, overall]
  return formatTable(all, [
    { title: 'Type', value: r => r.type || '', align: 'left' },
    { title: 'Name', value: r => r.name, align: 'left', max: 48 },
    { title: '# reqs', value: r => formatNumber(r.requests) },
    { title: '# fails', value: r => `${formatNumber(r.failures)} (${(r.failureRatio * 100).toFixed(2)}%)` },
    { title: 'Avg', value: r => formatMs(r.avgMs) },
    { title: 'Min', value: r => formatMs(r.minMs) },
    { title: 'Max', value: r => formatMs(r.maxMs) },
    { title: 'Med', value: r => formatMs(r.p50) },
    { title: 'p95', value: r => formatMs(r.p95) },
    { title: 'p99', value: r => formatMs(r.p99) },
    { title: 'req/s', value: r => formatNumber(r.rps, 2) },
    { title: 'Avg size', value: r => formatNumber(r.avgBytes) }
  ], new Set([rows.length]))
}

export function formatFailures (result: RunResult, limit = 15): string {
  if (result.errors.length === 0) return ''
  const rows = result.errors.slice(0, limit)
  let out = formatTable(rows, [
    { title: '# occurrences', value: e => formatNumber(e.count), align: 'right' },
    { title: 'Type', value: e => e.type, align: 'left' },
    { title: 'Name', value: e => e.name, align: 'left', max: 40 },
    { title: 'Error', value: e => e.message, align: 'left', max: 70 }
  ])
  if (result.errors.length > limit) out += `\n... and ${result.errors.length - limit} more error groups (see the report)`
  return out
}

export function formatExceptions (result: RunResult, limit = 10): string {
  if (result.exceptions.length === 0) return ''
  return formatTable(result.exceptions.slice(0, limit), [
    { title: '# occurrences', value: e => formatNumber(e.count), align: 'right' },
    { title: 'User.task', value: e => `${e.userClass}.${e.task}`, align: 'left', max: 40 },
    { title: 'Exception', value: e => e.message, align: 'left', max: 80 }
  ])
}

export function formatRunHeader (result: RunResult): string {
  const m = result.meta
  const d = (m.endedAt - m.startedAt) / 1000
  const model = m.model.kind === 'closed'
    ? `closed model, peak ${m.peakUsers ?? '?'} users`
    : `open model, ${m.droppedIterations ?? 0} dropped iterations`
  const stop = m.stopReason === 'completed' ? '' : `  stopped: ${m.stopReason}${m.stopMessage ? ` (${m.stopMessage})` : ''}`
  return `${m.scenario}${m.profile ? ` / ${m.profile}` : ''} against ${m.host}: ${formatDuration(d)}, ${model}${stop}`
}

/** Everything the terminal shows at the end of a run, except findings and the checklist. */
export function formatSummary (result: RunResult): string {
  const parts = [formatRunHeader(result), '', formatStatsTable(result)]
  const f = formatFailures(result)
  if (f) parts.push('', 'Failures', f)
  const x = formatExceptions(result)
  if (x) parts.push('', 'Exceptions in tasks', x)
  if (result.meta.abortedAtStop) parts.push('', `${result.meta.abortedAtStop} requests were still in flight when the stop timeout ran out (not counted).`)
  if (result.meta.nameOverflow) parts.push('', `Warning: ${result.meta.nameOverflow.message}.`)
  if (result.meta.distortion && !result.diagnosis?.unreliable) parts.push('', `Generator: ${result.meta.distortion.message}.`)
  return parts.join('\n')
}
