/**
 * Writing a result's outputs (owned by the reports work, issue 6): the result JSON, the HTML
 * report next to it, and CSV (Locust's files), JUnit and Markdown when asked. Every file is
 * written atomically.
 */
import { rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, extname, join } from 'node:path'
import { UsageError, describeError } from '../shared/errors.js'
import { makeDirs, writeFileAtomic, writeResult } from '../shared/files.js'
import { redactDeep } from '../shared/redact.js'
import type { RunResult } from '../shared/types.js'
import { renderHtml } from '../reports/html/report.js'
import { locustCsvFiles } from '../reports/csv.js'
import { junitXml } from '../reports/junit.js'
import { markdownSummary } from '../reports/markdown.js'

export { DEFAULT_OUT_DIR } from '../shared/files.js'
import { DEFAULT_OUT_DIR } from '../shared/files.js'

export interface OutputOptions {
  /** where the result JSON goes (default: <outDir>/<run id>.json) */
  json?: string
  outDir?: string
  /** do not write the result JSON */
  noSave?: boolean
  /** the HTML report (default: beside the result JSON, <run id>.html) */
  html?: string
  /** do not write the HTML report unless `html` names a file */
  noHtml?: boolean
  /** CSV files with Locust's names: <prefix>_stats.csv, _stats_history.csv, _failures.csv, _exceptions.csv */
  csv?: string
  /** JUnit XML (checklist items and expectations as test cases) */
  junit?: string
  /** Markdown summary for pull-request comments */
  md?: string
}

/** How each kind of file is named when the paths are printed. */
export const OUTPUT_LABELS: Record<string, string> = {
  json: 'Result',
  html: 'HTML report',
  csvStats: 'CSV stats',
  csvHistory: 'CSV history',
  csvFailures: 'CSV failures',
  csvExceptions: 'CSV exceptions',
  junit: 'JUnit XML',
  md: 'Markdown'
}

export function outputLabel (kind: string): string {
  return OUTPUT_LABELS[kind] ?? kind
}

const CSV_KINDS: Record<string, string> = { '_stats.csv': 'csvStats', '_stats_history.csv': 'csvHistory', '_failures.csv': 'csvFailures', '_exceptions.csv': 'csvExceptions' }

/** The HTML file beside a result JSON: x/run.json -> x/run.html */
export function htmlBeside (jsonPath: string): string {
  const ext = extname(jsonPath)
  return join(dirname(jsonPath), `${basename(jsonPath, ext === '.json' ? ext : '')}.html`)
}

/** Can a file be written at `path`? Its folder is made when missing; a test file is written and removed. */
function checkWritable (path: string, flag: string, isDir = false): void {
  const dir = isDir ? path : dirname(path)
  try {
    if (!isDir) {
      let st
      try { st = statSync(path) } catch { st = null }
      if (st?.isDirectory()) throw new Error('it is a directory')
    }
    makeDirs(dir)
    const probe = join(dir, `.loadlens-write-check-${process.pid}`)
    writeFileSync(probe, '')
    rmSync(probe, { force: true })
  } catch (err) {
    const why = describeError(err).replace(/^E[A-Z]+: /, '')
    throw new UsageError(`${flag}: cannot write ${isDir ? 'into ' : ''}${path} (${why})`)
  }
}

/**
 * Checks, before any load is sent, that every output can be written: each folder can be made
 * and a file written in it. A usage error names the flag; nothing runs.
 */
export function checkOutputs (o: OutputOptions): void {
  if (!o.noSave) {
    if (o.json) checkWritable(o.json, '--json')
    else checkWritable(o.outDir ?? DEFAULT_OUT_DIR, o.outDir ? '--out-dir' : `the output folder (${DEFAULT_OUT_DIR}; --out-dir sets another)`, true)
  }
  if (o.html) checkWritable(o.html, '--html')
  if (o.csv) checkWritable(`${o.csv}_stats.csv`, '--csv')
  if (o.junit) checkWritable(o.junit, '--junit')
  if (o.md) checkWritable(o.md, '--md')
}

/**
 * Writes the outputs like writeOutputs; when one cannot be written at the end all the same
 * (the disk filled up, the folder went away), the result JSON goes to the temporary folder
 * instead and `failed` says what was not written, so nothing measured is lost.
 */
export function writeOutputsSafely (result: RunResult, o: OutputOptions): { files: Record<string, string>; failed: string[] } {
  try {
    return { files: writeOutputs(result, o), failed: [] }
  } catch (err) {
    const failed = [describeError(err)]
    const fallback = join(tmpdir(), `${result.meta.runId}.json`)
    try {
      writeResult(fallback, redactDeep(result))
      return { files: { json: fallback }, failed }
    } catch (err2) {
      return { files: {}, failed: [...failed, describeError(err2)] }
    }
  }
}

/** Writes the outputs; returns {kind: path} of what was written. Every output is rendered from the result with its secrets redacted. */
export function writeOutputs (resultIn: RunResult, o: OutputOptions): Record<string, string> {
  const result = redactDeep(resultIn)
  const files: Record<string, string> = {}
  let jsonPath: string | undefined
  if (!o.noSave) {
    jsonPath = o.json ?? join(o.outDir ?? DEFAULT_OUT_DIR, `${result.meta.runId}.json`)
    writeResult(jsonPath, result)
    files.json = jsonPath
  }
  const html = o.html ?? (jsonPath && !o.noHtml ? htmlBeside(jsonPath) : undefined)
  if (html) {
    writeFileAtomic(html, renderHtml(result))
    files.html = html
  }
  if (o.csv) {
    for (const [suffix, text] of Object.entries(locustCsvFiles(result))) {
      const path = `${o.csv}${suffix}`
      writeFileAtomic(path, text)
      files[CSV_KINDS[suffix]!] = path
    }
  }
  if (o.junit) {
    writeFileAtomic(o.junit, junitXml(result))
    files.junit = o.junit
  }
  if (o.md) {
    writeFileAtomic(o.md, markdownSummary(result))
    files.md = o.md
  }
  return files
}
