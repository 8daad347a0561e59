/**
 * The stored results of an output folder, as the web UI lists them: each with its verdict
 * and headline figures. Files are read once and kept while their size and time are unchanged.
 */
import { readdirSync, statSync } from 'node:fs'
import { join, basename } from 'node:path'
import { readResult } from '../shared/files.js'
import { redactDeep } from '../shared/redact.js'
import type { RunResult } from '../shared/types.js'
import { verdictOf } from '../reports/verdict.js'
import { tableStats } from '../reports/stats.js'

export interface ResultEntry {
  file: string
  runId: string
  scenario: string
  profile?: string
  host: string
  startedAt: number
  durationS: number
  requests: number
  failureRatio: number
  p95: number
  rps: number
  verdict: { state: string; label: string; summary: string }
  findings: number
  stopReason: string
}

interface Cached { key: string; entry?: ResultEntry; result?: RunResult }

export class ResultStore {
  private readonly cache = new Map<string, Cached>()

  constructor (readonly dir: string) {}

  /** Result files, newest first. Files that are not loadlens results are left out. */
  list (): ResultEntry[] {
    let names: string[]
    try {
      names = readdirSync(this.dir).filter(n => n.endsWith('.json') && !n.startsWith('.'))
    } catch {
      return []
    }
    const out: ResultEntry[] = []
    for (const n of names) {
      const e = this.entry(n)
      if (e) out.push(e)
    }
    return out.sort((a, b) => b.startedAt - a.startedAt)
  }

  /** A file name from the listing (never a path): undefined when it is not a result here. */
  entry (file: string): ResultEntry | undefined {
    if (file !== basename(file) || !file.endsWith('.json')) return undefined
    const c = this.load(file)
    return c?.entry
  }

  result (file: string): RunResult | undefined {
    if (file !== basename(file) || !file.endsWith('.json')) return undefined
    return this.load(file)?.result
  }

  private load (file: string): Cached | undefined {
    const path = join(this.dir, file)
    let key: string
    try {
      const st = statSync(path)
      if (!st.isFile()) return undefined
      key = `${st.size}:${st.mtimeMs}`
    } catch {
      return undefined
    }
    const hit = this.cache.get(file)
    if (hit && hit.key === key) return hit
    const c: Cached = { key }
    try {
      // a stored file written by an older loadlens may hold secrets: every page and download shows it redacted
      const r = redactDeep(readResult(path))
      const { overall } = tableStats(r)
      const v = verdictOf(r)
      c.result = r
      c.entry = {
        file,
        runId: r.meta.runId,
        scenario: r.meta.scenario,
        profile: r.meta.profile,
        host: r.meta.host,
        startedAt: r.meta.startedAt,
        durationS: (r.meta.endedAt - r.meta.startedAt) / 1000,
        requests: overall.requests,
        failureRatio: overall.failureRatio,
        p95: overall.p95,
        rps: overall.rps,
        verdict: { state: v.state, label: v.label, summary: v.summary },
        findings: r.diagnosis?.findings.length ?? 0,
        stopReason: r.meta.stopReason
      }
    } catch {
      // not a result (or unreadable): listed as nothing
    }
    this.cache.set(file, c)
    // keep the cache from growing without bound in a busy folder
    if (this.cache.size > 500) this.cache.delete(this.cache.keys().next().value!)
    return c
  }
}
