/**
 * The names of probe series: the contract between probes/ (which produce them) and
 * correlate/ and reports/ (which read them). A series id is `<probe>.<metric>` plus its
 * labels in braces, e.g. `pg.connections{state="idle in transaction"}`.
 *
 * Units: CPU in percent (100 = one core busy), ratios 0..1, memory in bytes, ages in seconds,
 * rates per second. A null point is a gap (the probe could not sample).
 */

export const METRICS = {
  pg: {
    /** the target's client connections by state (label `state`: active, idle, idle in transaction, idle in transaction (aborted), other) */
    connections: 'connections',
    /** all client connections of the server, every database (vs the fact max_connections) */
    serverConnections: 'server_connections',
    /** the target's active sessions waiting, by `wait_event_type` (Lock, LWLock, IO, Client, ...) */
    waiting: 'waiting',
    /** the target's active sessions waiting, by `wait_event_type` and `wait_event` (Lock/transactionid, LWLock/WALWrite, ...) */
    waitEvents: 'wait_events',
    /** client connections of the whole server by `database`, `application` (application_name) and `client` (client address; "local" for a Unix socket), the probe's own left out */
    sessions: 'sessions',
    /** age in s of the oldest running query of the target (fact `oldestQuery` keeps its text) */
    oldestQueryS: 'oldest_query_s',
    /** age in s of the oldest open transaction of the target */
    oldestXactS: 'oldest_xact_s',
    /** longest time in s a session of the target has sat `idle in transaction` */
    idleInXactS: 'idle_in_xact_s',
    commitsPerS: 'commits_per_s',
    rollbacksPerS: 'rollbacks_per_s',
    /** shared-buffer hit ratio of the interval */
    blockHitRatio: 'block_hit_ratio',
    deadlocks: 'deadlocks',
    tempBytesPerS: 'temp_bytes_per_s',
    conflicts: 'conflicts',
    /** pg_stat_statements: mean execution time of the interval's statements, ms */
    queryMeanMs: 'query_mean_ms',
    /** pg_stat_statements: statements executed per second */
    callsPerS: 'calls_per_s',
    /** sessions of the target's database by whose they are (label `owner`: app, workers, other), when the target's processes are known */
    ownerSessions: 'owner_sessions',
    /** parallel workers helping the target's statements (large scans and aggregates) */
    parallelWorkers: 'parallel_workers',
    /** the target's statements running in the sample, per statement (label `statement`: s1, s2 ...; texts in the facts `activeStatements`) */
    statementActive: 'statement_active',
    /** age in s of the oldest running instance of each statement (null when none ran) */
    statementAgeS: 'statement_age_s',
    /** rows read by sequential scans per second, per table (label `table`, schema.name), every 10 samples */
    seqTupReadPerS: 'seq_tup_read_per_s'
  },
  redis: {
    /** keyspace hits / (hits + misses) in the interval; null when there was no lookup */
    hitRate: 'hit_rate',
    hitsPerS: 'hits_per_s',
    missesPerS: 'misses_per_s',
    opsPerS: 'ops_per_s',
    connectedClients: 'connected_clients',
    blockedClients: 'blocked_clients',
    usedMemory: 'used_memory',
    evictedPerS: 'evicted_per_s',
    expiredPerS: 'expired_per_s',
    rejectedPerS: 'rejected_per_s',
    pingMs: 'ping_ms',
    /** misses on Celery's keys (result backend, queues), told apart by key-miss events and left out of the others */
    celeryMissesPerS: 'celery_misses_per_s'
  },
  celery: {
    workersOnline: 'workers_online',
    /** tasks executing, label `worker` */
    active: 'active',
    /** tasks prefetched but not started, label `worker` */
    reserved: 'reserved',
    /** pool size of a worker, label `worker` */
    concurrency: 'concurrency',
    /** messages waiting in a broker queue, label `queue` */
    queueDepth: 'queue_depth',
    /** from task events (workers started with -E); absent when workers send none */
    succeededPerS: 'succeeded_per_s',
    failedPerS: 'failed_per_s',
    /** tasks finished (succeeded or failed) per second, from the workers' stats totals less their active tasks */
    finishedPerS: 'finished_per_s'
  },
  host: {
    /** whole-host CPU busy, percent of all cores (0..100) */
    cpu: 'cpu',
    /** per core, label `core` */
    cpuCore: 'cpu_core',
    load1: 'load1',
    memUsed: 'mem_used',
    memAvailable: 'mem_available',
    swapUsed: 'swap_used',
    /** per network interface, label `iface` (loopback included) */
    netRxPerS: 'net_rx_per_s',
    netTxPerS: 'net_tx_per_s'
  },
  target: {
    /** resident memory of the target process and its children, bytes */
    rss: 'rss',
    /** CPU of the target process and its children, percent of one core */
    cpu: 'cpu',
    /** CPU of the busiest process of the tree, percent of one core */
    cpuBusiest: 'cpu_busiest',
    processes: 'processes'
  },
  generator: {
    cpu: 'cpu',
    rss: 'rss',
    elu: 'elu',
    loopDelayP99Ms: 'loop_delay_p99_ms'
  },
  logs: {
    /** lines per second, label `level`: critical, error, warning, traceback, other (no level word) */
    linesPerS: 'lines_per_s'
  },
  metrics: {
    /** 1 when the target's metrics endpoint answered the scrape, 0 when it did not */
    up: 'up',
    /** process_resident_memory_bytes of the endpoint, bytes */
    processRss: 'process_resident_memory_bytes',
    /** rate of process_cpu_seconds_total, percent of one core */
    processCpu: 'process_cpu'
    // selected metrics keep their Prometheus names: gauges as they are, counters as rates per
    // second, histograms and summaries as <name>_mean and <name>_count (per second)
  }
} as const

/** `pg.connections{state="idle"}` */
export function seriesId (probe: string, metric: string, labels?: Record<string, string>): string {
  const keys = labels ? Object.keys(labels).sort() : []
  if (keys.length === 0) return `${probe}.${metric}`
  return `${probe}.${metric}{${keys.map(k => `${k}=${JSON.stringify(labels![k])}`).join(',')}}`
}

