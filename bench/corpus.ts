/**
 * The recorded corpus: results of the case matrix's live runs, kept under test/fixtures/cases
 * as `<case id>.json.gz` (the result JSON as `loadlens run` writes it, trimmed of what
 * diagnose() does not read: its own diagnosis and checklist, per-core CPU, network and
 * Prometheus series, per-thread generator health) and one index.json of their labels. Replayed
 * through diagnose() by test/corpus.test.ts, so a rule change is checked against every
 * recorded case in seconds.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync, gzipSync } from 'node:zlib'
import type { RunResult } from '../shared/types.js'
import type { CaseSpec } from './matrix.js'

/** the fixtures folder in the source tree, from src (bench/) or from dist/bench/ */
export function corpusDir (): string {
  if (process.env.LOADLENS_CORPUS_DIR) return resolve(process.env.LOADLENS_CORPUS_DIR)
  const here = dirname(fileURLToPath(import.meta.url))
  const fromSrc = resolve(here, '..', 'test', 'fixtures', 'cases')
  return here.split('/').includes('dist') ? resolve(here, '..', '..', 'test', 'fixtures', 'cases') : fromSrc
}

/**
 * A case recorded by hand against a backend that is not one of the demo targets (written
 * independently of loadlens; its code, scenario and the commands that ran it are kept under
 * test/fixtures/<source>): the live matrix does not re-record it.
 */
export interface ExternalCaseSpec extends Omit<CaseSpec, 'target'> {
  target: 'flask'
  /** the folder of test/fixtures with the backend's code and how it was run */
  source: string
}

export type CorpusEntry = (CaseSpec | ExternalCaseSpec) & {
  file: string
  /** when and with which loadlens it was recorded */
  recordedAt: string
  loadlens: string
  /** what the diagnosis said at recording time (for the record; the test recomputes it) */
  foundAtRecording: string[]
  /** how the case differs from what the matrix would record today, when it does */
  note?: string
}

export interface CorpusIndex {
  about: string
  cases: CorpusEntry[]
}

const DROP_SERIES = [/^host\.cpu_core/, /^host\.net_/, /^host\.swap/, /^metrics\./]

export function trimResult (r: RunResult): RunResult {
  const out: RunResult = JSON.parse(JSON.stringify(r))
  delete out.diagnosis
  delete out.checklist
  out.probes.series = out.probes.series.filter(s => !DROP_SERIES.some(re => re.test(s.id)))
  for (const s of out.timeline) if (s.generator) delete s.generator.workers
  for (const st of out.probes.status) {
    if (st.probe === 'logs' && st.facts) delete st.facts.examples
  }
  return out
}

export function readIndex (dir = corpusDir()): CorpusIndex {
  const file = join(dir, 'index.json')
  if (!existsSync(file)) return { about: '', cases: [] }
  return JSON.parse(readFileSync(file, 'utf8')) as CorpusIndex
}

export function readCase (entry: CorpusEntry, dir = corpusDir()): RunResult {
  return JSON.parse(gunzipSync(readFileSync(join(dir, entry.file))).toString('utf8')) as RunResult
}

/** Writes (or replaces) one recorded case and its label. */
export function writeCase (spec: CaseSpec | ExternalCaseSpec, result: RunResult, found: string[], loadlens: string, dir = corpusDir()): CorpusEntry {
  mkdirSync(dir, { recursive: true })
  const file = `${spec.id}.json.gz`
  writeFileSync(join(dir, file), gzipSync(JSON.stringify(trimResult(result)), { level: 9 }))
  const index = readIndex(dir)
  const entry: CorpusEntry = { ...spec, file, recordedAt: new Date().toISOString().slice(0, 10), loadlens, foundAtRecording: found }
  index.about = 'Recorded cases of the accuracy matrix (bench/matrix.ts): one live run each, labelled with the expected top cause (null: healthy) and the findings allowed beside it; set = tuning (thresholds chosen on these), held-out (never tuned on) or seen (held out until a first run that changed a rule). Written by `npm run bench -- accuracy --record`; cases with a `source` were recorded by hand against a backend outside the demo targets (its code in test/fixtures/<source>).'
  index.cases = [...index.cases.filter(c => c.id !== spec.id), entry].sort((a, b) => a.id.localeCompare(b.id))
  writeFileSync(join(dir, 'index.json'), JSON.stringify(index, null, 1) + '\n')
  return entry
}
