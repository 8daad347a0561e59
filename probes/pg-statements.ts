/**
 * The target's statements as pg_stat_activity shows them running, sample by sample: what a
 * person sees running `SELECT query, now() - query_start FROM pg_stat_activity` every second,
 * kept per statement. It needs no extension, so it measures slow statements where
 * pg_stat_statements is missing (and adds, where it is there, what each statement waited on).
 *
 * Each sample, every active session of the target gives (statement text, age, wait event).
 * Texts are normalised (literals -> ?, whitespace folded) so one statement with other
 * parameters is one entry. Per statement: the samples that saw it running, the instances seen,
 * their ages (a bounded reservoir), on the CPU vs by wait event. As series, per statement
 * (label `statement`, an id s1, s2 ... given in the order statements were first seen; the
 * text is in the facts): `statement_active`, the instances running in the sample (0 once
 * known), and `statement_age_s`, the oldest instance's age (null when none ran).
 *
 * Reading an age: a sample catches a statement with a probability that grows with its
 * duration, at a point uniformly spread over its run, so the ages seen average about half
 * the typical duration of a statement of steady length.
 */
import { METRICS } from '../shared/metrics.js'
import type { PgActiveStatement } from '../shared/types.js'
import type { Reading } from './probe.js'

/** statements that get series and an entry; later ones are counted under "(other)" */
const MAX_STATEMENTS = 20
/** ages kept per statement (a uniform reservoir) */
const MAX_AGES = 400
const TEXT_MAX = 1024

export interface ActiveRow {
  query: string
  ageS: number | null
  /** "type:event", or null on the CPU */
  wait: string | null
}

interface Entry {
  id: string
  text: string
  samples: number
  instances: number
  ages: number[]
  agesSeen: number
  onCpu: number
  waits: Record<string, number>
}

const OTHER = '(other)'

/** Literals to ?, comments dropped, whitespace folded, IN lists to one ?; $1 placeholders kept. */
export function normalizeStatement (text: string): string {
  return text
    .replace(/--[^\n]*/g, ' ')
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/'(?:[^']|'')*'/g, '?')
    .replace(/(?<![\w$.])-?\d+(?:\.\d+)?(?![\w])/g, '?')
    .replace(/\(\s*\?(?:\s*,\s*\?)+\s*\)/g, '(?)')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, TEXT_MAX)
}

export class ActiveStatements {
  private readonly entries = new Map<string, Entry>()
  private readonly other: Entry = { id: OTHER, text: OTHER, samples: 0, instances: 0, ages: [], agesSeen: 0, onCpu: 0, waits: {} }
  private totalSamples = 0
  private random = 42

  /** one sample: the target's active sessions (the probe's own left out) */
  add (rows: ActiveRow[]): Reading[] {
    this.totalSamples++
    const now = new Map<Entry, { n: number; age: number | null }>()
    for (const row of rows) {
      const text = normalizeStatement(row.query)
      if (!text) continue
      const e = this.entry(text)
      const cur = now.get(e) ?? { n: 0, age: null }
      cur.n++
      if (row.ageS !== null && row.ageS >= 0) {
        cur.age = Math.max(cur.age ?? 0, row.ageS)
        this.keepAge(e, row.ageS)
      }
      now.set(e, cur)
      e.instances++
      if (row.wait) e.waits[row.wait] = (e.waits[row.wait] ?? 0) + 1
      else e.onCpu++
    }
    for (const e of now.keys()) e.samples++
    const out: Reading[] = []
    for (const e of [...this.entries.values(), ...(this.other.instances ? [this.other] : [])]) {
      const cur = now.get(e)
      out.push({ metric: METRICS.pg.statementActive, labels: { statement: e.id }, unit: 'count', value: cur?.n ?? 0 })
      out.push({ metric: METRICS.pg.statementAgeS, labels: { statement: e.id }, unit: 's', value: cur?.age ?? null })
    }
    return out
  }

  private entry (text: string): Entry {
    let e = this.entries.get(text)
    if (e) return e
    if (this.entries.size >= MAX_STATEMENTS) return this.other
    e = { id: `s${this.entries.size + 1}`, text, samples: 0, instances: 0, ages: [], agesSeen: 0, onCpu: 0, waits: {} }
    this.entries.set(text, e)
    return e
  }

  private keepAge (e: Entry, age: number): void {
    e.agesSeen++
    if (e.ages.length < MAX_AGES) { e.ages.push(age); return }
    // reservoir sampling with a fixed-seed generator: every age seen has the same chance to stay
    this.random = (this.random * 1103515245 + 12345) % 2147483648
    const j = this.random % e.agesSeen
    if (j < MAX_AGES) e.ages[j] = age
  }

  samples (): number {
    return this.totalSamples
  }

  /** every statement seen, the most instances first */
  facts (): PgActiveStatement[] {
    const list = [...this.entries.values(), ...(this.other.instances ? [this.other] : [])]
    return list.sort((a, b) => b.instances - a.instances).map((e) => {
      const ages = [...e.ages].sort((a, b) => a - b)
      const q = (p: number): number | null => ages.length ? Math.round(ages[Math.min(ages.length - 1, Math.floor(p * ages.length))]! * 1e4) / 10 : null
      return { id: e.id, query: e.text, samples: e.samples, instances: e.instances, ageMedianMs: q(0.5), ageP90Ms: q(0.9), ageMaxMs: ages.length ? Math.round(ages[ages.length - 1]! * 1e4) / 10 : null, onCpu: e.onCpu, waits: e.waits }
    })
  }
}
