/** `loadlens diagnose result.json`: the diagnosis of a stored result, computed again (analyse.ts). */
import type { Diagnosis, RunResult } from '../shared/types.js'
import { readResult, writeResult } from '../shared/files.js'
import { analyse } from './analyse.js'
import { formatDiagnosis } from '../reports/terminal/findings.js'

export interface DiagnoseFileOptions {
  /** store the new diagnosis in the file (or in `out`) */
  write?: boolean
  out?: string
  json?: boolean
  stdout?: NodeJS.WritableStream
}

/** Re-computes the diagnosis of a stored result and prints it. */
export function diagnoseFile (path: string, o: DiagnoseFileOptions = {}): { result: RunResult; diagnosis: Diagnosis } {
  const result = analyse(readResult(path), { checklist: 'if-present' })
  const diagnosis = result.diagnosis!
  const stdout = o.stdout ?? process.stdout
  if (o.json) stdout.write(JSON.stringify(diagnosis, null, 2) + '\n')
  else stdout.write(formatDiagnosis(result) + '\n')
  if (o.write || o.out) writeResult(o.out ?? path, result)
  return { result, diagnosis }
}
