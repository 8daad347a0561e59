/** File helpers: atomic writes (no half-written report is ever seen) and result loading. */
import { threadId } from 'node:worker_threads'
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync, rmSync } from 'node:fs'
import { dirname, basename, join, relative, resolve } from 'node:path'
import { describeError, InputFileError } from './errors.js'
import { RESULT_FORMAT, RESULT_VERSION } from './types.js'
import type { RunResult } from './types.js'

/**
 * Makes `dir` and its missing parents, one mkdir each from the nearest existing one. (Node's
 * recursive mkdir loops forever where the kernel answers ENOENT for a folder whose parent
 * exists, as in /proc.) Throws naming a component that is a file.
 */
export function makeDirs (dir: string, mode?: number): void {
  const missing: string[] = []
  let at = resolve(dir)
  for (;;) {
    let st
    try { st = statSync(at) } catch { st = null }
    if (st) {
      if (!st.isDirectory()) throw new Error(`${relativeOrAbsolute(at)} is a file, not a directory`)
      break
    }
    missing.unshift(at)
    const up = dirname(at)
    if (up === at) break
    at = up
  }
  for (const d of missing) mkdirSync(d, mode === undefined ? undefined : { mode })
}

function relativeOrAbsolute (p: string): string {
  const r = relative(process.cwd(), p)
  return r && !r.startsWith('..') ? r : p
}

/** where results go unless --out-dir says otherwise */
export const DEFAULT_OUT_DIR = 'loadlens-results'

let tmpCount = 0

/** `private`: the file readable by its owner only, the folders it makes too (a cache of code to run) */
export function writeFileAtomic (path: string, data: string | Uint8Array, o: { private?: boolean } = {}): void {
  const dir = dirname(path)
  makeDirs(dir, o.private ? 0o700 : undefined)
  // this thread's own temporary name (pid, thread and a counter): no two writers share one
  const tmp = join(dir, `.${basename(path)}.${process.pid}-${threadId}-${++tmpCount}.tmp`)
  try {
    writeFileSync(tmp, data, o.private ? { mode: 0o600 } : undefined)
    renameSync(tmp, path)
  } catch (err) {
    rmSync(tmp, { force: true })
    throw err
  }
}

export function readResult (path: string): RunResult {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new InputFileError(`${path}: cannot read the result file (${describeError(err)})`)
  }
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    throw new InputFileError(`${path}: not a loadlens result (the file is not valid JSON)`)
  }
  return checkResult(doc, path)
}

export function checkResult (doc: unknown, path: string): RunResult {
  const r = doc as Partial<RunResult>
  if (!r || typeof r !== 'object' || r.format !== RESULT_FORMAT) {
    throw new InputFileError(`${path}: not a loadlens result (expected "format": "${RESULT_FORMAT}")`)
  }
  if (r.version !== RESULT_VERSION) {
    throw new InputFileError(`${path}: result version ${String(r.version)} is not supported (this loadlens reads version ${RESULT_VERSION})`)
  }
  if (!r.meta || !r.totals || !Array.isArray(r.timeline)) {
    throw new InputFileError(`${path}: the result is incomplete (meta, totals or timeline missing)`)
  }
  r.errors ??= []
  r.exceptions ??= []
  r.probes ??= { series: [], status: [] }
  r.totals.tasks ??= {}
  return r as RunResult
}

export function writeResult (path: string, result: RunResult): void {
  writeFileAtomic(path, JSON.stringify(result))
}

/** "20261126-142501" (UTC): a time for file names */
export function fileStamp (ms = Date.now()): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-')
}

/** "mluvme-development-20261126-142501" */
export function runIdFor (scenario: string, profile: string | undefined, startedAt: number): string {
  const d = new Date(startedAt)
  const p = (n: number): string => String(n).padStart(2, '0')
  const stamp = `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`
  const slug = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'run'
  return `${slug(scenario)}-${slug(profile ?? 'custom')}-${stamp}`
}
