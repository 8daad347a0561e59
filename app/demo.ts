/**
 * `loadlens demo`: the main job on the bundled default. Starts the Mluv.Me-like demo target
 * (its API as a separate process, a real Celery worker when Python has celery), runs the
 * Mluv.Me scenario against it with every probe pointed at it, writes the outputs and prints
 * the summary, then stops everything it started, also on Ctrl-C.
 *
 * Default load: the scenario's development profile shortened to 30 s.
 */
import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { ensureLocalServers } from '../demo/local-servers.js'
import type { LocalServers, LocalServersOptions } from '../demo/local-servers.js'
import { bundledLocustfile, bundledScenario } from '../scenarios/load.js'
import { SettingError } from '../shared/errors.js'
import { parseFaults } from '../demo/mluvme/faults.js'
import type { Faults } from '../demo/mluvme/faults.js'
import { startDemoTarget } from '../demo/mluvme/launch.js'
import type { DemoTarget, DemoTargetOptions } from '../demo/mluvme/launch.js'
import { startFastapiTarget } from '../demo/fastapi/launch.js'
import type { FastapiVariant } from '../demo/fastapi/launch.js'
import { runTest } from './run.js'
import type { RunTestFn, RunTestOptions, RunTestOutcome } from './run.js'
import type { ProbeOptions } from './probes.js'
import { checkOutputs } from './outputs.js'

/** The profile and run time `loadlens demo` uses when none is given. */
export const DEMO_PROFILE = 'development'
export const DEMO_RUN_TIME = '30s'

/** The demo targets: `express` (the default, the fastest to start), `fastapi` (the seed's own stack) and `sync` (the same stack written by a third team: sync handlers on two processes, psycopg2, a Celery result backend). */
export { DEMO_TARGETS } from '../demo/targets.js'
export type { DemoTargetKind } from '../demo/targets.js'
import type { DemoTargetKind } from '../demo/targets.js'

export interface DemoOptions extends Omit<RunTestOptions, 'scenario' | 'host' | 'probes'> {
  /** which demo target (default express) */
  targetKind?: DemoTargetKind
  /** the Python targets' deployment variation (fixed or growing pool, pg_stat_statements, Redis layout) */
  variant?: FastapiVariant
  /** `--fault` values: "pool", "leak=256", "cache-off,cpu" */
  fault?: string | string[]
  /** faults already parsed (merged with `fault`) */
  faults?: Faults
  /** where the services are and how the target starts (URLs, celery, python, logDir) */
  target?: Omit<DemoTargetOptions, 'faults' | 'quiet' | 'stream' | 'signal'>
  /** probe settings on top of the ones pointing at the target (interval, strict) */
  probes?: Partial<ProbeOptions>
  /**
   * what runs the load: runTest (default), or one that also serves the live web UI and /metrics
   * (the CLI's `--ui`, `--metrics-port`: web/entry.ts's runTestServed)
   */
  run?: RunTestFn
  /**
   * library hooks: `onTarget` runs once the demo target is up, before the load starts;
   * `beforeStop` after the load, while the target still runs (e.g. to read its state)
   */
  onTarget?: (target: DemoTarget) => void | Promise<void>
  beforeStop?: (target: DemoTarget) => void | Promise<void>
  /** run the bundled Mluv.Me locustfile with Locust instead of the TypeScript scenario */
  locust?: boolean
  /** where a running PostgreSQL and Redis are looked for before the demo starts its own (default 127.0.0.1:5432 and :6379) */
  lookFirst?: LocalServersOptions['lookFirst']
}

/** `demo --locust` without load flags: the development profile's load and pass criteria, shortened to 30 s */
export const DEMO_LOCUST_LOAD = { users: 10, spawnRate: 2, runTime: DEMO_RUN_TIME, expect: 'failures=0,p95=500,p99=1000' }

/**
 * Every probe pointed at the demo target, with what a user of a real system has: the
 * database and Redis URLs, the Celery broker and queue, the API's process, its log (and its
 * /metrics when it has one). No application_name: the pg probe tells the API's sessions from
 * the worker's by the API process's sockets.
 */
export function demoProbeOptions (t: DemoTarget, extra: Partial<ProbeOptions> = {}): ProbeOptions {
  return {
    pg: t.probePgUrl ?? t.pgUrl,
    pgDatabase: t.database,
    redis: t.redisUrl,
    celeryBroker: t.celery ? t.brokerUrl : undefined,
    celeryQueues: t.celery ? [t.celeryQueue] : undefined,
    targetPid: t.apiPid,
    targetMetrics: t.metricsUrl,
    log: t.logFile,
    host: true,
    ...extra
  }
}

export async function runDemo (options: DemoOptions = {}): Promise<RunTestOutcome> {
  const { onTarget, beforeStop, ...o } = options
  // every user mistake is reported before anything starts
  const faults: Faults = { ...parseFaults(o.fault), ...(o.faults ?? {}) }
  checkOutputs(o)
  const scenario = bundledScenario('mluvme')
  const err = o.stderr ?? process.stderr
  const say = (line: string): void => { if (!o.quiet) err.write(`${line}\n`) }
  const shaped = o.profile !== undefined || o.users !== undefined || o.stages !== undefined || o.arrivalRate !== undefined
  const load = shaped ? {} : { profile: DEMO_PROFILE, runTime: o.runTime ?? DEMO_RUN_TIME }
  if (o.locust) {
    if (o.profile !== undefined) throw new SettingError('--profile: not with --locust (a locustfile has no profiles); shape the load with -u, -r, -t and the criteria with --expect')
    if (o.stages !== undefined || o.arrivalRate !== undefined) throw new SettingError('--stages and --arrival-rate: not with --locust; shape the load with -u, -r and -t')
    if (o.workers !== undefined) throw new SettingError('--workers: not with --locust (Locust generates the load)')
  }

  const signals = o.handleSignals !== false
  const starting = new AbortController()
  let phase: 'start' | 'run' | 'stop' = 'start'
  const onSignal = (sig: NodeJS.Signals): void => {
    if (phase === 'start') starting.abort()
    // during the run, runTest stops the load itself; a signal while stopping means "now"
    else if (phase === 'stop') process.exit(sig === 'SIGINT' ? 130 : 143)
  }
  if (signals) {
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  }
  let target: DemoTarget | undefined
  let servers: LocalServers | undefined
  try {
    const logDir = resolve(o.target?.logDir ?? join(o.outDir ?? 'loadlens-results', 'demo-target'))
    mkdirSync(logDir, { recursive: true })
    // no PostgreSQL or Redis running here: the demo starts its own (embedded PostgreSQL, redis-server)
    servers = await ensureLocalServers({ pgUrl: o.target?.pgUrl, redisUrl: o.target?.redisUrl, env: o.target?.env, logDir, say, signal: starting.signal, lookFirst: o.lookFirst })
    const common = {
      logDir,
      ...o.target,
      ...(servers.pgUrl ? { pgUrl: servers.pgUrl } : {}),
      ...(servers.redisUrl ? { redisUrl: servers.redisUrl } : {}),
      faults,
      quiet: o.quiet,
      stream: err,
      signal: starting.signal
    }
    target = o.targetKind === 'fastapi'
      ? await startFastapiTarget({ ...common, variant: o.variant })
      : o.targetKind === 'sync'
        ? await (await import('../demo/sync/launch.js')).startSyncTarget({ ...common, variant: o.variant })
        : await startDemoTarget(common)
    await onTarget?.(target)
    phase = 'run'
    const run = async (opts: RunTestOptions): Promise<RunTestOutcome> => {
      if (o.locust) {
        const { prepareLocust, runPreparedLocust } = await import('./locust.js')
        const { scenario: _s, driver: _d, profile: _p, ...rest } = opts
        const l: Partial<typeof DEMO_LOCUST_LOAD> = o.users !== undefined ? {} : DEMO_LOCUST_LOAD
        const prep = await prepareLocust({ ...rest, ...l, expect: o.expect ?? l.expect, runTime: o.runTime ?? (o.users !== undefined ? undefined : DEMO_RUN_TIME), locustfile: bundledLocustfile() })
        return runPreparedLocust(prep, o, o.run)
      }
      return (o.run ?? runTest)(opts)
    }
    const outcome = await run({
      ...o,
      ...load,
      scenario,
      host: target.url,
      probes: demoProbeOptions(target, o.probes),
      recordOptions: {
        ...(o.recordOptions ?? { command: 'demo' }),
        ...(o.locust ? { locustfile: bundledLocustfile() } : {}),
        demo: {
          target: target.kind,
          variant: target.variant,
          faults,
          url: target.url,
          database: target.database,
          applicationName: target.applicationName,
          celery: target.celery,
          privateBroker: target.brokerPid !== undefined,
          celeryQueue: target.celeryQueue,
          workerName: target.workerName,
          logFile: target.logFile
        }
      }
    })
    await beforeStop?.(target)
    return outcome
  } finally {
    phase = 'stop'
    if (target) {
      await target.stop()
      say(`demo target stopped (API log: ${target.logFile})`)
    }
    if (servers?.started.length) {
      await servers.stop()
      say(`stopped what the demo started: ${servers.started.join(', ')}`)
    }
    if (signals) {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
  }
}
