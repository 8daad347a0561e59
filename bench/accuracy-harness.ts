/**
 * The correlator's accuracy on the demo targets: a case is one target (express or FastAPI),
 * one fault toggle or none, one load and one deployment variation; it must yield its fault's
 * finding as the top-ranked cause and no wrong finding beside it (a healthy case: no finding
 * at all). Used by the demo test (short runs), the `accuracy` bench section (the live case
 * matrix, bench/matrix.ts) and the recorded corpus it writes (test/fixtures/cases), which
 * test/corpus.test.ts replays through diagnose().
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ChecklistItem, Diagnosis, Finding, RunResult } from '../shared/types.js'
import type { FaultName } from '../demo/mluvme/faults.js'
import type { FastapiVariant } from '../demo/fastapi/launch.js'
import { runDemo } from '../app/demo.js'
import type { DemoOptions, DemoTargetKind } from '../app/demo.js'

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
  target?: DemoTargetKind
  variant?: FastapiVariant
  /** the fault's value (e.g. "128" for leak=128 KB a request) */
  faultValue?: string
  /** load duration (default 30s: the demo's shortened development profile) */
  runTime?: string
  users?: number
  spawnRate?: number
  /** the bundled Mluv.Me locustfile run by Locust instead of the TypeScript scenario */
  locust?: boolean
  log?: (line: string) => void
  /** write the outputs here and keep them (default: a temporary folder, removed after) */
  outDir?: string
  /** hooks around the run, given the demo target (see DemoOptions) */
  onTarget?: DemoOptions['onTarget']
  beforeStop?: DemoOptions['beforeStop']
}

export async function runMode (mode: Mode, o: AccuracyOptions = {}): Promise<ModeOutcome> {
  const dir = o.outDir ?? mkdtempSync(join(tmpdir(), `loadlens-accuracy-${mode}-`))
  const t0 = Date.now()
  try {
    const out = await runDemo({
      targetKind: o.target,
      variant: o.variant,
      fault: mode === 'healthy' ? undefined : o.faultValue ? `${mode}=${o.faultValue}` : mode,
      ...(o.users !== undefined ? { ...(o.locust ? {} : { profile: 'development' }), users: o.users, spawnRate: o.spawnRate ?? o.users } : {}),
      locust: o.locust,
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
    o.log?.(`${ok ? 'ok  ' : 'MISS'} ${(o.target ?? 'express').padEnd(8)} ${mode.padEnd(10)} expected ${expected ?? 'no finding'}; found ${found.length ? found.join(', ') : 'nothing'}${found.length ? ` (top: ${res.titles[0]})` : ''}`)
    return res
  } finally {
    if (!o.outDir) rmSync(dir, { recursive: true, force: true })
  }
}

/** What one case's diagnosis was judged as. */
export interface Judged {
  expected: string | null
  /** top-level finding ids, ranked */
  found: string[]
  /** findings that are neither the expected cause nor allowed beside it */
  wrong: string[]
  /** the expected cause is the top finding (healthy: no finding) and nothing wrong came with it */
  ok: boolean
}

/** Judges a diagnosis against a case's label: its expected top cause and the findings allowed beside it. */
export function judge (d: Diagnosis, expected: string | null, allowed: string[] = []): Judged {
  const found = d.findings.map(f => f.id)
  const wrong = found.filter(id => id !== expected && !allowed.includes(id))
  const ok = (expected === null ? found.length === 0 : found[0] === expected) && wrong.length === 0
  return { expected, found, wrong, ok }
}

export interface Score {
  runs: number
  /** of the top-ranked causes named, the share that were right */
  precision: number
  /** of the faults, the share whose cause was named top */
  recall: number
  /** faults whose expected cause was the top finding, of the fault cases */
  top1: number
  /** healthy cases with any finding */
  falseAlarms: number
  healthy: number
  /** wrong findings over all cases (beside or instead of the right one) */
  wrongFindings: number
  misses: string[]
}

/** Precision, recall and top-1 accuracy of the top-ranked cause, false findings on healthy cases. */
export function score (outcomes: Array<Judged & { label: string }>): Score {
  let tp = 0
  let fp = 0
  let fn = 0
  let faults = 0
  let healthy = 0
  let falseAlarms = 0
  let wrongFindings = 0
  const misses: string[] = []
  for (const o of outcomes) {
    const top = o.found[0]
    wrongFindings += o.wrong.length
    if (o.expected === null) {
      healthy++
      if (top) { fp++; falseAlarms++; misses.push(`${o.label}: false finding ${o.found.join(', ')}`) }
      continue
    }
    faults++
    if (top === o.expected) {
      tp++
      if (o.wrong.length) misses.push(`${o.label}: right, but also ${o.wrong.join(', ')}`)
    } else {
      fn++
      if (top) fp++
      misses.push(`${o.label}: expected ${o.expected}, top was ${top ?? 'nothing'}`)
    }
  }
  return { runs: outcomes.length, precision: tp + fp ? tp / (tp + fp) : 1, recall: tp + fn ? tp / (tp + fn) : 1, top1: faults ? tp / faults : 1, falseAlarms, healthy, wrongFindings, misses }
}
