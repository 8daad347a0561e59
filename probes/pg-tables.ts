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

/** catalog reads are redone every this many counter reads (a table created during the run joins then) */
const CATALOG_EVERY = 6

/**
 * The user tables and their indexes, as pg_stat_user_tables picks them (tables, TOAST tables,
 * materialized views and partitioned tables outside pg_catalog, information_schema and the
 * TOAST schemas). One row at least (a database without tables), so the statement's own query
 * id always comes back.
 */
const catalogQuery = (ownIdColumn: string): string => `SELECT /* loadlens-probe */ x.*${ownIdColumn} FROM (SELECT 1) one LEFT JOIN ` +
  "(SELECT c.oid::text AS oid, n.nspname || '.' || c.relname AS t, array(SELECT i.indexrelid::text FROM pg_index i WHERE i.indrelid = c.oid) AS idx " +
  "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 't', 'm', 'p') " +
  "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast') x ON true"

/**
 * The counters of the cached relations (tables and their indexes), through the functions
 * behind pg_stat_user_tables: none of the view's catalog joins and grouping, which cost the
 * server about 0.5 ms a read; the relation list is a constant, so the statement is planned once
 */
const countersQuery = (oids: string[], ownIdColumn: string): string => `SELECT /* loadlens-probe */ x.*${ownIdColumn} FROM (SELECT 1) one LEFT JOIN ` +
  '(SELECT r::text AS oid, pg_stat_get_numscans(r)::float8 AS scans, pg_stat_get_tuples_returned(r)::float8 AS returned, ' +
  'pg_stat_get_tuples_fetched(r)::float8 AS fetched, pg_stat_get_live_tuples(r)::float8 AS live ' +
  `FROM unnest('{${oids.join(',')}}'::oid[]) r) x ON true`

interface CatalogTable { name: string; indexes: string[] }

export class TableActivity {
  private first: Map<string, TableCounters> | null = null
  private last: Map<string, TableCounters> | null = null
  private firstAt = 0
  private lastAt = 0
  private readonly rates = new Rates()
  private readonly labelled: string[] = []
  private catalog: Map<string, CatalogTable> | null = null
  private catalogVersion = 0
  private readsSinceCatalog = 0

  /** the user tables and their indexes, read again every CATALOG_EVERY reads; returns the statement's own query id */
  private async readCatalog (client: pg.Client, ownIdColumn: string): Promise<string | undefined> {
    const r = await client.query({ name: `loadlens_probe_tables_catalog${ownIdColumn ? '_own' : ''}`, text: catalogQuery(ownIdColumn) })
    const catalog = new Map<string, CatalogTable>()
    for (const row of r.rows) if (row.oid !== null) catalog.set(String(row.oid), { name: String(row.t), indexes: (row.idx ?? []).map(String) })
    const same = this.catalog && this.catalog.size === catalog.size &&
      [...catalog].every(([oid, t]) => this.catalog!.get(oid)?.indexes.join() === t.indexes.join())
    if (!same) this.catalogVersion++
    this.catalog = catalog
    this.readsSinceCatalog = 0
    return r.rows[0]?.own ?? undefined
  }

  /**
   * @param ownIdColumn a select-list item naming the statement's own query id (`, ... AS own`),
   *   so the probe can leave this statement out of pg_stat_statements figures
   * @returns the readings, the statements' own query ids, when the server gives them, and how
   *   many statements it ran (the catalog is read at first and every CATALOG_EVERY reads)
   */
  async read (client: pg.Client, now: number, ownIdColumn = ''): Promise<{ readings: Reading[]; own: string[]; statements: number }> {
    const own: string[] = []
    let statements = 1
    if (!this.catalog || ++this.readsSinceCatalog >= CATALOG_EVERY) {
      const id = await this.readCatalog(client, ownIdColumn)
      if (id) own.push(id)
      statements++
    }
    const catalog = this.catalog!
    const oids = [...catalog].flatMap(([oid, t]) => [oid, ...t.indexes])
    const r = await client.query({ name: `loadlens_probe_tables_${this.catalogVersion}${ownIdColumn ? '_own' : ''}`, text: countersQuery(oids, ownIdColumn) })
    const byOid = new Map<string, Record<string, any>>()
    for (const row of r.rows) if (row.oid !== null) byOid.set(String(row.oid), row)
    const snap = new Map<string, TableCounters>()
    for (const [oid, t] of catalog) {
      const row = byOid.get(oid)
      if (!row) continue
      let idxScans = 0
      let idxTupFetch = 0
      for (const i of t.indexes) {
        idxScans += byOid.get(i)?.scans ?? 0
        idxTupFetch += byOid.get(i)?.fetched ?? 0
      }
      // as pg_stat_user_tables counts them: a table's own fetched rows (bitmap heap scans) join
      // its indexes' fetches; a table without indexes has no index figures
      if (t.indexes.length) idxTupFetch += row.fetched
      snap.set(t.name, { seqScans: row.scans, seqTupRead: row.returned, idxScans, idxTupFetch, liveTuples: row.live })
    }
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
    if (r.rows[0]?.own) own.push(String(r.rows[0].own))
    return { readings: out, own, statements }
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
