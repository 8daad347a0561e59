/**
 * Per-table access counters of the target's database (pg_stat_user_tables): sequential scans
 * and the rows they read, index scans, live rows. Read at the start, every few samples and at
 * the end; the readings are rates of rows read by sequential scans per table
 * (`seq_tup_read_per_s`, label `table`, at most MAX_TABLES tables, the first to be scanned),
 * and the facts are the whole run's deltas per table. A large table read by sequential scans
 * at the pace of the load is what a missing index looks like, with or without
 * pg_stat_statements.
 */
import type pg from 'pg'
import { METRICS } from '../shared/metrics.js'
import type { PgTableActivity } from '../shared/types.js'
import type { Reading } from './probe.js'
import { Rates } from './probe.js'

const MAX_TABLES = 10
const FACT_TABLES = 15
const OTHER = '(other)'

type TableCounters = Omit<PgTableActivity, 'table' | 'seconds'>

/** one row at least (a database without tables), so the statement's own query id always comes back */
const query = (ownIdColumn: string): string => `SELECT /* loadlens-probe */ x.*${ownIdColumn} FROM (SELECT 1) one LEFT JOIN ` +
  '(SELECT schemaname || \'.\' || relname AS t, seq_scan::float8 AS seq, seq_tup_read::float8 AS seq_read, ' +
  'coalesce(idx_scan, 0)::float8 AS idx, coalesce(idx_tup_fetch, 0)::float8 AS idx_fetch, n_live_tup::float8 AS live FROM pg_stat_user_tables) x ON true'

export class TableActivity {
  private first: Map<string, TableCounters> | null = null
  private last: Map<string, TableCounters> | null = null
  private firstAt = 0
  private lastAt = 0
  private readonly rates = new Rates()
  private readonly labelled: string[] = []

  /**
   * @param ownIdColumn a select-list item naming the statement's own query id (`, ... AS own`),
   *   so the probe can leave this statement out of pg_stat_statements figures
   * @returns the readings and the statement's own query id, when the server gives one
   */
  async read (client: pg.Client, now: number, ownIdColumn = ''): Promise<{ readings: Reading[]; own?: string }> {
    const r = await client.query(query(ownIdColumn))
    const snap = new Map<string, TableCounters>()
    for (const row of r.rows) if (row.t !== null) snap.set(row.t, { seqScans: row.seq, seqTupRead: row.seq_read, idxScans: row.idx, idxTupFetch: row.idx_fetch, liveTuples: row.live })
    if (!this.first) { this.first = snap; this.firstAt = now }
    this.last = snap
    this.lastAt = now
    const perTable = new Map<string, number | null>()
    for (const [t, c] of snap) {
      const rate = this.rates.rate(t, c.seqTupRead, now)
      if (rate === null) continue
      if (!this.labelled.includes(t) && rate > 0 && this.labelled.length < MAX_TABLES) this.labelled.push(t)
      const key = this.labelled.includes(t) ? t : OTHER
      if (key === OTHER && rate === 0) continue
      perTable.set(key, (perTable.get(key) ?? 0) + rate)
    }
    const out: Reading[] = []
    for (const t of [...this.labelled, ...(perTable.has(OTHER) ? [OTHER] : [])]) {
      out.push({ metric: METRICS.pg.seqTupReadPerS, labels: { table: t }, unit: 'per_s', value: perTable.get(t) ?? 0 })
    }
    return { readings: out, own: r.rows[0]?.own ?? undefined }
  }

  /** the run's deltas per table, the most rows read by sequential scans first */
  facts (): PgTableActivity[] {
    if (!this.first || !this.last) return []
    const seconds = (this.lastAt - this.firstAt) / 1000
    const out: PgTableActivity[] = []
    for (const [t, c] of this.last) {
      const s = this.first.get(t) ?? { seqScans: 0, seqTupRead: 0, idxScans: 0, idxTupFetch: 0, liveTuples: 0 }
      const d = { seqScans: c.seqScans - s.seqScans, seqTupRead: c.seqTupRead - s.seqTupRead, idxScans: c.idxScans - s.idxScans, idxTupFetch: c.idxTupFetch - s.idxTupFetch }
      if (d.seqScans < 0 || d.seqTupRead < 0) continue // statistics were reset
      if (d.seqScans === 0 && d.idxScans === 0) continue
      out.push({ table: t, ...d, liveTuples: c.liveTuples, seconds })
    }
    return out.sort((a, b) => b.seqTupRead - a.seqTupRead || b.idxScans - a.idxScans).slice(0, FACT_TABLES)
  }
}
