/** Flags shared by several commands, and value parsers whose errors name what they expected. */
import { InvalidArgumentError, Option } from 'commander'
import type { Command } from 'commander'
import { parseDuration } from '../shared/duration.js'
import type { ProbeOptions } from '../app/probes.js'
import { LOAD_SETTINGS, parseSettingText, pickLoadSettings } from '../shared/settings.js'
import type { LoadSettings } from '../shared/settings.js'

// ---------------------------------------------------------------------------------------
// flag value parsers: each names what it expected

export function intArg (what: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected ${what} (a whole number), got "${value}"`)
    return Number(value)
  }
}

/** a TCP port: 1-65535 (0 would be any free port, which a user cannot then find) */
export function portArg (value: string): number {
  const n = Number(value)
  if (!/^\d+$/.test(value.trim()) || n < 1 || n > 65535) throw new InvalidArgumentError(`expected a port number from 1 to 65535, got "${value}"`)
  return n
}

export function numArg (what: string) {
  return (value: string): number => {
    const n = Number(value)
    if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected ${what} (a number >= 0), got "${value}"`)
    return n
  }
}

export function durationArg (value: string): string {
  try {
    parseDuration(value, 'duration')
  } catch {
    throw new InvalidArgumentError(`expected a duration like 30s, 2m, 1h30m, got "${value}"`)
  }
  return value
}

export function startAtArg (value: string): number {
  const asNumber = Number(value)
  const t = Number.isFinite(asNumber) ? (asNumber < 1e11 ? asNumber * 1000 : asNumber) : Date.parse(value)
  if (!Number.isFinite(t)) throw new InvalidArgumentError(`expected an ISO time (2026-11-26T12:00:00Z) or epoch seconds, got "${value}"`)
  return t
}

/** The flags that shape the load, shared by `run`, `demo` and `ui`: one per row of LOAD_SETTINGS. */
export function addLoadFlags (cmd: Command): Command {
  for (const spec of LOAD_SETTINGS) {
    const option = new Option(`${spec.short ? `${spec.short}, ` : ''}${spec.flag}${spec.value ? ` ${spec.value}` : ''}`, spec.help)
    if (spec.value) {
      option.argParser((text: string) => {
        try {
          return parseSettingText(spec, text)
        } catch (err) {
          throw new InvalidArgumentError((err as Error).message)
        }
      })
    }
    // the setting's own name, whatever commander would make of the flag (--max-vus: maxVUs)
    option.attributeName = () => spec.key
    cmd.addOption(option)
  }
  return cmd
}

export function addOutputFlags (cmd: Command): Command {
  return cmd
    .option('--json <file>', 'write the result JSON here (default: <out-dir>/<run id>.json)')
    .option('--out-dir <dir>', 'where results go by default', 'loadlens-results')
    .option('--html <file>', 'write the HTML report here (default: beside the result JSON)')
    .option('--no-html', 'do not write the HTML report')
    .option('--csv <prefix>', "write CSV files with Locust's names: <prefix>_stats.csv, _stats_history.csv, _failures.csv, _exceptions.csv")
    .option('--junit <file>', 'write JUnit XML (checklist items and expectations as test cases)')
    .option('--md <file>', 'write a Markdown summary (for pull-request comments)')
    .option('-q, --quiet', 'no live progress and no summary')
}

/** The output flags as OutputOptions. */
export function pickOutputFlags (flags: Flags): { json?: string; outDir?: string; html?: string; noHtml?: boolean; csv?: string; junit?: string; md?: string } {
  return {
    json: flags.json,
    outDir: flags.outDir,
    html: typeof flags.html === 'string' ? flags.html : undefined,
    noHtml: flags.html === false,
    csv: flags.csv,
    junit: flags.junit,
    md: flags.md
  }
}

/** The web UI's address (`ui`, `serve`, and `run` without --headless). */
export function addWebFlags (cmd: Command): Command {
  return cmd
    .option('--web-port <n>', 'port of the web UI (default 8089)', portArg)
    .option('--web-host <addr>', 'address of the web UI (default 127.0.0.1; any other address requires the printed token)')
}

export type Flags = Record<string, any>

/** The load settings among the parsed flags. */
export function pickLoadFlags (flags: Flags): LoadSettings {
  return pickLoadSettings(flags)
}

/** The pre-deploy gate's flags (checklist items 8-10 and strictness), shared by run, demo and check. */
export function addGateFlags (cmd: Command): Command {
  return cmd
    .option('--monitoring-url <url>', "checklist: a Prometheus endpoint of the target that must answer (default: --target-metrics)")
    .option('--error-tracker-dsn <dsn>', 'checklist: the error tracker (e.g. Sentry) DSN the target reports to (default: SENTRY_DSN)')
    .option('--alert-rules <file>', 'checklist: a Prometheus alert rules file that must hold alert rules')
    .option('--alert-rules-url <url>', 'checklist: a Prometheus/Alertmanager rules API that must list alerting rules')
    .option('--rollback-plan <file>', 'checklist: the rollback plan, which must exist and not be empty')
    .option('--strict-checklist', 'a required checklist item that was not measured fails the gate too')
}

export function pickReadiness (flags: Flags): { monitoringUrl?: string; errorTrackerDsn?: string; alertRules?: string; alertRulesUrl?: string; rollbackPlan?: string } {
  const out: Record<string, string> = {}
  for (const k of ['monitoringUrl', 'errorTrackerDsn', 'alertRules', 'alertRulesUrl', 'rollbackPlan']) if (typeof flags[k] === 'string') out[k] = flags[k]
  return out
}

// ---------------------------------------------------------------------------------------
// probe flags (issue 4): what to watch while the load runs

function collect (value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

function probeIntervalArg (value: string): number {
  let s: number
  try {
    s = parseDuration(value, '--probe-interval')
  } catch {
    throw new InvalidArgumentError(`expected seconds between samples (1, 2s, 5s), got "${value}"`)
  }
  if (!(s >= 1 && s <= 300)) throw new InvalidArgumentError(`expected seconds between samples from 1 to 300, got "${value}"`)
  return s
}

/** --pg, --redis, --celery-*, --target-*, --log*, --probe-interval, --strict-probes, --no-host-probe */
export function addProbeFlags (cmd: Command): Command {
  return cmd
    .option('--pg <url>', 'watch this PostgreSQL (pg_stat_activity, pg_stat_database, pg_stat_statements); default DATABASE_URL')
    .option('--pg-database <name>', "count only sessions of this database (default: the URL's)")
    .option('--pg-application <name>', "count only sessions with this application_name (the target's)")
    .option('--redis <url>', 'watch this Redis (INFO: hit rate, ops/s, memory, clients); default REDIS_URL')
    .option('--no-redis-key-events', "don't switch on Redis key-miss events for the run (they tell Celery's misses from the cache's; the server's setting is put back at the end)")
    .option('--celery-broker <url>', "watch Celery workers and queues through this Redis broker (Celery's remote control)")
    .option('--celery-queue <name>', 'a queue whose depth to watch (repeatable; default celery)', collect)
    .option('--celery-flower <url>', "watch Celery through Flower's HTTP API instead of the broker")
    .option('--target-pid <pid>', 'watch this process and its children (RSS, CPU)', intArg('a process id'))
    .option('--target-process <pattern>', 'watch the processes whose command line contains this (or matches /regex/), with their children')
    .option('--target-metrics <url>', "scrape the target's Prometheus endpoint every interval")
    .option('--target-metric <name>', 'a metric to keep from --target-metrics (repeatable, * wildcard)', collect)
    .option('--log <file>', 'follow this log file and count lines by level')
    .option('--log-command <cmd>', 'follow the output of this command instead (e.g. "docker logs -f --since 1s api")')
    .option('--probe-interval <seconds>', 'seconds between probe samples (default 1)', probeIntervalArg)
    .option('--strict-probes', 'fail the run (exit 3) when a probe cannot start')
    .option('--no-host-probe', "don't sample the host's CPU, memory and network")
}

/** The ProbeOptions of the parsed flags (env fallbacks are applied when the probes start). */
export function pickProbeOptions (flags: Flags): ProbeOptions {
  const map: Record<string, string> = {
    pg: 'pg',
    pgDatabase: 'pgDatabase',
    pgApplication: 'pgApplication',
    redis: 'redis',
    celeryBroker: 'celeryBroker',
    celeryQueue: 'celeryQueues',
    celeryFlower: 'celeryFlower',
    targetPid: 'targetPid',
    targetProcess: 'targetProcess',
    targetMetrics: 'targetMetrics',
    targetMetric: 'targetMetricsSelect',
    log: 'log',
    logCommand: 'logCommand',
    probeInterval: 'intervalS',
    strictProbes: 'strict'
  }
  const out: Record<string, unknown> = {}
  for (const [flag, key] of Object.entries(map)) if (flags[flag] !== undefined) out[key] = flags[flag]
  if (flags.hostProbe === false) out.host = false
  if (flags.redisKeyEvents === false) out.redisKeyMisses = false
  return out as ProbeOptions
}
