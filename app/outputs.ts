/**
 * Writing a result's outputs (owned by the reports work, issue 6): the result JSON, the HTML
 * report next to it, and CSV (Locust's files), JUnit and Markdown when asked. Every file is
 * written atomically.
 */
import { rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, extname, join } from 'node:path'
import { describeError, OutputPathError } from '../shared/errors.js'
import { makeDirs, writeFileAtomic, writeResult } from '../shared/files.js'
import { redactDeep } from '../shared/redact.js'
import type { RunResult } from '../shared/types.js'
import { CSV_REPORTERS, REPORTERS } from '../reports/reporters.js'

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

export { outputLabel } from '../reports/reporters.js'

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
    throw new OutputPathError(`${flag}: cannot write ${isDir ? 'into ' : ''}${path} (${why})`)
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
    writeFileAtomic(html, REPORTERS.html.render(result))
    files.html = html
  }
  if (o.csv) {
    for (const kind of CSV_REPORTERS) {
      const path = `${o.csv}${REPORTERS[kind].suffix}`
      writeFileAtomic(path, REPORTERS[kind].render(result))
      files[kind] = path
    }
  }
  if (o.junit) {
    writeFileAtomic(o.junit, REPORTERS.junit.render(result))
    files.junit = o.junit
  }
  if (o.md) {
    writeFileAtomic(o.md, REPORTERS.md.render(result))
    files.md = o.md
  }
  return files
}
