/**
 * Wiring of the probes into a run (owned by the probes work, issue 4): which probes to start
 * from flags and env, started before the load and stopped after it, sampled on the run's
 * clock. Until probes exist this starts nothing.
 */
import type { ProbeStatus, Series } from '../shared/types.js'

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
}

export async function startProbeSession (_options: ProbeOptions | undefined, _log: (line: string) => void): Promise<ProbeSession | null> {
  return null
}
