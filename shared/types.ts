/**
 * The contracts between the stages of loadlens:
 *   scenarios -> loadgen + probes -> correlate -> reports
 * Everything that crosses a stage boundary (and the result JSON document) is typed here.
 * Times are epoch milliseconds unless a name says otherwise; `t` in a timeline slice or a
 * series point is the epoch second the value belongs to.
 */

// ---------------------------------------------------------------------------------------
// Load model (what the runner executes, resolved from a profile and flags)

/** A closed-model stage: move the number of users to `users` over `durationS`.
 *  With `spawnRate`, users are started/stopped at that rate (Locust semantics) and then held;
 *  without it, the count follows a straight line from the previous target (k6 ramping-vus). */
export interface UserStage {
  durationS: number
  users: number
  spawnRate?: number
}

/** An open-model stage: move the arrival rate (iterations per second) to `rate` over `durationS`
 *  in a straight line from the previous rate (k6 ramping-arrival-rate). */
export interface RateStage {
  durationS: number
  rate: number
}

export interface ClosedModel {
  kind: 'closed'
  stages: UserStage[]
}

export interface OpenModel {
  kind: 'open'
  /** iterations per second at t=0 */
  startRate: number
  stages: RateStage[]
  /** virtual users created before the clock starts */
  preAllocatedVUs: number
  /** the most virtual users the executor may hold; an iteration that finds none free is dropped */
  maxVUs: number
}

export type LoadModel = ClosedModel | OpenModel

/** The fraction of the whole load that one executor runs: [from, to) of the user/iteration
 *  sequence. A whole run is {from: 0, to: 1}; `--segment 1/4` is {from: 0.25, to: 0.5}. */
export interface Share {
  from: number
  to: number
}

// ---------------------------------------------------------------------------------------
// Expectations (profile pass criteria; latencies in milliseconds, ratios in 0..1)

export interface LatencyLimits {
  /** largest failure ratio allowed (0.01 = 1 %); 0 means no failure allowed */
  failureRatio?: number
  p50?: number
  p90?: number
  p95?: number
  p99?: number
}

export interface Expectations extends LatencyLimits {
  /** limits for single request names ("GET /users/[id]/stats" or just the name) */
  byName?: Record<string, LatencyLimits>
  /** the target's PostgreSQL connections must stay under this count */
  dbConnectionsMax?: number
  /** the target's PostgreSQL connections must not grow through the steady state */
  dbConnectionsStable?: boolean
  /** Redis hit rate must stay above this ratio over the steady state */
  cacheHitRateMin?: number
  /** the target process must not leak memory */
  noMemoryLeak?: boolean
  /** mean database query time must stay under this many ms (pg_stat_statements) */
  dbQueryMeanMs?: number
  /** a stress profile: find the largest number of concurrent users held within the criteria */
  findMaxUsers?: boolean
}

// ---------------------------------------------------------------------------------------
// Measurements produced by the load generator

/** Why a request counted as failed. */
export type FailureKind =
  | 'http' // a status the request did not accept (>= 400 by default)
  | 'check' // a response check returned false or a message
  | 'timeout' // no complete response within the request timeout
  | 'refused' // the connection was refused
  | 'reset' // the connection was closed or reset by the other side
  | 'dns' // the host name did not resolve
  | 'blocked' // not sent: a redirect or an absolute URL to a host outside loopback and allowedHosts
  | 'other'

/** One row of the statistics table: a request type + name ("GET" + "/users/[id]/stats"),
 *  or a measured flow ("FLOW" + "voice message end-to-end"). Latencies in microseconds. */
export interface EntryTotals {
  key: string
  type: string
  name: string
  requests: number
  failures: number
  /** response body bytes received */
  bytes: number
  minUs: number
  maxUs: number
  sumUs: number
  /** HDR histogram of latencies (us), compressed base64 (hdr-histogram-js encoding) */
  hist: string
}

/** One entry's counts in one second of the timeline. */
export interface SliceEntry {
  requests: number
  failures: number
  bytes: number
  sumUs: number
  maxUs: number
  hist: string
  /** summary of `hist`, so readers need not decode it */
  p50: number
  p95: number
  p99: number
}

/** How the generator itself was doing in one second (per thread where it says so). */
export interface GeneratorHealth {
  /** event-loop utilisation 0..1 of the busiest load thread */
  elu: number
  /** 99th percentile event-loop delay in ms of the busiest load thread */
  loopDelayP99Ms: number
  /** process CPU time in this second / wall time (1 = one core fully busy) */
  cpu?: number
  /** resident set size of the generator process, bytes */
  rss?: number
  /** per worker thread, when the load runs in workers (or per segment in a merged result) */
  workers?: ThreadHealth[]
}

/** One load thread's event loop in one second. */
export interface ThreadHealth {
  elu: number
  loopDelayP99Ms: number
  /** the thread's own CPU time in this second / wall time (worker threads, Linux) */
  cpu?: number
  /** worker thread number, from 1 (absent: the run's only load thread) */
  worker?: number
  /** segment "i/N" of a merged result the thread belonged to */
  segment?: string
}

/** The generator's verdict on itself: a load thread was saturated for several seconds, so
 *  the latencies it measured include its own queueing (see loadgen/health.ts). */
export interface GeneratorSaturation {
  /** the saturated threads: "load thread", "worker 2", "segment 2/3 worker 1" */
  threads: string[]
  /** seconds in which a load thread was saturated, of `ofSeconds` in the timeline */
  seconds: number
  ofSeconds: number
  /** epoch seconds of the first and the last saturated second */
  window: Window
  peakElu: number
  peakLoopDelayP99Ms: number
  /** one line for the terminal and the reports */
  message: string
}

/**
 * Seconds in which the generator's own event loop delayed the timing of requests materially
 * (loadgen/health.ts): the latencies measured there include up to `worstLoopDelayP99Ms` of
 * the generator's own delay. Shorter or milder than a saturated run (GeneratorSaturation),
 * which makes the whole run unreliable.
 */
export interface GeneratorDistortion {
  /** distorted seconds, of `ofSeconds` in the timeline */
  seconds: number
  ofSeconds: number
  /** the distorted seconds as ranges of epoch seconds */
  ranges: Window[]
  /** of them, the seconds while users were still being started (the spawn phase) */
  duringSpawn: number
  worstLoopDelayP99Ms: number
  peakElu: number
  /** one line for the terminal, the reports and the checklist */
  message: string
}

/** Request names past the bound on distinct names (`--max-names`): counted under "(other)" rows. */
export interface NameOverflowInfo {
  /** the bound */
  limit: number
  /** distinct names that went to "(other)" (at least) */
  names: number
  requests: number
  examples: string[]
  /** the name pattern to give those requests (`name: '/item/[id]'`), when one fits the examples */
  pattern?: string
  /** one line for the terminal and the reports */
  message: string
}

/** One segment of a merged result. */
export interface SegmentInfo {
  /** "i/N" (or "whole" for a run without --segment) */
  segment: string
  share: Share
  runId: string
  hostname: string
  cpus: number
  workers: number
  startedAt: number
  endedAt: number
  stopReason: StopReason
  requests: number
  /** whether this segment brought probe series */
  probes: boolean
  saturation?: GeneratorSaturation
}

/** One second of the run. */
export interface TimelineSlice {
  /** epoch second */
  t: number
  /** running users (closed) or busy virtual users (open) at the end of the second */
  users: number
  /** allocated virtual users (open model) */
  vus?: number
  /** open model: iterations that found no free virtual user */
  dropped?: number
  /** open model: iterations started */
  iterations?: number
  /** every non-FLOW request of the second */
  overall: SliceEntry
  entries: Record<string, SliceEntry>
  /** failures of the second by error group id */
  errors?: Record<string, number>
  /** task runs finished in the second, by "UserClass.task" */
  tasks?: Record<string, number>
  generator?: GeneratorHealth
}

export interface ErrorGroup {
  /** stable within one result: index into `errors` as a string */
  id: string
  type: string
  name: string
  kind: FailureKind
  status?: number
  /** e.g. "HTTP 500", "timeout after 30000 ms", "check failed: no job id", "ECONNREFUSED" */
  message: string
  count: number
  firstAt: number
  lastAt: number
}

/** An exception thrown by a task itself (a bug in the scenario or an unexpected body). */
export interface ExceptionGroup {
  userClass: string
  task: string
  message: string
  /** first frames of the stack, for the report */
  stack?: string
  count: number
  firstAt: number
}

// ---------------------------------------------------------------------------------------
// Probes

export type Unit = 'count' | 'ratio' | 'percent' | 'bytes' | 'ms' | 's' | 'per_s' | 'bytes_per_s' | 'cores'

/** One time series from a probe, on the run's clock. */
export interface Series {
  /** "<probe>.<metric>" plus sorted labels, unique within a result */
  id: string
  probe: string
  metric: string
  labels?: Record<string, string>
  unit: Unit
  description?: string
  /** [epoch second, value]; a null value marks a gap */
  points: Array<[number, number | null]>
}

export interface ProbeGap {
  from: number
  to: number
  reason: string
}

export interface ProbeStatus {
  probe: string
  /** what it watched, passwords redacted */
  target: string
  state: 'ok' | 'degraded' | 'failed' | 'not configured'
  /** why it failed, could not start, or what it could not measure */
  message?: string
  samples: number
  skippedTicks: number
  gaps: ProbeGap[]
  /** slowest sample in ms */
  maxSampleMs?: number
  /** mean sample time in ms */
  meanSampleMs?: number
  /** facts that are not time series: max_connections, pg_stat_statements top queries, log examples... */
  facts?: Record<string, unknown>
}

/**
 * In the pg probe's facts, on each of the top queries (PostgreSQL 14+): the samples in which
 * pg_stat_activity showed the statement running, on the CPU (no wait event) or waiting, by
 * "wait_event_type:wait_event" (e.g. "Lock:transactionid", "IO:DataFileRead")
 */
export interface SeenActive { samples: number; onCpu: number; waits: Record<string, number> }

// Probe facts: what each probe knows that is not a time series (ProbeStatus.facts). The
// probes write them; correlate/ reads them through correlate/facts.ts, which checks each
// field, since a stored result may come from another version.

/** How the pg probe told the target's sessions from the database's other sessions. */
export interface PgAttribution {
  /** processes: by the client ports of the target's sockets; application_name: --pg-application; database: every session of the database */
  method: 'processes' | 'application_name' | 'database'
  detail: string
  /** epoch second from which only the target's own sessions were counted */
  since?: number
  /** peak sessions and client processes by owner (processes) */
  owners?: Partial<Record<'app' | 'workers' | 'other', { peakSessions: number; processes: string[] }>>
}

/** A statement from pg_stat_statements, over the run. */
export interface PgTopQuery {
  query: string
  calls: number
  meanMs: number
  totalMs: number
  blocksPerCall?: number
  seenActive?: SeenActive
}

/** A statement the pg probe saw running in pg_stat_activity (no extension needed). */
export interface PgActiveStatement {
  /** the `statement` label of its series (pg.statement_active, pg.statement_age_s) */
  id: string
  /** normalised text: literals as ?, whitespace folded */
  query: string
  samples: number
  instances: number
  ageMedianMs: number | null
  ageP90Ms: number | null
  ageMaxMs: number | null
  onCpu: number
  /** instances seen waiting, by "wait_event_type:wait_event" */
  waits: Record<string, number>
}

/** One table's access counters over the run (pg_stat_user_tables deltas). */
export interface PgTableActivity {
  /** schema.name */
  table: string
  seqScans: number
  seqTupRead: number
  idxScans: number
  idxTupFetch: number
  liveTuples: number
  seconds: number
}

export interface PgFacts {
  database: string
  maxConnections: number | null
  serverConnectionsPeak: number
  connectionsPeak: number
  pgStatStatements: 'available' | 'missing'
  application?: string
  attribution?: PgAttribution
  oldestQuery?: { query: string; ageS: number; state: string; at: number }
  topQueries?: PgTopQuery[]
  activeStatements?: PgActiveStatement[]
  /** pg_stat_activity samples the statements were counted over */
  activitySamples?: number
  tables?: PgTableActivity[]
  parallelWorkersPeak?: number
  probeCost?: {
    statementMs: number
    databaseStatementMs: number
    share: number | null
    statementEntries: number
    statementsEverySamples: number
    /** server execution ms a read of pg_stat_statements' sums added to a sample, and a sample without them took (measured from the probe's own statements) */
    sumsReadMs?: number
    sampleMs?: number
  }
}

export interface RedisFacts {
  redisVersion?: string
  maxmemory?: number
  maxmemoryPolicy?: string
  uptimeAtStartS?: number
  hitsOverRun?: number
  missesOverRun?: number
  hitRateOverRun?: number | null
  evictedOverRun?: number
  expiredOverRun?: number
  restartedDuringRun?: boolean
  /** the Celery probe watches a broker on this server: its counters include broker traffic */
  sharedWithBroker?: boolean
  lookupsLeftOut?: { hits: number; misses: number; by: string }
  /** 'by key': Celery's misses told apart by key-miss events and left out; else why not ("server-wide only: ...") */
  keyMisses?: string
  /** misses on Celery's keys left out of the hit rate over the run */
  celeryMissesLeftOut?: number
}

export interface TargetFacts {
  pids: number[]
  peakRss: number
  peakProcesses: number
  commandLines?: string[]
}

// ---------------------------------------------------------------------------------------
// Diagnosis

export type Severity = 'critical' | 'warning' | 'info'

export interface Window {
  from: number
  to: number
}

export interface Evidence {
  /** series ids the finding rests on (shown on its chart with the latency) */
  series: string[]
  window: Window
  /** named figures: {"pool size": 2, "p95 ms": 840, "r(latency, users)": 0.93} */
  values: Record<string, number | string>
  /** one sentence per fact, in plain words */
  facts: string[]
  /** the request rows ("GET /users/[id]") the cause slowed or that ran it, with their latency */
  rows?: RowImpact[]
}

/** How one request row fared: at low load (or in a baseline) and in the finding's window. */
export interface RowImpact {
  key: string
  requests: number
  p50Ms: number
  p95Ms: number
  /** at low load, when the run had one with enough requests of the row */
  lowP50Ms?: number
  lowP95Ms?: number
  /** slowed at the tail only: its p95 at least doubled, by a delay users feel, while its median held */
  tail?: boolean
}

export interface Finding {
  /** finding id, e.g. "pool-saturation" */
  id: string
  severity: Severity
  /** names the cause: "The app's pool of 2 PostgreSQL connections is saturated" */
  title: string
  cause: string
  evidence: Evidence
  /** 0..1 */
  confidence: number
  recommendations: string[]
  /** what the finding could not measure (a probe, an extension, a flag missing), lowering its confidence */
  unmeasured?: string[]
  /** the pre-deploy checklist item it fails (see CHECKLIST_IDS) */
  checklist?: ChecklistId
  /** symptoms explained by this cause (other findings folded into it) */
  symptoms?: Finding[]
}

export interface Phase {
  kind: 'ramp-up' | 'steady' | 'ramp-down'
  from: number
  to: number
}

export interface Diagnosis {
  phases: Phase[]
  /** stress runs: the most users held within the criteria */
  capacity?: {
    maxUsers: number
    at: number
    reason: string
    window?: Window
    /** where throughput stopped rising with the users, if it did */
    knee?: { users: number; at: number; rps: number }
  }
  findings: Finding[]
  /** the generator could not be trusted for part of the run */
  unreliable?: { reason: string; window?: Window }
  /** detectors that could not run, and why */
  skipped?: Array<{ id: string; reason: string }>
  /** what detectors saw that is not a finding about the app under load (a slow statement of the workers'), one line each */
  notes?: Array<{ id: string; text: string }>
  /** the figures the diagnosis and the checklist both state, computed once (one source per number) */
  measures?: Measures
}

/** Figures of a run that several outputs state, each over the window it names. */
export interface Measures {
  /** the window the steady-state figures cover: the steady state without its warm-up */
  window: Window
  /** Redis keyspace hit rate over `window` (lookups the probes caused left out) */
  cache?: {
    rate: number; hits: number; misses: number; expired: number; evicted: number
    /** set when the cache was still filling through the window (correlate/measures.ts cacheWarming): the hit rate of its first and last thirds */
    warming?: { firstRate: number; lastRate: number }
  }
  /** the target's PostgreSQL sessions: peak over the run, typical in `window`, and how they were told apart */
  dbConnections?: { peak: number; typical: number; attribution: string }
  /** seconds in `window` a probe had no data, by probe */
  gaps?: Record<string, number>
}

// ---------------------------------------------------------------------------------------
// Checklist (pre-deploy gate)

/** The seed's pre-deploy checklist, in its order. */
export const CHECKLIST_IDS = ['failures', 'latency', 'database', 'cache', 'memory', 'celery', 'logs', 'monitoring', 'alerts', 'rollback'] as const
export type ChecklistId = typeof CHECKLIST_IDS[number]

export type CheckState = 'pass' | 'fail' | 'not measured'

export interface ChecklistItem {
  id: string
  title: string
  state: CheckState
  required: boolean
  /** what was measured, or what would measure it */
  evidence: string
}

// ---------------------------------------------------------------------------------------
// The result document

export const RESULT_FORMAT = 'loadlens/result'
export const RESULT_VERSION = 1

export type StopReason = 'completed' | 'interrupted' | 'max-requests' | 'max-cost' | 'capacity-found' | 'stopped' | 'error'

export interface RunMeta {
  runId: string
  scenario: string
  scenarioFile?: string
  profile?: string
  host: string
  /** epoch ms */
  startedAt: number
  endedAt: number
  stopReason: StopReason
  stopMessage?: string
  model: LoadModel
  share?: Share
  /** segment "i/N" when the run was one segment of a distributed run */
  segment?: string
  /** how many results were merged into this one */
  mergedFrom?: number
  /** the segments a merged result was made of, in segment order */
  segments?: SegmentInfo[]
  /** the flags and resolved options, passwords redacted */
  options: Record<string, unknown>
  requestTimeoutMs: number
  versions: { loadlens: string; node: string; [k: string]: string }
  machine: { hostname: string; platform: string; cpus: number; memoryBytes: number }
  workers?: number
  expectations?: Expectations
  /** requests aborted because the stop timeout ran out (not counted as failures) */
  abortedAtStop?: number
  /** open model: iterations dropped for want of a free virtual user */
  droppedIterations?: number
  /** the largest number of users that ran at once */
  peakUsers?: number
  /** set when the generator itself was saturated (its latencies are then unreliable) */
  saturation?: GeneratorSaturation
  /** set when the generator's own event loop delayed timings in some seconds */
  distortion?: GeneratorDistortion
  /** request names past the bound on distinct names */
  nameOverflow?: NameOverflowInfo
  /** checklist items 8-10: what the run found about monitoring, alerts and the rollback plan */
  readiness?: Readiness
  /** checklist ids that only warn for this profile */
  advisory?: string[]
  /** the load came from another tool (a locustfile run by Locust), not loadlens's engine */
  tool?: ExternalGenerator
}

/** An external load generator loadlens ran and recorded (`loadlens locust`). */
export interface ExternalGenerator {
  name: 'locust'
  version: string
  /** the Python interpreter that ran it */
  python: string
  /** its arguments after the locustfile */
  args: string[]
  /** its exit code (null: ended by a signal) */
  exitCode: number | null
  signal?: string
  /** its own output (stdout and stderr) */
  log: string
  /** the prefix of its own CSV files (_stats.csv, _stats_history.csv, _failures.csv, _exceptions.csv) */
  csv?: string
}

/** A readiness check of the deployment around the target (pre-deploy checklist items 8-10). */
export interface ReadinessCheck {
  state: 'pass' | 'fail'
  evidence: string
}

export interface Readiness {
  monitoring?: ReadinessCheck
  alerts?: ReadinessCheck
  rollback?: ReadinessCheck
}

export interface CostSummary {
  currency: string
  total: number
  perUser: number
  users: number
  byName: Record<string, { count: number; unit: number; total: number }>
  budget?: number
}

export interface RunResult {
  format: typeof RESULT_FORMAT
  version: typeof RESULT_VERSION
  meta: RunMeta
  totals: {
    overall: EntryTotals
    entries: EntryTotals[]
    /** task runs by "UserClass.task" */
    tasks: Record<string, number>
  }
  timeline: TimelineSlice[]
  errors: ErrorGroup[]
  exceptions: ExceptionGroup[]
  probes: { series: Series[]; status: ProbeStatus[] }
  diagnosis?: Diagnosis
  checklist?: ChecklistItem[]
  cost?: CostSummary
}
