/**
 * `loadlens recover <journal>`: the result of a run that ended without writing it (killed,
 * out of memory, the machine gone), rebuilt from its journal: diagnosed, its checklist ticked,
 * and every report written, as `loadlens run` would have. The result JSON goes beside the
 * journal unless --json names another file.
 */
import { basename, dirname, join } from 'node:path'
import type { RunResult } from '../shared/types.js'
import { analyse } from './analyse.js'
import { JOURNAL_SUFFIX, recoverJournal } from './journal.js'
import { writeOutputs } from './outputs.js'
import type { OutputOptions } from './outputs.js'

export interface RecoverOutcome {
  result: RunResult
  files: Record<string, string>
  /** seconds of load the journal held */
  seconds: number
}

export function isJournal (file: string): boolean {
  return file.endsWith(JOURNAL_SUFFIX)
}

export function recoverRun (journalFile: string, o: OutputOptions = {}): RecoverOutcome {
  const { result, header, seconds } = recoverJournal(journalFile)
  analyse(result, { costs: header.costs ? { units: header.costs, currency: header.currency } : undefined })
  const json = o.json ?? join(dirname(journalFile), `${basename(journalFile, JOURNAL_SUFFIX)}.json`)
  const files = writeOutputs(result, { ...o, json })
  return { result, files, seconds }
}
