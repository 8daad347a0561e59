/**
 * Writing a result's outputs (owned by the reports work, issue 6): the result JSON always,
 * and HTML, CSV, JUnit and Markdown when asked. Every file is written atomically.
 */
import { join } from 'node:path'
import { writeResult } from '../shared/files.js'
import type { RunResult } from '../shared/types.js'

export interface OutputOptions {
  /** where the result JSON goes (default: <outDir>/<run id>.json) */
  json?: string
  outDir?: string
  /** do not write the result JSON */
  noSave?: boolean
}

/** Writes the outputs; returns {kind: path} of what was written. */
export function writeOutputs (result: RunResult, o: OutputOptions): Record<string, string> {
  const files: Record<string, string> = {}
  if (!o.noSave) {
    const path = o.json ?? join(o.outDir ?? 'loadlens-results', `${result.meta.runId}.json`)
    writeResult(path, result)
    files.json = path
  }
  return files
}
