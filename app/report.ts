/**
 * `loadlens report result.json`: re-renders the outputs of a stored result (HTML, CSV,
 * JUnit, Markdown) without running anything. With no output named, the HTML report is
 * written beside the result file.
 */
import { readResult } from '../shared/files.js'
import type { RunResult } from '../shared/types.js'
import { htmlBeside, writeOutputs } from './outputs.js'

export interface ReportOptions {
  html?: string
  csv?: string
  junit?: string
  md?: string
}

export interface ReportOutcome {
  result: RunResult
  files: Record<string, string>
}

export function renderReport (resultFile: string, o: ReportOptions = {}): ReportOutcome {
  const result = readResult(resultFile)
  const none = !o.html && !o.csv && !o.junit && !o.md
  const files = writeOutputs(result, { noSave: true, html: o.html ?? (none ? htmlBeside(resultFile) : undefined), csv: o.csv, junit: o.junit, md: o.md })
  return { result, files }
}
