/**
 * The correlator's accuracy on the demo target: each fault toggle must yield its finding as
 * the top-ranked cause, and the healthy target no finding at all. Used by a test (short
 * runs) and by the `accuracy` bench section (longer runs, precision and recall).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ChecklistItem, Diagnosis, Finding, RunResult } from '../shared/types.js'
import type { FaultName } from '../demo/mluvme/faults.js'
import { runDemo } from './demo.js'
import type { DemoOptions } from './demo.js'

/** The finding each fault must produce as the top-ranked cause (healthy: none). */
export const EXPECTED: Record<'healthy' | FaultName, string | null> = {
  healthy: null,
  pool: 'pool-saturation',
  'cache-off': 'cache-hit-rate',
  'cache-ttl': 'cache-hit-rate',
  leak: 'memory-leak',
  'slow-query': 'slow-query',
  'idle-tx': 'idle-in-transaction',
  backlog: 'celery-backlog',
  cpu: 'target-cpu',
  errors: 'error-burst'
}

export type Mode = keyof typeof EXPECTED

export interface ModeOutcome {
  mode: Mode
  expected: string | null
  /** ids of the top-level findings, ranked */
  found: string[]
  /** the expected finding is the top-ranked one (healthy: there is none) */
  ok: boolean
  diagnosis: Diagnosis
  titles: string[]
  /** the run's pre-deploy checklist and the exit code it gave */
  checklist: ChecklistItem[]
  exitCode: number
  result: RunResult
  seconds: number
}

export interface AccuracyOptions {
  /** the fault's value (e.g. "128" for leak=128 KB a request) */
  faultValue?: string
  /** load duration per mode (default 30s: the demo's shortened development profile) */
  runTime?: string
  users?: number
  spawnRate?: number
  log?: (line: string) => void
  /** hooks around the run, given the demo target (see DemoOptions) */
  onTarget?: DemoOptions['onTarget']
  beforeStop?: DemoOptions['beforeStop']
}

export async function runMode (mode: Mode, o: AccuracyOptions = {}): Promise<ModeOutcome> {
  const dir = mkdtempSync(join(tmpdir(), `loadlens-accuracy-${mode}-`))
  const t0 = Date.now()
  try {
    const out = await runDemo({
      fault: mode === 'healthy' ? undefined : o.faultValue ? `${mode}=${o.faultValue}` : mode,
      ...(o.users !== undefined ? { profile: 'development', users: o.users, spawnRate: o.spawnRate ?? o.users } : {}),
      runTime: o.runTime ?? '30s',
      quiet: true,
      handleSignals: false,
      outDir: dir,
      noHtml: true,
      onTarget: o.onTarget,
      beforeStop: o.beforeStop
    })
    const diagnosis = out.result.diagnosis!
    const found = diagnosis.findings.map((f: Finding) => f.id)
    const expected = EXPECTED[mode]
    const ok = expected === null ? found.length === 0 : found[0] === expected
    const res: ModeOutcome = { mode, expected, found, ok, diagnosis, titles: diagnosis.findings.map(f => f.title), checklist: out.result.checklist ?? [], exitCode: out.exitCode, result: out.result, seconds: (Date.now() - t0) / 1000 }
    o.log?.(`${ok ? 'ok  ' : 'MISS'} ${mode.padEnd(10)} expected ${expected ?? 'no finding'}; found ${found.length ? found.join(', ') : 'nothing'}${found.length ? ` (top: ${res.titles[0]})` : ''}`)
    return res
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export interface Score {
  runs: number
  precision: number
  recall: number
  /** healthy runs with a finding */
  falseAlarms: number
  misses: string[]
}

/** Precision and recall of the top-ranked cause over a set of runs. */
export function score (outcomes: ModeOutcome[]): Score {
  let tp = 0
  let fp = 0
  let fn = 0
  let falseAlarms = 0
  const misses: string[] = []
  for (const o of outcomes) {
    const top = o.found[0]
    if (o.expected === null) {
      if (top) { fp++; falseAlarms++; misses.push(`${o.mode}: false alarm ${top}`) }
      continue
    }
    if (top === o.expected) tp++
    else {
      fn++
      if (top) fp++
      misses.push(`${o.mode}: expected ${o.expected}, top was ${top ?? 'nothing'}`)
    }
  }
  return { runs: outcomes.length, precision: tp + fp ? tp / (tp + fp) : 1, recall: tp + fn ? tp / (tp + fn) : 1, falseAlarms, misses }
}
