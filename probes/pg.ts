/**
 * PostgreSQL probe: what `SELECT * FROM pg_stat_activity` shows by hand, every second, for the
 * target's database (and application_name when given), with the probe's own session left out:
 * connections by state, active sessions waiting by wait_event_type and by wait_event, the
 * oldest running query (age, and its text in the facts), the oldest open transaction, the
 * longest `idle in transaction`; all client connections of the server against
 * max_connections, and grouped by database, application_name and client address; per-second
 * deltas of pg_stat_database; and, when pg_stat_statements is there, the mean execution time
 * of the interval's statements (the probe's own statements excluded) and the top statements
 * by total time over the run, each with what pg_stat_activity saw it doing while it ran (on
 * the CPU or by wait event, matched by query id on PostgreSQL 14+).
 *
 * Cost: one round trip per sample, one statement prepared once per connection (the server
 * parses and plans it once; planning cost more than executing) over one connection named
 * `loadlens-probe`: one call of pg_stat_get_activity() (the function behind the
 * pg_stat_activity view, without the view's joins; ages computed only for the rows that need
 * them, database names from a cached map), the database's counters through the
 * pg_stat_get_db_* functions, and now and then the sums of pg_stat_statements (a read scans
 * every statement entry of the server: about 0.75 us of server CPU an entry, so the probe
 * measures what a read costs against a sample without one and reads them as often as that
 * adds at most a tenth to its statements' time, every 5th sample at most often; and at the
 * moments the run's plan asks for: where its steady state after warm-up starts and just before
 * its end, the window the diagnosis judges), read without query texts except for the top
 * queries at the end. The probe's own statements are left out by the query id each reports
 * for itself (PostgreSQL 14+; before, found once by their text). query_mean_ms and
 * calls_per_s therefore have a point at each read, covering the seconds since the one before.
 */
import pg from 'pg'
import { describeError } from '../shared/errors.js'
import { METRICS } from '../shared/metrics.js'
import { redactUrl } from '../shared/redact.js'
import type { PgAttribution, PgFacts, SeenActive } from '../shared/types.js'
import { ProbeStartError, Rates, truncate } from './probe.js'
import type { Probe, Reading } from './probe.js'
import type { ProcessRoles } from './process-roles.js'
import { SessionOwners } from './pg-owners.js'
import type { BackendRef, OwnerInfo, SessionOwner } from './pg-owners.js'
import { ActiveStatements } from './pg-statements.js'
import type { ActiveRow } from './pg-statements.js'
import { TableActivity } from './pg-tables.js'

const M = METRICS.pg
export const PROBE_APPLICATION_NAME = 'loadlens-probe'
/** marks the probe's own statements so pg_stat_statements figures can leave them out */
const MARK = '/* loadlens-probe */'
const STATES = ['active', 'idle', 'idle in transaction', 'idle in transaction (aborted)', 'other'] as const
/** PostgreSQL's own default track_activity_query_size: a long select list leaves the WHERE clause past a shorter cut */
const QUERY_TEXT_MAX = 1024
const TOP_QUERIES = 10
/** label sets kept for pg.sessions, pg.waiting and pg.wait_events; later ones are counted under "(other)" */
const MAX_GROUPS = 20
const OTHER = '(other)'
/** statements (by query id) whose running samples are counted; later ones are not */
const MAX_SEEN_STATEMENTS = 1000
/**
 * The tables' counters are read every this many samples (and at the start and the end): the
 * missing-index diagnosis reads the run's deltas, the chart a point a minute
 */
const TABLES_EVERY = 60
/**
 * pg_stat_statements' sums may add at most this share to the server time of the probe's own
 * sample statement (the diagnosis's window has its reads at the run's planned moments; these
 * fill the chart between): a read scans every entry of the server (about 0.75 us of server CPU an
 * entry here, 3.9 ms at the default 5,000), so the probe measures what a read costs (its own
 * statements' time in pg_stat_statements: a sample with the sums against one without) and
 * reads them that many samples apart. Execution time leaves out what every statement costs
 * the server besides (protocol, snapshot, sending the rows), so the share of the backend's
 * CPU is smaller still (`npm run bench -- probes` measures it against a client that only
 * reads pg_stat_activity).
 */
const SUMS_SHARE = 0.1
/** the sums are read at least this many samples apart when the rule would read them less often */
const SUMS_EVERY_MAX = 300
/**
 * The database's counters (commits, blocks, deadlocks, temp bytes) are read every this many
 * samples: their rates are charts, no finding reads them second by second
 */
const COUNTERS_EVERY = 5
/** a backend younger than this sends what it keeps for its life with every sample (it may become visible after a slow login) */
const NEW_BACKEND_S = 10

/** what a backend keeps for its life, read while it is new */
interface BackendLife { datid: number | null; addr: string | null; port: number | null; started: string | null; parallel: boolean; leader: number | null }

export interface PgProbeOptions {
  url: string
  /** sessions of this database (default: the URL's) */
  database?: string
  /** only sessions with this application_name */
  application?: string
  /**
   * the processes of the target and of the Celery workers (filled by those probes): the
   * target's sessions are then told from the others by their client ports, without an
   * application_name
   */
  roles?: ProcessRoles
  /** try CREATE EXTENSION IF NOT EXISTS pg_stat_statements (default true) */
  createExtension?: boolean
  timeoutMs?: number
  /**
   * read pg_stat_statements' sums every this many samples, whatever a read costs (tests);
   * by default every 5th sample at most often, less often when a read costs more than
   * SUMS_SHARE of a sample (sumsEveryFor), and always at the moments the run asks for (readAt)
   */
  statementsEvery?: number
  /** a backend younger than this many seconds sends what it keeps for its life with every sample (default 10) */
  newBackendS?: number
}

/** blocks: shared, local and temp blocks the statement touched (hit, read, written) */
interface StatementTotals { calls: number; totalMs: number; blocks: number }

export class PgProbe implements Probe {
  readonly name = 'pg'
  readonly target: string
  readonly timeoutMs?: number
  private client: pg.Client | null = null
  private database = ''
  private datid = 0
  private readonly rates = new Rates()
  private statements: 'available' | 'missing' = 'missing'
  private statementsNote: string | undefined
  private ownQueryIds: string[] = []
  /** a statement of the probe's own that pg_stat_statements may not have had when last looked for */
  private ownQueriesStale = false
  /** names the prepared sample statement that leaves out this set of the probe's own statements */
  private ownQueriesVersion = 0
  /** the server shows query ids in pg_stat_activity (PostgreSQL 14+) */
  private selfQueryIds = false
  private startTotals = new Map<string, StatementTotals>()
  private maxConnections: number | null = null
  private superuser = false
  private oldest: { query: string; ageS: number; state: string; at: number } | null = null
  private serverPeak = 0
  private targetPeak = 0
  private topQueries: Array<{ query: string; calls: number; meanMs: number; totalMs: number; blocksPerCall: number; seenActive?: SeenActive }> | null = null
  /**
   * the target's statements seen running in pg_stat_activity, by query id (PostgreSQL 14+): in
   * how many samples, and how many of those on the CPU (no wait event) or waiting, by wait
   * event; tells a statement that executes slowly from one that waits
   */
  private readonly seenActive = new Map<string, SeenActive>()
  private topQueriesNote: string | undefined
  private probeTxns = 0
  private sampleCount = 0
  private readonly statementRates = new Rates()
  private readonly statementsEvery: number
  /** statementsEvery, stretched to what a read of the sums costs */
  private statementsEveryNow: number
  /** moments (epoch ms) at which the run asks for the sums (its plan's steady state edges) */
  private readMoments: number[] = []
  /** the query id of the sample statement without the sums, and the probe's own statements' figures at the last read of the sums */
  private plainQid: string | null = null
  private lastOwn: Map<string, { calls: number; ms: number }> | null = null
  /** what a read of the sums and a sample without them took the server, in ms of execution (measured) */
  private readCost: { sumsMs: number; sampleMs: number } | null = null
  private lastStatementsSample = -Infinity
  /** the probe's own and the database's other statement time (ms) summed over the intervals between reads, and the latest read */
  private ownTime = { probeMs: 0, databaseMs: 0, entries: 0, last: null as null | { own: number; app: number; version: number } }
  /** database names by oid (pg_stat_get_activity gives oids); read again when an unknown oid shows */
  private datnames = new Map<number, string>()
  private readonly sessionGroups = new LabelGroups(['database', 'application', 'client'])
  private readonly typeGroups = new LabelGroups(['wait_event_type'])
  private readonly waitGroups = new LabelGroups(['wait_event_type', 'wait_event'])
  /** the server's port, which the target's client sockets connect to */
  private serverPort: number | undefined
  private owners: SessionOwners | null = null
  /** how the target's sessions were told apart in the last sample */
  private attribution: PgAttribution = { method: 'database', detail: '' }
  /** samples in which the target's processes were known but none of the database's sessions was theirs */
  private unmatchedSamples = 0
  private appMatched = false
  /** peak sessions per owner, and their client processes */
  private readonly ownerPeaks = new Map<SessionOwner, { peak: number; processes: Set<string> }>()
  private readonly statementSampler = new ActiveStatements()
  private readonly tables = new TableActivity()
  /** pg_stat_user_tables is the connected database's: read it only when that is the target's */
  private sameDatabase = false
  private leaderPid = false
  private parallelPeak = 0
  private lastTablesSample = -Infinity
  private lastCountersSample = -Infinity
  /** the probe's own backend (its connection's pid) */
  private backendPid = 0
  /** what each backend keeps for its life, by pid, as last read */
  private lives = new Map<number, BackendLife>()
  /** the next sample reads every row's life (after a connect, or when a row was not known) */
  private fullNext = true

  constructor (private readonly o: PgProbeOptions) {
    this.target = redactUrl(o.url) + (o.application ? ` (application_name ${o.application})` : '')
    this.timeoutMs = o.timeoutMs
    this.statementsEvery = Math.max(1, Math.round(o.statementsEvery ?? 5))
    this.statementsEveryNow = this.statementsEvery
  }

  private async connect (): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.o.url,
      application_name: PROBE_APPLICATION_NAME,
      connectionTimeoutMillis: 3000,
      statement_timeout: 2000,
      keepAlive: true
    })
    client.on('error', () => {
      // a dropped connection: the next sample finds the client gone and reconnects
      if (this.client === client) this.client = null
    })
    client.on('end', () => { if (this.client === client) this.client = null })
    await client.connect()
    this.client = client
    // the backend's pid, as the server knows it (a pooler in between would give the client its own key data)
    this.backendPid = Number((await client.query(`SELECT ${MARK} pg_backend_pid() AS p`)).rows[0].p)
    this.lives.clear()
    this.fullNext = true
    return client
  }

  async start (): Promise<void> {
    let client: pg.Client
    try {
      client = await this.connect()
    } catch (err) {
      throw new ProbeStartError(`cannot connect to ${redactUrl(this.o.url)}: ${describeError(err)}`, { cause: err })
    }
    const info = await client.query(`SELECT ${MARK} current_database() AS db, current_setting('max_connections')::int AS max, ` +
      `current_setting('server_version_num')::int AS version, inet_server_port() AS port, ` +
      // is_superuser is a setting: cheaper for a new session than reading the pg_roles view
      `current_setting('is_superuser') = 'on' AS su, ` +
      `CASE WHEN current_setting('is_superuser') = 'on' THEN true ELSE pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER') END AS stats`)
    const row = info.rows[0]
    this.database = this.o.database ?? row.db
    this.maxConnections = row.max
    this.superuser = Boolean(row.su) || Boolean(row.stats)
    this.selfQueryIds = row.version >= 140000
    this.leaderPid = row.version >= 130000
    this.sameDatabase = this.database === row.db
    this.serverPort = row.port ?? (Number(new URL(this.o.url).port) || 5432)
    if (this.o.roles && !this.o.application) this.owners = new SessionOwners(this.o.roles, this.serverPort)
    const db = await client.query(`SELECT ${MARK} oid FROM pg_database WHERE datname = $1`, [this.database])
    if (!db.rows.length) throw new ProbeStartError(`database "${this.database}" does not exist on ${redactUrl(this.o.url)} (--pg-database)`)
    this.datid = Number(db.rows[0].oid)
    await this.readDatabaseNames(client)
    await this.checkStatements(client)
  }

  /** pg_stat_statements: there, creatable, or how to enable it */
  private async checkStatements (client: pg.Client): Promise<void> {
    const has = async (): Promise<boolean> => (await client.query(`SELECT ${MARK} 1 FROM pg_extension WHERE extname = 'pg_stat_statements'`)).rows.length > 0
    let present = await has()
    if (!present && this.o.createExtension !== false) {
      try {
        await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements')
        present = await has()
      } catch (err) {
        this.statementsNote = `pg_stat_statements is not installed in database "${(await client.query('SELECT current_database() AS d')).rows[0].d}" and the probe may not create it (${describeError(err)}): ` +
          'as a superuser run CREATE EXTENSION pg_stat_statements; (the server needs shared_preload_libraries = \'pg_stat_statements\'); until then there is no mean query time'
        return
      }
    }
    if (!present) {
      this.statementsNote = 'pg_stat_statements is not installed: run CREATE EXTENSION pg_stat_statements; as a superuser (the server needs shared_preload_libraries = \'pg_stat_statements\')'
      return
    }
    try {
      if (!this.selfQueryIds) await this.findOwnQueries(client)
      this.startTotals = await this.perStatement(client)
      this.statements = 'available'
    } catch (err) {
      this.statementsNote = `pg_stat_statements cannot be read (${describeError(err)}): add pg_stat_statements to shared_preload_libraries in postgresql.conf and restart PostgreSQL`
    }
  }

  private async readDatabaseNames (client: pg.Client): Promise<void> {
    const r = await client.query(`SELECT ${MARK} oid, datname${this.ownIdColumn()} FROM pg_database`)
    this.datnames = new Map(r.rows.map(x => [Number(x.oid), String(x.datname)]))
    this.noteOwnQuery(r.rows[0]?.own)
  }

  /**
   * PostgreSQL 14 and later show the query id of the statement a backend runs: a statement of
   * the probe's reports its own id in this column, so pg_stat_statements figures can leave the
   * probe out without scanning every statement's text.
   */
  private ownIdColumn (): string {
    return this.selfQueryIds ? ', (SELECT query_id::text FROM pg_stat_get_activity(pg_backend_pid())) AS own' : ''
  }

  private noteOwnQuery (id: string | null | undefined): void {
    if (!id || this.ownQueryIds.includes(id)) return
    this.ownQueryIds = [...this.ownQueryIds, id].sort()
    this.ownQueriesVersion++
  }

  /** before PostgreSQL 14: the probe's own statements found by their text (a scan of every statement's text) */
  private async findOwnQueries (client: pg.Client): Promise<void> {
    const r = await client.query(`SELECT ${MARK} array_agg(DISTINCT queryid::text) AS ids FROM pg_stat_statements WHERE query LIKE '%loadlens-probe%'`)
    const ids: string[] = r.rows[0].ids ?? []
    if (ids.join() !== this.ownQueryIds.join()) this.ownQueriesVersion++
    this.ownQueryIds = ids
  }

  private async perStatement (client: pg.Client): Promise<Map<string, StatementTotals>> {
    // one row at least, so the statement's own id comes back even when the database has none
    const r = await client.query(`SELECT ${MARK} s.*${this.ownIdColumn()} FROM (SELECT 1) one LEFT JOIN ` +
      '(SELECT queryid::text AS id, sum(calls)::float8 AS calls, sum(total_exec_time)::float8 AS ms, ' +
      'sum(shared_blks_hit + shared_blks_read + shared_blks_dirtied + local_blks_hit + local_blks_read + temp_blks_read + temp_blks_written)::float8 AS blocks ' +
      'FROM pg_stat_statements(false) WHERE dbid = $1 GROUP BY queryid) s ON true', [this.datid])
    const out = new Map<string, StatementTotals>()
    for (const row of r.rows) if (row.id !== null) out.set(row.id, { calls: row.calls, totalMs: row.ms, blocks: row.blocks })
    this.noteOwnQuery(r.rows[0]?.own)
    return out
  }

  /**
   * The sample statement, prepared once per connection (so the server parses and plans it once,
   * not every second): one call of pg_stat_get_activity (every client backend of the server).
   * What a row costs the server is mostly what it sends (every value is turned into text), so
   * each row carries only what changes: its state, pid and application_name; what a backend
   * keeps for its life (database, client address and port, start, parallel leader) only while
   * it is new (`full`: for every row, after a connect or when a row was not known); what it is
   * doing (query id, wait, ages, query text) only when it is not idle. The probe's own row (its
   * backend pid, a constant of the connection) carries, every COUNTERS_EVERY-th sample, the
   * database's counters (the pg_stat_get_db_* functions: cheaper than the pg_stat_database
   * view) and, when asked, the sums of pg_stat_statements without query texts (a subquery run
   * once). No join: joining the counters to the rows cost as much as reading the rows. One
   * round trip, one transaction.
   */
  private sampleQuery (client: pg.Client, o: { full: boolean; counters: boolean; statements: boolean }): pg.QueryConfig {
    const d = this.datid
    const self = `pid = ${this.backendPid}`
    const counters = o.counters
      ? [`, CASE WHEN ${self} THEN ARRAY[pg_stat_get_db_xact_commit(${d}), pg_stat_get_db_xact_rollback(${d}), pg_stat_get_db_blocks_hit(${d}), ` +
          `pg_stat_get_db_blocks_fetched(${d}) - pg_stat_get_db_blocks_hit(${d}), pg_stat_get_db_deadlocks(${d}), pg_stat_get_db_temp_bytes(${d})::int8, ` +
          `pg_stat_get_db_conflict_all(${d})]::float8[] END AS db`]
      : []
    if (o.statements) {
      // one scan of pg_stat_statements: the database's statements without the probe's own (left
      // out by queryid, given as one array constant: a parameter would have the server plan the
      // statement again on each of its first executions), the probe's own time, the entry count,
      // the probe's own statements; as one array [calls, ms, own ms, entries, [[id, calls, ms]]]
      const own = client.escapeLiteral(`{${this.ownQueryIds.join(',')}}`)
      counters.push(`, CASE WHEN ${self} THEN (SELECT json_build_array(coalesce(sum(calls) FILTER (WHERE app), 0)::float8, ` +
        'coalesce(sum(total_exec_time) FILTER (WHERE app), 0)::float8, ' +
        'coalesce(sum(total_exec_time) FILTER (WHERE mine), 0)::float8, count(*)::float8, ' +
        // the probe's own statements one by one: what a read of these sums costs
        'json_agg(json_build_array(queryid::text, calls, total_exec_time)) FILTER (WHERE mine)) ' +
        `FROM (SELECT queryid, calls, total_exec_time, dbid = ${d} AND queryid <> ALL(${own}::bigint[]) AS app, ` +
        `dbid = ${d} AND queryid = ANY(${own}::bigint[]) AS mine FROM pg_stat_statements(false)) x) END AS stm`)
    }
    const life = "ARRAY[datid::text, client_addr::text, client_port::text, date_part('epoch', backend_start)::text, " +
      `(backend_type = 'parallel worker')::text, ${this.leaderPid ? 'leader_pid::text' : 'NULL::text'}]`
    const busy = `ARRAY[${this.selfQueryIds ? 'query_id::text' : 'NULL::text'}, wait_event_type, wait_event, ` +
      "date_part('epoch', now() - query_start)::text, date_part('epoch', now() - xact_start)::text, " +
      `date_part('epoch', now() - state_change)::text, left(query, ${QUERY_TEXT_MAX})]`
    const text = `SELECT ${MARK} state, pid, application_name AS app, ` +
      // every row's life, or a new backend's: one statement either way for pg_stat_statements (a
      // constant differs, not the shape), so a full sample is no new statement of the probe's own
      // (a role without pg_read_all_stats sees no backend_start of other roles' sessions: their
      // rows always carry what little it may see, the database among it)
      `CASE WHEN backend_start IS NULL OR backend_start > now() - interval '${o.full ? '1000 years' : `${this.o.newBackendS ?? NEW_BACKEND_S} seconds`}' THEN ${life} END AS life, ` +
      `CASE WHEN state <> 'idle' THEN ${busy} END AS busy` +
      counters.join('') + ' ' +
      // a role without pg_read_all_stats sees other roles' sessions with their database and
      // application_name only (no backend type, state or query): counted, in state "other"
      "FROM pg_stat_get_activity(NULL) WHERE backend_type IN ('client backend', 'parallel worker') OR (backend_type IS NULL AND datid IS NOT NULL)"
    const name = `loadlens_probe_sample_${d}_${o.full ? 'f' : 'n'}${o.counters ? 'c' : ''}${o.statements ? `_stm_${this.ownQueriesVersion}` : ''}`
    return { name, text }
  }

  /**
   * The sample's rows in the shape the rest of the probe reads, each with what its backend
   * keeps for its life (from this row or an earlier one); false when some row's was not known
   * (the next sample then reads it for every row).
   */
  private expandRows (rows: Array<Record<string, any>>): { rows: Array<Record<string, any>>; complete: boolean } {
    let complete = true
    const seen = new Map<number, BackendLife>()
    const num = (x: string | null | undefined): number | null => x === null || x === undefined ? null : Number(x)
    const out = rows.map((row) => {
      const pid = Number(row.pid)
      let life: BackendLife | undefined = this.lives.get(pid)
      if (Array.isArray(row.life)) {
        const [datid, addr, port, started, parallel, leader] = row.life as Array<string | null>
        life = { datid: datid === null ? null : Number(datid), addr: addr === null ? null : addr.replace(/\/(32|128)$/, ''), port: port === null ? null : Number(port), started, parallel: parallel === 'true', leader: leader === null ? null : Number(leader) }
      }
      if (!life) complete = false
      else seen.set(pid, life)
      const busy = Array.isArray(row.busy) ? row.busy as Array<string | null> : null
      const db = Array.isArray(row.db) ? (row.db as Array<string | number>).map(Number) : null
      return {
        state: row.state,
        pid,
        app: row.app,
        self: pid === this.backendPid,
        datid: life?.datid ?? null,
        addr: life?.addr ?? null,
        port: life?.port ?? null,
        started: life?.started ?? null,
        parallel: life?.parallel ?? false,
        leader: life?.leader ?? null,
        qid: busy?.[0] ?? null,
        wait: busy?.[1] ?? null,
        event: busy?.[2] ?? null,
        query_age: row.state === 'active' ? num(busy?.[3]) : null,
        xact_age: num(busy?.[4]),
        state_age: String(row.state).startsWith('idle in') ? num(busy?.[5]) : null,
        query: row.state === 'active' ? busy?.[6] ?? null : null,
        // (the sums come only with the counters)
        counters: db !== null ? true : undefined,
        ...(db ? { commits: db[0], rollbacks: db[1], hit: db[2], read: db[3], deadlocks: db[4], temp: db[5], conflicts: db[6] } : {}),
        stm: row.stm ?? null
      }
    })
    // backends that ended are forgotten (a pid the system gives again comes with its new start)
    this.lives = seen
    return { rows: out, complete }
  }

  async sample (now: number, signal: AbortSignal): Promise<Reading[]> {
    let client = this.client
    if (!client) {
      this.rates.clear()
      this.statementRates.clear()
      client = await this.connect()
    }
    const onAbort = (): void => {
      // a sample that timed out: drop the connection so the next one starts clean
      if (this.client === client) this.client = null
      client!.end().catch(() => {})
    }
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      // before PostgreSQL 14, the probe's own statements are found by their text once each has
      // run: after the first sample and after a new kind has run
      if (this.statements === 'available' && !this.selfQueryIds && (this.sampleCount === 1 || this.ownQueriesStale)) {
        // (a sum that drops because the filter grew gives null for that interval)
        await this.findOwnQueries(client)
        this.ownQueriesStale = false
        this.probeTxns++
      }
      const asked = this.readMoments.length > 0 && now >= this.readMoments[0]!
      if (asked) this.readMoments = this.readMoments.filter(m => m > now)
      const withStatements = this.statements === 'available' && (asked || this.sampleCount - this.lastStatementsSample >= this.statementsEveryNow)
      const withCounters = withStatements || this.sampleCount - this.lastCountersSample >= COUNTERS_EVERY
      // the set of the probe's own statements the sums leave out
      const version = this.ownQueriesVersion
      if (withStatements) this.lastStatementsSample = this.sampleCount
      if (withCounters) this.lastCountersSample = this.sampleCount
      const raw = await client.query(this.sampleQuery(client, { full: this.fullNext, counters: withCounters, statements: withStatements }))
      const result = this.expandRows(raw.rows)
      this.fullNext = !result.complete
      this.probeTxns++
      // a database created since the names were read: read them again before counting
      if (result.rows.some(row => row.datid !== null && !this.datnames.has(Number(row.datid)))) {
        await this.readDatabaseNames(client)
        this.probeTxns++
        if (this.sampleCount > 0) this.ownQueriesStale = true
      }
      this.sampleCount++
      await this.classifySessions(result.rows)
      const out = this.readings(result.rows, withStatements ? version : null, now)
      if (this.sameDatabase && this.sampleCount - this.lastTablesSample >= TABLES_EVERY) {
        this.lastTablesSample = this.sampleCount
        const t = await this.tables.read(client, now, this.ownIdColumn())
        t.own.forEach(id => this.noteOwnQuery(id))
        out.push(...t.readings)
        this.probeTxns += t.statements
      }
      return out
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  }

  private ownerOf (row: Record<string, any>): OwnerInfo | undefined {
    return this.owners?.owner(`${row.pid}:${row.started}`)
  }

  private noteOwner (o: OwnerInfo): void {
    let p = this.ownerPeaks.get(o.owner)
    if (!p) this.ownerPeaks.set(o.owner, p = { peak: 0, processes: new Set() })
    if (p.processes.size < 10) p.processes.add(o.process)
  }

  /**
   * Classifies the database's new sessions by their client process, then decides how this
   * sample tells the target's sessions apart: by application_name when given, by the
   * target's processes once one of the database's sessions was seen to be theirs, else every
   * session of the database counts (and the facts say why).
   */
  private async classifySessions (rows: Array<Record<string, any>>): Promise<void> {
    if (this.o.application) {
      this.attribution = { method: 'application_name', detail: `sessions with application_name "${this.o.application}" (--pg-application)` }
      return
    }
    if (!this.owners) {
      this.attribution = { method: 'database', detail: 'every session of the database: the target\'s processes are not known (give --target-pid or --target-process, or --pg-application)' }
      return
    }
    const refs: BackendRef[] = []
    for (const row of rows) {
      if (row.self !== false || row.parallel || Number(row.datid) !== this.datid) continue
      refs.push({ key: `${row.pid}:${row.started}`, port: row.port === null ? null : Number(row.port) })
    }
    await this.owners.classify(refs)
    this.owners.keepOnly(new Set(refs.map(r => r.key)))
    if (!this.appMatched && refs.some(r => this.owners!.owner(r.key)?.owner === 'app')) {
      this.appMatched = true
      this.attribution = { method: 'processes', detail: '', since: Math.floor(Date.now() / 1000) }
    }
    if (this.appMatched) {
      this.attribution.detail = 'sessions whose client port is a socket of the target\'s processes; the workers\' and other clients\' sessions are counted apart (pg.owner_sessions)'
    } else {
      if (this.owners.ready() && refs.length) this.unmatchedSamples++
      this.attribution = {
        method: 'database',
        detail: !this.owners.ready()
          ? 'every session of the database: the target\'s processes were not found yet'
          : `every session of the database: none came from the target's processes${this.unmatchedSamples ? ` in ${this.unmatchedSamples} samples` : ''} (a Unix socket, a pooler such as PgBouncer in between, or the app on another host)`
      }
    }
  }

  private noteSeenActive (queryId: string, wait: string | null): void {
    let seen = this.seenActive.get(queryId)
    if (!seen) {
      if (this.seenActive.size >= MAX_SEEN_STATEMENTS) return
      seen = { samples: 0, onCpu: 0, waits: {} }
      this.seenActive.set(queryId, seen)
    }
    seen.samples++
    if (wait) seen.waits[wait] = (seen.waits[wait] ?? 0) + 1
    else seen.onCpu++
  }

  /** statementsVersion: the own-statement set the sums of pg_stat_statements left out, null when not read */
  private readings (rows: Array<Record<string, any>>, statementsVersion: number | null, now: number): Reading[] {
    // one row per client backend; the database counters ride on the probe's own row
    const all = rows
    const activity = all.filter(row => !row.parallel)
    const mode = this.attribution.method
    const isMine = (row: Record<string, any>): boolean => {
      if (Number(row.datid) !== this.datid) return false
      if (mode === 'application_name') return row.app === this.o.application
      if (mode === 'processes') return this.ownerOf(row)?.owner === 'app'
      return true
    }
    const out: Reading[] = []
    const owners = new Map<SessionOwner, number>()
    const leaders = new Set<number>()
    const active: ActiveRow[] = []
    const byState = new Map<string, number>()
    const waiting = new Map<string, number>()
    let queryAge: number | null = null
    let xactAge: number | null = null
    let idleXactAge: number | null = null
    let oldest: { query: string; age: number } | null = null
    let total = 0
    let selfQid: string | null = null
    const serverN = activity.length
    const sessions = new Map<string, number>()
    const events = new Map<string, number>()
    for (const row of activity) {
      if (row.self) {
        this.noteOwnQuery(row.qid)
        if (row.qid && statementsVersion === null) this.plainQid = String(row.qid)
        selfQid = row.qid ? String(row.qid) : null
        continue
      }
      const datid = row.datid === null ? null : Number(row.datid)
      const datname = datid === null ? '(none)' : this.datnames.get(datid)
      const group = this.sessionGroups.key([datname ?? `oid ${datid}`, row.app || '(none)', row.addr ?? 'local'])
      sessions.set(group, (sessions.get(group) ?? 0) + 1)
      if (mode === 'processes' && datid === this.datid) {
        const o = this.ownerOf(row)
        if (o) {
          owners.set(o.owner, (owners.get(o.owner) ?? 0) + 1)
          this.noteOwner(o)
        }
      }
      if (!isMine(row)) continue
      leaders.add(Number(row.pid))
      const state = (STATES as readonly string[]).includes(row.state) ? row.state : 'other'
      byState.set(state, (byState.get(state) ?? 0) + 1)
      total++
      if (row.xact_age !== null) xactAge = Math.max(xactAge ?? 0, row.xact_age)
      if (row.state === 'active') {
        if (row.qid) this.noteSeenActive(String(row.qid), row.wait ? `${row.wait}:${row.event ?? ''}` : null)
        if (row.query) active.push({ query: String(row.query), ageS: row.query_age, wait: row.wait ? `${row.wait}:${row.event ?? ''}` : null })
        if (row.wait) {
          const type = this.typeGroups.key([row.wait])
          waiting.set(type, (waiting.get(type) ?? 0) + 1)
          const ev = this.waitGroups.key([row.wait, row.event ?? '(none)'])
          events.set(ev, (events.get(ev) ?? 0) + 1)
        }
        if (row.query_age !== null) {
          queryAge = Math.max(queryAge ?? 0, row.query_age)
          if (!oldest || row.query_age > oldest.age) oldest = { query: String(row.query ?? ''), age: row.query_age }
        }
      } else if (String(row.state).startsWith('idle in transaction') && row.state_age !== null) {
        idleXactAge = Math.max(idleXactAge ?? 0, row.state_age)
      }
    }
    this.targetPeak = Math.max(this.targetPeak, total)
    // parallel workers helping the target's statements (a large scan or aggregate)
    const parallel = all.filter(row => row.parallel && row.leader !== null && leaders.has(Number(row.leader))).length
    this.parallelPeak = Math.max(this.parallelPeak, parallel)
    if (this.leaderPid) out.push({ metric: M.parallelWorkers, unit: 'count', value: parallel })
    if (mode === 'processes') {
      for (const [owner, n] of owners) {
        const p = this.ownerPeaks.get(owner)
        if (p) p.peak = Math.max(p.peak, n)
      }
      for (const owner of ['app', 'workers', 'other'] as const) out.push({ metric: M.ownerSessions, labels: { owner }, unit: 'count', value: owners.get(owner) ?? 0 })
    }
    out.push(...this.statementSampler.add(active))
    for (const state of STATES) out.push({ metric: M.connections, labels: { state }, unit: 'count', value: byState.get(state) ?? 0 })
    for (const [key, labels] of this.typeGroups.all()) out.push({ metric: M.waiting, labels, unit: 'count', value: waiting.get(key) ?? 0 })
    for (const [key, labels] of this.waitGroups.all()) out.push({ metric: M.waitEvents, labels, unit: 'count', value: events.get(key) ?? 0 })
    for (const [key, labels] of this.sessionGroups.all()) out.push({ metric: M.sessions, labels, unit: 'count', value: sessions.get(key) ?? 0 })
    out.push({ metric: M.oldestQueryS, unit: 's', value: queryAge ?? 0 })
    out.push({ metric: M.oldestXactS, unit: 's', value: xactAge ?? 0 })
    out.push({ metric: M.idleInXactS, unit: 's', value: idleXactAge ?? 0 })
    if (oldest && (!this.oldest || oldest.age > this.oldest.ageS)) {
      this.oldest = { query: truncate(oldest.query, QUERY_TEXT_MAX), ageS: Math.round(oldest.age * 1000) / 1000, state: 'active', at: Math.floor(now / 1000) }
    }
    this.serverPeak = Math.max(this.serverPeak, serverN)
    out.push({ metric: M.serverConnections, unit: 'count', value: serverN })

    const d = rows.find(row => row.counters === true)
    if (d) {
      const commits = this.rates.delta('commits', d.commits, now)
      // the probe's own sample transactions are commits too
      const own = this.probeTxns
      this.probeTxns = 0
      out.push({ metric: M.commitsPerS, unit: 'per_s', value: commits ? Math.max(0, commits.delta - own) / commits.seconds : null })
      out.push({ metric: M.rollbacksPerS, unit: 'per_s', value: this.rates.rate('rollbacks', d.rollbacks, now) })
      const hit = this.rates.delta('hit', d.hit, now)
      const read = this.rates.delta('read', d.read, now)
      out.push({ metric: M.blockHitRatio, unit: 'ratio', value: hit && read && hit.delta + read.delta > 0 ? hit.delta / (hit.delta + read.delta) : null })
      out.push({ metric: M.deadlocks, unit: 'count', value: this.rates.delta('deadlocks', d.deadlocks, now)?.delta ?? null })
      out.push({ metric: M.tempBytesPerS, unit: 'bytes_per_s', value: this.rates.rate('temp', d.temp, now) })
      out.push({ metric: M.conflicts, unit: 'count', value: this.rates.delta('conflicts', d.conflicts, now)?.delta ?? null })
    }
    if (statementsVersion !== null && d && Array.isArray(d.stm)) {
      const [calls0, ms0, ownMs, entries] = (d.stm as unknown[]).slice(0, 4).map(Number) as [number, number, number, number]
      this.measureReadCost(d.stm[4], selfQid)
      const stm = { calls: calls0, ms: ms0, ownMs, entries }
      const last = this.ownTime.last
      if (last && last.version === statementsVersion) {
        this.ownTime.probeMs += stm.ownMs - last.own
        this.ownTime.databaseMs += stm.ms - last.app
      } else {
        // sums that leave out another set of statements: no interval across the change
        this.statementRates.clear()
      }
      this.ownTime.last = { own: stm.ownMs, app: stm.ms, version: statementsVersion }
      this.ownTime.entries = stm.entries
      const calls = this.statementRates.delta('calls', stm.calls, now)
      const ms = this.statementRates.delta('ms', stm.ms, now)
      // a read costs what scanning every entry costs: read them as often as SUMS_SHARE allows
      if (this.o.statementsEvery === undefined) this.statementsEveryNow = this.readCost
        ? sumsEveryFor(this.readCost.sumsMs, this.readCost.sampleMs, this.statementsEvery)
        : statementsEveryFor(stm.entries, this.statementsEvery)
      out.push({ metric: M.callsPerS, unit: 'per_s', value: calls ? calls.delta / calls.seconds : null })
      out.push({ metric: M.queryMeanMs, unit: 'ms', value: calls && ms && calls.delta > 0 ? ms.delta / calls.delta : null })
    }
    return out
  }

  /**
   * What the last read of the sums cost against a sample without them, from the probe's own
   * statements' figures in pg_stat_statements since the read before (the sample statement
   * with the sums is the one this sample ran, stmQid; its figures are its earlier reads').
   */
  private measureReadCost (rows: unknown, stmQid: string | null): void {
    const own = new Map<string, { calls: number; ms: number }>()
    if (Array.isArray(rows)) {
      for (const r of rows) {
        if (!Array.isArray(r)) continue
        const id = String(r[0])
        const o = own.get(id) ?? { calls: 0, ms: 0 }
        o.calls += Number(r[1]) || 0
        o.ms += Number(r[2]) || 0
        own.set(id, o)
      }
    }
    const last = this.lastOwn
    this.lastOwn = own
    if (!last || !stmQid || !this.plainQid || stmQid === this.plainQid) return
    const mean = (id: string): number | null => {
      // both reads must know the statement: its figures before the first span earlier runs
      const a = own.get(id)
      const b = last.get(id)
      return a && b && a.calls > b.calls ? (a.ms - b.ms) / (a.calls - b.calls) : null
    }
    const withSums = mean(stmQid)
    const plain = mean(this.plainQid)
    if (withSums !== null && plain !== null && plain > 0) this.readCost = { sumsMs: Math.max(0, withSums - plain), sampleMs: plain }
  }

  readAt (moments: number[]): void {
    this.readMoments = [...this.readMoments, ...moments.filter(Number.isFinite)].sort((a, b) => a - b)
  }

  /** the statements that took the most time since the probe started, with their text */
  private async readTopQueries (client: pg.Client): Promise<void> {
    const end = await this.perStatement(client)
    const own = new Set(this.ownQueryIds)
    const rows: Array<StatementTotals & { id: string }> = []
    for (const [id, v] of end) {
      if (own.has(id)) continue
      const s = this.startTotals.get(id) ?? { calls: 0, totalMs: 0, blocks: 0 }
      const calls = v.calls - s.calls
      const totalMs = v.totalMs - s.totalMs
      if (calls > 0 && totalMs >= 0) rows.push({ id, calls, totalMs, blocks: Math.max(0, v.blocks - s.blocks) })
    }
    rows.sort((a, b) => b.totalMs - a.totalMs)
    const top = rows.slice(0, TOP_QUERIES)
    const texts = new Map<string, string>()
    if (top.length) {
      const r = await client.query(`SELECT ${MARK} queryid::text AS id, left(query, 1000) AS query FROM pg_stat_statements WHERE dbid = $1 AND queryid::text = ANY($2)`, [this.datid, top.map(x => x.id)])
      for (const row of r.rows) if (!texts.has(row.id)) texts.set(row.id, row.query)
    }
    this.topQueries = top.map(x => ({
      query: truncate(texts.get(x.id) ?? `queryid ${x.id}`, QUERY_TEXT_MAX),
      calls: x.calls,
      meanMs: round(x.totalMs / x.calls, 3),
      totalMs: round(x.totalMs, 3),
      // how much data a call touched: a slow call that touched little waited rather than worked
      blocksPerCall: round(x.blocks / x.calls, 1),
      // and what pg_stat_activity saw it doing while it ran (PostgreSQL 14+)
      ...(this.selfQueryIds ? { seenActive: this.seenActive.get(x.id) ?? { samples: 0, onCpu: 0, waits: {} } } : {})
    }))
  }

  async stop (): Promise<void> {
    let client = this.client
    try {
      if (this.sameDatabase && this.sampleCount > 0) {
        if (!client) client = await this.connect()
        const t = await this.tables.read(client, Date.now(), this.ownIdColumn())
        t.own.forEach(id => this.noteOwnQuery(id))
      }
      if (this.statements === 'available') {
        if (!client) client = await this.connect()
        await this.readTopQueries(client)
      }
    } catch (err) {
      this.topQueriesNote = `top queries not read at the end: ${describeError(err)}`
    } finally {
      this.client = null
      await client?.end().catch(() => {})
    }
  }

  note (): string | undefined {
    const notes = [this.statementsNote, this.topQueriesNote]
    if (!this.superuser) notes.push('the probe\'s role is not a superuser nor in pg_read_all_stats: other roles\' sessions show only their database and application_name (counted, in state "other"; their state, waits and query hidden): grant pg_monitor to the probe\'s role')
    const text = notes.filter(Boolean).join('; ')
    return text || undefined
  }

  facts (): PgFacts {
    const f: PgFacts = {
      database: this.database,
      maxConnections: this.maxConnections,
      serverConnectionsPeak: this.serverPeak,
      connectionsPeak: this.targetPeak,
      pgStatStatements: this.statements
    }
    if (this.o.application) f.application = this.o.application
    f.attribution = {
      ...this.attribution,
      owners: Object.fromEntries([...this.ownerPeaks].map(([owner, p]) => [owner, { peakSessions: p.peak, processes: [...p.processes] }]))
    }
    const statements = this.statementSampler.facts()
    if (statements.length) f.activeStatements = statements
    f.activitySamples = this.statementSampler.samples()
    const tables = this.tables.facts()
    if (tables.length) f.tables = tables
    if (this.leaderPid) f.parallelWorkersPeak = this.parallelPeak
    if (this.oldest) f.oldestQuery = this.oldest
    if (this.topQueries) f.topQueries = this.topQueries
    if (this.ownTime.last) {
      // what the probe's own statements added to the database's statement time, over the
      // intervals between reads of pg_stat_statements
      const { probeMs, databaseMs } = this.ownTime
      f.probeCost = {
        statementMs: round(probeMs, 2),
        databaseStatementMs: round(databaseMs, 2),
        share: databaseMs > 0 ? round(probeMs / databaseMs, 4) : null,
        statementEntries: this.ownTime.entries,
        statementsEverySamples: this.statementsEveryNow,
        ...(this.readCost ? { sumsReadMs: round(this.readCost.sumsMs, 3), sampleMs: round(this.readCost.sampleMs, 3) } : {})
      }
    }
    return f
  }
}

/**
 * Label sets seen so far, in order, at most MAX_GROUPS of them: later ones share one "(other)"
 * set, so a server with many tenants cannot grow the series without bound. Every known set
 * is reported each sample (0 when absent), so a series has no false gaps.
 */
class LabelGroups {
  private readonly groups = new Map<string, Record<string, string>>()
  constructor (private readonly names: string[]) {}

  /** the key a set of label values is counted under */
  key (values: string[]): string {
    const key = values.join('\u001f')
    if (this.groups.has(key)) return key
    if (this.groups.size < MAX_GROUPS) {
      this.groups.set(key, Object.fromEntries(this.names.map((n, i) => [n, values[i]!])))
      return key
    }
    const other = this.names.map(() => OTHER).join('\u001f')
    if (!this.groups.has(other)) this.groups.set(other, Object.fromEntries(this.names.map(n => [n, OTHER])))
    return other
  }

  all (): Array<[string, Record<string, string>]> {
    return [...this.groups]
  }
}

/**
 * How many samples apart pg_stat_statements is read: `every` (5 by default) until the server
 * holds more than 2,500 statement entries (a scan costs about 1 us of server CPU per entry),
 * then one read in entries/500 samples (10 at pg_stat_statements.max's default 5,000), at most
 * one in 30.
 */
export function statementsEveryFor (entries: number, every: number): number {
  return Math.min(Math.max(30, every), Math.max(every, Math.ceil(entries / 500)))
}

/**
 * How many samples apart the sums are read once their cost is measured: so that a read
 * (sumsMs of server time more than a sample without them, sampleMs) adds at most SUMS_SHARE
 * to the samples' time; never more often than `every`, and at least once in SUMS_EVERY_MAX.
 */
export function sumsEveryFor (sumsMs: number, sampleMs: number, every: number): number {
  if (!(sampleMs > 0)) return Math.max(every, SUMS_EVERY_MAX)
  return Math.min(Math.max(every, SUMS_EVERY_MAX), Math.max(every, Math.ceil(sumsMs / (SUMS_SHARE * sampleMs))))
}

function round (x: number, digits: number): number {
  const k = 10 ** digits
  return Math.round(x * k) / k
}
