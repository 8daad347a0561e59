/**
 * Wiring of the probes into a run (owned by the probes work, issue 4): which probes to start
 * from flags and env (DATABASE_URL, REDIS_URL), started before the load and stopped after it,
 * sampled on the run's clock. One line per probe says what it watches (passwords redacted)
 * or why it cannot start; the run goes on without a probe that cannot start unless
 * `strict`, which makes that a HarnessError (exit 3).
 */
import { ProbeStartFailedError, SettingError } from '../shared/errors.js'
import { redactUrl } from '../shared/redact.js'
import type { ProbeStatus, Series } from '../shared/types.js'
import type { Probe } from '../probes/probe.js'
import { ProbeScheduler } from '../probes/scheduler.js'
import { HostProbe } from '../probes/host.js'
import { GeneratorProbe } from '../probes/generator.js'
import { LookupLedger } from '../probes/lookup-ledger.js'
import { ProcessRoles } from '../probes/process-roles.js'
import type { PointListener } from '../probes/series-store.js'

/** Probe settings from flags and env. A probe runs when its setting is given. */
export interface ProbeOptions {
  /** PostgreSQL to watch (--pg URL, or DATABASE_URL) */
  pg?: string
  /** only count sessions of this database (default: the database of the URL) */
  pgDatabase?: string
  /** only count sessions with this application_name (the target's) */
  pgApplication?: string
  /** Redis to watch (--redis URL, or REDIS_URL) */
  redis?: string
  /** Celery's Redis broker, spoken to with Celery's remote-control protocol (--celery-broker URL) */
  celeryBroker?: string
  /** queues whose depth to sample (default: celery) */
  celeryQueues?: string[]
  /** tell Celery's Redis misses from the cache's by key-miss events (default true; --no-redis-key-events) */
  redisKeyMisses?: boolean
  /** Flower's HTTP API instead of the broker (--celery-flower URL) */
  celeryFlower?: string
  /** the target process (--target-pid PID), children included */
  targetPid?: number
  /** or the target found by command-line pattern (--target-process PATTERN) */
  targetProcess?: string
  /** the target's Prometheus endpoint (--target-metrics URL) */
  targetMetrics?: string
  /** series to keep from it, by metric name (default: process memory and CPU) */
  targetMetricsSelect?: string[]
  /** a log file to follow (--log FILE) */
  log?: string
  /** or a command whose output to follow (--log-command "docker logs -f api") */
  logCommand?: string
  /** sampling interval in seconds (--probe-interval, default 1) */
  intervalS?: number
  /** a probe that cannot start fails the run (--strict-probes) */
  strict?: boolean
  /** sample the host (default true) */
  host?: boolean
}

export interface ProbeSession {
  /** stops sampling; resolves when every probe has stopped */
  stop (): Promise<void>
  series (): Series[]
  status (): ProbeStatus[]
  /** every point as it is stored (the run's journal writes them to disk) */
  onPoint (fn: PointListener | null): void
  /** moments (epoch ms) of the run's plan at which probes read their costly figures */
  readAt (moments: number[]): void
}

function checkUrl (value: string, flag: string, protocols: string[], hint = ''): string {
  let u: URL
  try {
    u = new URL(value)
  } catch {
    throw new SettingError(`${flag}: expected a URL like ${protocols[0]}//host:port/..., got "${redactUrl(value)}"`)
  }
  if (!protocols.includes(u.protocol)) throw new SettingError(`${flag}: expected a ${protocols.join(' or ')} URL, got "${redactUrl(value)}"${hint}`)
  return value
}

/** Options with env fallbacks applied and every value checked (UsageError naming the flag). */
export function resolveProbeOptions (options: ProbeOptions, env: NodeJS.ProcessEnv = process.env): ProbeOptions {
  const o: ProbeOptions = { ...options }
  if (o.pg === undefined && env.DATABASE_URL) o.pg = env.DATABASE_URL
  if (o.redis === undefined && env.REDIS_URL) o.redis = env.REDIS_URL
  if (o.pg !== undefined) checkUrl(o.pg, o.pg === env.DATABASE_URL && options.pg === undefined ? 'DATABASE_URL' : '--pg', ['postgres:', 'postgresql:'])
  if (o.redis !== undefined) checkUrl(o.redis, o.redis === env.REDIS_URL && options.redis === undefined ? 'REDIS_URL' : '--redis', ['redis:', 'rediss:'])
  if (o.celeryBroker !== undefined) checkUrl(o.celeryBroker, '--celery-broker', ['redis:', 'rediss:'], ' (loadlens speaks to Redis brokers directly; for others use --celery-flower URL)')
  if (o.celeryFlower !== undefined) checkUrl(o.celeryFlower, '--celery-flower', ['http:', 'https:'])
  if (o.targetMetrics !== undefined) checkUrl(o.targetMetrics, '--target-metrics', ['http:', 'https:'])
  if (o.targetPid !== undefined && !(Number.isInteger(o.targetPid) && o.targetPid > 0)) throw new SettingError(`--target-pid: expected a process id (a whole number > 0), got ${o.targetPid}`)
  if (o.targetPid !== undefined && o.targetProcess !== undefined) throw new SettingError('--target-pid and --target-process: give one of them')
  if (o.targetProcess !== undefined && o.targetProcess.trim() === '') throw new SettingError('--target-process: expected a pattern of the target\'s command line')
  if (o.log !== undefined && o.logCommand !== undefined) throw new SettingError('--log and --log-command: give one of them')
  if (o.intervalS !== undefined && !(Number.isFinite(o.intervalS) && o.intervalS >= 1 && o.intervalS <= 300)) throw new SettingError(`--probe-interval: expected seconds between 1 and 300, got ${o.intervalS}`)
  return o
}

const NOT_CONFIGURED: Array<[string, string, (o: ProbeOptions) => boolean]> = [
  ['pg', '--pg URL or DATABASE_URL', o => o.pg !== undefined],
  ['redis', '--redis URL or REDIS_URL', o => o.redis !== undefined],
  ['celery', '--celery-broker URL or --celery-flower URL', o => o.celeryBroker !== undefined || o.celeryFlower !== undefined],
  ['target', '--target-pid PID or --target-process PATTERN', o => o.targetPid !== undefined || o.targetProcess !== undefined],
  ['logs', '--log FILE or --log-command CMD', o => o.log !== undefined || o.logCommand !== undefined],
  ['metrics', '--target-metrics URL', o => o.targetMetrics !== undefined]
]

/**
 * The probes the options ask for, not started. They share one LookupLedger: the Redis probe
 * leaves out of the hit rate the keyspace lookups the Celery probe causes on the same server.
 * Each probe's module (and its client library: pg, ioredis, undici, pidusage) is loaded only
 * when the probe is asked for.
 */
export async function buildProbes (o: ProbeOptions): Promise<Probe[]> {
  const intervalMs = (o.intervalS ?? 1) * 1000
  const ledger = new LookupLedger()
  // the target's and the workers' processes, so the pg probe can tell whose sessions are whose
  const roles = new ProcessRoles(o.targetPid !== undefined || o.targetProcess !== undefined)
  const probes: Probe[] = []
  if (o.pg !== undefined) probes.push(new (await import('../probes/pg.js')).PgProbe({ url: o.pg, database: o.pgDatabase, application: o.pgApplication, roles }))
  if (o.redis !== undefined) probes.push(new (await import('../probes/redis.js')).RedisProbe(o.redis, { ledger, celeryQueues: o.celeryQueues, keyMisses: o.redisKeyMisses }))
  if (o.celeryFlower !== undefined) probes.push(new (await import('../probes/celery-flower.js')).CeleryFlowerProbe(o.celeryFlower, o.celeryQueues))
  else if (o.celeryBroker !== undefined) probes.push(new (await import('../probes/celery.js')).CeleryProbe({ broker: o.celeryBroker, queues: o.celeryQueues, intervalMs, ledger, roles }))
  if (o.host !== false) probes.push(new HostProbe())
  if (o.targetPid !== undefined || o.targetProcess !== undefined) probes.push(new (await import('../probes/target.js')).TargetProbe({ pid: o.targetPid, pattern: o.targetProcess, roles }))
  if (o.log !== undefined || o.logCommand !== undefined) probes.push(new (await import('../probes/logs.js')).LogsProbe({ file: o.log, command: o.logCommand }))
  if (o.targetMetrics !== undefined) probes.push(new (await import('../probes/prometheus.js')).PrometheusProbe({ url: o.targetMetrics, select: o.targetMetricsSelect }))
  probes.push(new GeneratorProbe())
  return probes
}

/**
 * Starts the probes the options ask for (none when `options` is undefined: a library call
 * that did not ask for probes). Resolves once every probe has connected or failed to.
 */
export async function startProbeSession (options: ProbeOptions | undefined, log: (line: string) => void): Promise<ProbeSession | null> {
  if (!options) return null
  const o = resolveProbeOptions(options)
  const scheduler = new ProbeScheduler(await buildProbes(o), { intervalMs: (o.intervalS ?? 1) * 1000, log })
  const report = await scheduler.start()
  for (const p of report.started) log(`probe ${p.name}: watching ${p.target}`)
  for (const f of report.failed) log(`probe ${f.probe.name}: cannot start: ${f.reason}${o.strict ? '' : ' (the run goes on without it)'}`)
  if (o.strict && report.failed.length) {
    await scheduler.stop()
    const f = report.failed[0]!
    throw new ProbeStartFailedError(`--strict-probes: probe ${f.probe.name} cannot start: ${f.reason}`)
  }
  const notConfigured: ProbeStatus[] = NOT_CONFIGURED.filter(([, , given]) => !given(o)).map(([probe, how]) => ({
    probe, target: '', state: 'not configured', message: `not configured (${how})`, samples: 0, skippedTicks: 0, gaps: []
  }))
  return {
    stop: () => scheduler.stop(),
    series: () => scheduler.series(),
    status: () => [...scheduler.status(), ...notConfigured],
    onPoint: (fn) => scheduler.onPoint(fn),
    readAt: (moments) => scheduler.readAt(moments)
  }
}
