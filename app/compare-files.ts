/** `loadlens compare base.json new.json`: the baseline-vs-target table, as a CI gate. */
import { readResult, writeFileAtomic } from '../shared/files.js'
import { InputFileError } from '../shared/errors.js'
import { compareResults, comparisonHtml, comparisonMarkdown, formatComparison } from '../reports/comparison.js'
import type { Comparison } from '../reports/comparison.js'
import { overlayCharts } from '../reports/charts.js'

export interface CompareFilesOptions {
  /** relative change that counts as a regression (0.1 = 10 %) */
  tolerance?: number
  failOnRegression?: boolean
  /** compare results of different scenarios or targets all the same */
  force?: boolean
  md?: string
  html?: string
  json?: boolean
  stdout?: NodeJS.WritableStream
}

export function compareFiles (basePath: string, nextPath: string, o: CompareFilesOptions = {}): { comparison: Comparison; exitCode: number; files: Record<string, string> } {
  const base = readResult(basePath)
  const next = readResult(nextPath)
  const comparison = compareResults(base, next, { tolerance: o.tolerance })
  if (comparison.mismatch.length && !o.force) {
    throw new InputFileError(`${basePath} and ${nextPath} are runs of ${comparison.mismatch.join(' and ')}: their figures do not compare (give --force to compare them anyway)`)
  }
  const stdout = o.stdout ?? process.stdout
  stdout.write(o.json ? JSON.stringify(comparison, null, 2) + '\n' : formatComparison(comparison) + '\n')
  const files: Record<string, string> = {}
  if (o.md) { writeFileAtomic(o.md, comparisonMarkdown(comparison)); files.md = o.md }
  if (o.html) { writeFileAtomic(o.html, comparisonHtml(comparison, overlayCharts(base, next))); files.html = o.html }
  return { comparison, exitCode: o.failOnRegression && comparison.regressions.length ? 1 : 0, files }
}
