/**
 * The diagnosis of a result (owned by the correlator work, issue 5). Until it exists a
 * result carries no diagnosis.
 */
import type { Diagnosis, RunResult } from '../shared/types.js'

export function diagnoseResult (_result: RunResult): Diagnosis | undefined {
  return undefined
}
