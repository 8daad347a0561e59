/**
 * `loadlens check result.json`: the pre-deploy checklist of a stored result, as a CI gate.
 * Readiness flags re-check items 8-10 now; without them the run's own findings are used.
 */
import type { ChecklistItem, RunResult } from '../shared/types.js'
import { readResult, writeResult } from '../shared/files.js'
import { checklistExitCode } from '../reports/checklist.js'
import { analyse } from './analyse.js'
import { formatChecklist } from '../reports/terminal/checklist.js'
import { checkReadiness } from './readiness.js'
import { writeOutputs } from './outputs.js'
import type { ReadinessOptions } from './readiness.js'

export interface CheckOptions {
  readiness?: ReadinessOptions
  /** checklist ids that only warn (in addition to the profile's) */
  advisory?: string[]
  strict?: boolean
  /** write the result with its new checklist to this file */
  out?: string
  json?: boolean
  /** JUnit XML of the checklist (items as test cases) */
  junit?: string
  /** a Markdown summary */
  md?: string
  stdout?: NodeJS.WritableStream
}

export async function checkResult (path: string, o: CheckOptions = {}): Promise<{ result: RunResult; items: ChecklistItem[]; exitCode: number }> {
  const result = readResult(path)
  const given = o.readiness && Object.values(o.readiness).some(v => v !== undefined)
  analyse(result, { diagnose: 'if-missing', readiness: given ? await checkReadiness(o.readiness!) : undefined, advisory: o.advisory })
  const items = result.checklist!
  const stdout = o.stdout ?? process.stdout
  stdout.write(o.json ? JSON.stringify(items, null, 2) + '\n' : formatChecklist(items, o.strict) + '\n')
  if (o.out) writeResult(o.out, result)
  if (o.junit || o.md) writeOutputs(result, { noSave: true, junit: o.junit, md: o.md })
  return { result, items, exitCode: checklistExitCode(items, o.strict) }
}
