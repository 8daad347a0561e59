/**
 * The outputs a result can be written as, in one table: each kind's name (the key of the
 * files written, the web UI's download path), its label when its path is printed, the suffix
 * of its file, its content type and how it is rendered. Results are rendered as they are:
 * the caller redacts first (app/outputs.ts, the web UI's store).
 */
import type { RunResult } from '../shared/types.js'
import { renderHtml } from './html/report.js'
import { locustCsvFiles } from './csv.js'
import { junitXml } from './junit.js'
import { markdownSummary } from './markdown.js'

export interface Reporter {
  label: string
  /** the file's suffix after the run id or the --csv prefix */
  suffix: string
  type: string
  render: (r: RunResult) => string
}

export const REPORTERS = {
  json: { label: 'Result', suffix: '.json', type: 'application/json', render: r => JSON.stringify(r) },
  html: { label: 'HTML report', suffix: '.html', type: 'text/html; charset=utf-8', render: r => renderHtml(r) },
  'csv-stats': { label: 'CSV stats', suffix: '_stats.csv', type: 'text/csv; charset=utf-8', render: r => locustCsvFiles(r)['_stats.csv']! },
  'csv-history': { label: 'CSV history', suffix: '_stats_history.csv', type: 'text/csv; charset=utf-8', render: r => locustCsvFiles(r)['_stats_history.csv']! },
  'csv-failures': { label: 'CSV failures', suffix: '_failures.csv', type: 'text/csv; charset=utf-8', render: r => locustCsvFiles(r)['_failures.csv']! },
  'csv-exceptions': { label: 'CSV exceptions', suffix: '_exceptions.csv', type: 'text/csv; charset=utf-8', render: r => locustCsvFiles(r)['_exceptions.csv']! },
  junit: { label: 'JUnit XML', suffix: '.junit.xml', type: 'application/xml; charset=utf-8', render: r => junitXml(r) },
  md: { label: 'Markdown', suffix: '.md', type: 'text/markdown; charset=utf-8', render: r => markdownSummary(r) }
} satisfies Record<string, Reporter>

export type ReporterKind = keyof typeof REPORTERS

/** the CSV kinds, written together under one --csv prefix */
export const CSV_REPORTERS = (Object.keys(REPORTERS) as ReporterKind[]).filter(k => k.startsWith('csv-'))

/** how a kind of file is named when its path is printed */
export function outputLabel (kind: string): string {
  return (REPORTERS as Record<string, Reporter>)[kind]?.label ?? kind
}
