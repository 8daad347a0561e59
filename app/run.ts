/**
 * runTest(): one load test from scenario to written result, as a library call. The CLI's
 * `run` only parses flags and calls this. Stages are wired here: scenario -> load plan ->
 * load generator (+ probes) -> result -> diagnosis -> outputs.
 */
import { hostname, cpus, totalmem, platform } from 'node:os'
import type { Writable } from 'node:stream'
import { UsageError, SettingError } from '../shared/errors.js'
import { parseDuration } from '../shared/duration.js'
import { redactDeep } from '../shared/redact.js'
import { runIdFor } from '../shared/files.js'
import { RESULT_FORMAT, RESULT_VERSION } from '../shared/types.js'
import type { LoadModel, RunMeta, RunResult } from '../shared/types.js'
import { loadScenario } from '../scenarios/load.js'
import { resolveLoadPlan } from '../scenarios/profile.js'
import type { LoadPlan } from '../scenarios/profile.js'
import { LOAD_DEFAULTS, checkLoadSettings, pickLoadSettings } from '../shared/settings.js'
import type { LoadSettings } from '../shared/settings.js'
import { checkUrl } from '../scenarios/validate.js'
import type { ScenarioPlan } from '../scenarios/validate.js'
import { startLoad } from '../loadgen/runner.js'
import type { LoadHandle, LoadOptions, LoadOutcome } from '../loadgen/runner.js'
import { parseSegment } from '../loadgen/share.js'
import { ProgressPrinter } from '../reports/terminal/progress.js'
import { formatSummary } from '../reports/terminal/summary.js'
import { formatDiagnosis } from '../reports/terminal/findings.js'
import { checklistExitCode } from '../reports/checklist.js'
import { formatChecklist } from '../reports/terminal/checklist.js'
import { checkHostAllowed, checkReachable } from './safety.js'
import { versions } from './versions.js'
import { startProbeSession } from './probes.js'
import { lateStartWarning, segmentRunsProbes } from './segments.js'
import type { ProbeOptions, ProbeSession } from './probes.js'
import { checkOutputs, outputLabel, writeOutputsSafely } from './outputs.js'
import type { OutputOptions } from './outputs.js'
import { analyse } from './analyse.js'
import type { ReadinessOptions } from './readiness.js'
import { CapacityWatch } from './capacity-watch.js'
import { plannedWarmWindow } from '../correlate/phases.js'
import { JOURNAL_SUFFIX, Journal } from './journal.js'
import { DEFAULT_OUT_DIR } from './outputs.js'
import { dirname, join } from 'node:path'

/** A run: its load settings (shared/settings.ts: the CLI's load flags), the scenario and host, what to watch, where outputs go. */
export interface RunTestOptions extends LoadSettings, OutputOptions {
  /** a scenario file, or a scenario already loaded */
  scenario: string | ScenarioPlan
  host?: string
  /** "i/N": run only this segment of the load */
  segment?: string
  /** epoch ms at which to start (segments that start together) */
  startAt?: number
  allowRemote?: boolean
  /** which probes to run (--pg, --redis, ...) */
  probes?: ProbeOptions
  /** checklist items 8-10: monitoring, alert rules, rollback plan */
  readiness?: ReadinessOptions
  /** a required checklist item that was not measured fails the gate too */
  strictChecklist?: boolean
  /** with a segment: the segment (from 1) that runs the probes, 0 for none (default 1) */
  probesOn?: number
  quiet?: boolean
  stdout?: Writable
  stderr?: NodeJS.WriteStream
  /** stop gracefully on SIGINT/SIGTERM (default true) */
  handleSignals?: boolean
  /** called with the live run (web UI, metrics) */
  onHandle?: (run: LoadHandle) => void
  /** called with the probe session once the probes have started (web UI, /metrics) */
  onProbes?: (probes: ProbeSession) => void
  /** the options to record in the result (the CLI's flags); passwords are redacted */
  recordOptions?: Record<string, unknown>
  /** another load generator instead of the engine (`loadlens locust`) */
  driver?: LoadOptions['driver']
}

export interface RunTestOutcome {
  result: RunResult
  /** 0 every required checklist item passed, 1 one failed */
  exitCode: number
  files: Record<string, string>
}

export interface PreparedRun {
  plan: ScenarioPlan
  load: LoadPlan
  host: URL
  requestTimeoutMs: number
  segment?: { share: { from: number; to: number }; label: string }
}

/** Loads and checks everything a run needs, without sending any load. */
export async function prepareRun (o: RunTestOptions): Promise<PreparedRun> {
  const plan = typeof o.scenario === 'string' ? await loadScenario(o.scenario) : o.scenario
  const load = resolveLoadPlan(plan, o)
  const hostText = o.host ?? plan.host
  if (!hostText) throw new SettingError(`--host: required (the scenario ${plan.file ?? plan.name} sets no host), e.g. --host http://127.0.0.1:8080`)
  const host = checkUrl(hostText, '--host')
  await checkHostAllowed(host, plan.allowedHosts, Boolean(o.allowRemote))
  // every setting against its row (budgets and bounds of 0 would stop at once or keep no row: a mistake, not a setting)
  checkLoadSettings(o)
  const requestTimeoutMs = o.requestTimeout === undefined ? plan.requestTimeoutMs : parseDuration(o.requestTimeout, '--request-timeout') * 1000
  const segment = o.segment ? parseSegment(o.segment) : undefined
  return { plan, load, host, requestTimeoutMs, segment }
}

/** What a run's result says about it that is known when it starts. */
let machine: RunMeta['machine'] | undefined
/** the machine the run measured from (read once: os.cpus() reads every CPU's times) */
function machineInfo (): RunMeta['machine'] {
  machine ??= { hostname: hostname(), platform: platform(), cpus: cpus().length, memoryBytes: totalmem() }
  return { ...machine }
}

export function startMeta (prep: PreparedRun, startedAt: number, options: Record<string, unknown>, workers: number): RunMeta {
  const { plan, load, host } = prep
  return {
    runId: runIdFor(plan.name, load.profileName, startedAt),
    scenario: plan.name,
    scenarioFile: plan.file,
    profile: load.profileName,
    host: host.href.replace(/\/$/, ''),
    startedAt,
    endedAt: startedAt,
    stopReason: 'interrupted',
    model: load.model,
    share: prep.segment?.share,
    segment: prep.segment?.label,
    options: redactDeep(options),
    requestTimeoutMs: prep.requestTimeoutMs,
    versions: versions(),
    machine: machineInfo(),
    workers,
    expectations: prep.load.expectations,
    advisory: load.advisory.length ? load.advisory : undefined
  }
}

export function buildResult (prep: PreparedRun, outcome: LoadOutcome, options: Record<string, unknown>): RunResult {
  return {
    format: RESULT_FORMAT,
    version: RESULT_VERSION,
    meta: {
      ...startMeta(prep, outcome.startedAt, options, outcome.workers),
      endedAt: outcome.endedAt,
      stopReason: outcome.stopReason,
      stopMessage: outcome.stopMessage,
      abortedAtStop: outcome.abortedAtStop,
      droppedIterations: prep.load.model.kind === 'open' ? outcome.droppedIterations : undefined,
      peakUsers: outcome.peakUsers,
      saturation: outcome.saturation,
      distortion: outcome.distortion,
      nameOverflow: outcome.nameOverflow,
      tool: outcome.tool
    },
    totals: outcome.totals,
    timeline: outcome.timeline,
    errors: outcome.errors,
    exceptions: outcome.exceptions,
    probes: { series: [], status: [] }
  }
}

/**
 * When the planned steady state after warm-up starts, and just before the run's end (the
 * last probe tick inside the load), in epoch ms.
 */
export function planMoments (model: LoadModel, durationS: number, startedAt: number): number[] {
  const w = plannedWarmWindow(model, durationS)
  return w ? [startedAt + w.from * 1000, startedAt + durationS * 1000 - 1500] : []
}

/** The exit code of a run stopped by a signal: 128 + its number, as a shell reports it (SIGINT 130, SIGTERM 143). */
export function interruptedExitCode (sig: NodeJS.Signals | undefined): number {
  return sig === 'SIGTERM' ? 143 : 130
}

/** What runs a prepared run: runTest, or one that also serves the live web UI (web/entry.ts's runTestServed). */
export type RunTestFn = (o: RunTestOptions) => Promise<RunTestOutcome>

export async function runTest (o: RunTestOptions): Promise<RunTestOutcome> {
  const prep = await prepareRun(o)
  // every output can be written, before any load is sent
  checkOutputs(o)
  const stdout = o.stdout ?? process.stdout
  const stderr = o.stderr ?? process.stderr
  await checkReachable(prep.host)
  // probe messages during the run (a gap opening) go above the live line, not into it
  let progress: ProgressPrinter | null = null
  const log = (line: string): void => {
    if (o.quiet) return
    if (progress) progress.message(line)
    else stderr.write(`${line}\n`)
  }
  const probes: ProbeSession | null = segmentRunsProbes(prep.segment, o.probesOn) ? await startProbeSession(o.probes, log) : null
  const late = lateStartWarning(o.startAt)
  if (late) stderr.write(`loadlens: warning: ${late}\n`)
  if (probes) o.onProbes?.(probes)

  const run = startLoad({
    plan: prep.plan,
    model: prep.load.model,
    durationS: prep.load.durationS,
    stopTimeoutS: prep.load.stopTimeoutS,
    host: prep.host.href,
    requestTimeoutMs: prep.requestTimeoutMs,
    share: prep.segment?.share,
    // the load settings as given, unchanged down to every load thread's engine
    settings: pickLoadSettings(o),
    startAt: o.startAt,
    unitCosts: prep.plan.costs,
    // every request that leaves the base origin (an absolute URL, a redirect) is checked against the same rule
    hostPolicy: { allowedHosts: prep.plan.allowedHosts, allowRemote: Boolean(o.allowRemote) },
    driver: o.driver
  })
  o.onHandle?.(run)
  if (probes) {
    // the probes' costly reads (pg_stat_statements' sums) at the edges of the steady state the
    // diagnosis will judge, and at an early stop
    run.once('start', (startedAt: number) => probes.readAt(planMoments(prep.load.model, prep.load.durationS, startedAt)))
    run.on('stopping', (reason: string) => { if (reason !== 'completed') probes.readAt([Date.now()]) })
  }
  // the crash-safe journal: every second on disk while the run goes on (removed once the result is written)
  let journal: Journal | null = null
  if (!o.noSave) {
    run.once('start', (startedAt: number) => {
      const meta = startMeta(prep, startedAt, o.recordOptions ?? {}, Math.max(1, o.workers ?? LOAD_DEFAULTS.workers))
      const path = o.json ? join(dirname(o.json), `${meta.runId}${JOURNAL_SUFFIX}`) : join(o.outDir ?? DEFAULT_OUT_DIR, `${meta.runId}${JOURNAL_SUFFIX}`)
      try {
        journal = new Journal(path, { meta, probes: probes?.status().map(s => ({ probe: s.probe, target: s.target, state: s.state })) ?? [], costs: prep.plan.costs, currency: prep.plan.currency }, (message) => { if (progress) progress.message(`warning: ${message}`); else stderr.write(`loadlens: warning: ${message}\n`) })
        probes?.onPoint((probe, metric, labels, unit, t, value) => journal!.point({ probe, metric, labels, unit, t, value }))
        run.on('report', (r) => journal!.second(r))
      } catch (err) {
        stderr.write(`loadlens: warning: no journal (${(err as Error).message}): a run killed before its end would lose what it measured\n`)
      }
    })
  }
  progress = o.quiet ? null : new ProgressPrinter({ durationS: prep.load.durationS, stream: stderr })
  let overflowWarned = false
  run.on('slice', () => {
    if (progress && run.startedAt !== undefined) progress.update(run.live(), (Date.now() - run.startedAt) / 1000)
    const o2 = run.aggregator.nameOverflow
    if (o2 && !overflowWarned) {
      overflowWarned = true
      const msg = `warning: more than ${o.maxNames ?? LOAD_DEFAULTS.maxNames} distinct request names (e.g. ${o2.examples[0]}): later ones are counted under "(other)"; give such requests a name`
      if (progress) progress.message(msg)
      else if (!o.quiet) stderr.write(`loadlens: ${msg}\n`)
    }
  })
  if (prep.load.expectations?.findMaxUsers) {
    const watch = new CapacityWatch(prep.load.expectations, (message) => run.stop('capacity-found', message))
    run.on('slice', (slice) => watch.add(slice))
  }
  run.on('stopping', (reason: string) => {
    if (reason !== 'completed' && reason !== 'capacity-found') progress?.message(`stopping (${reason}); in-flight requests may finish for up to ${prep.load.stopTimeoutS}s (Ctrl-C again to abort them)`)
  })
  const signals = o.handleSignals !== false
  let signalled: NodeJS.Signals | undefined
  const onSignal = (sig: NodeJS.Signals): void => { signalled ??= sig; run.stop('interrupted', `received ${sig}`) }
  if (signals) {
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  }
  let outcome: LoadOutcome
  try {
    outcome = await run
  } catch (err) {
    // a mistake in the scenario stopped the run: nothing to recover, the journal goes
    if (err instanceof UsageError) (journal as Journal | null)?.close(true)
    throw err
  } finally {
    if (signals) {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
    progress?.clear()
    await probes?.stop()
  }

  const result = buildResult(prep, outcome, o.recordOptions ?? {})
  if (probes) result.probes = { series: probes.series(), status: probes.status() }
  const readinessAsked = { monitoringUrl: o.probes?.targetMetrics, ...o.readiness }
  const readiness = Object.values(readinessAsked).some(v => v !== undefined) ? await (await import('./readiness.js')).checkReadiness(readinessAsked) : {}
  analyse(result, { costs: prep.plan.costs ? { units: prep.plan.costs, currency: prep.plan.currency, budget: o.maxCost } : undefined, readiness })
  const { files, failed } = writeOutputsSafely(result, o)
  probes?.onPoint(null)
  // the journal goes once the result is safe on disk
  ;(journal as Journal | null)?.close(failed.length === 0)
  for (const f of failed) stderr.write(`loadlens: could not write an output: ${f}${files.json ? `; the result went to ${files.json}` : ''}${journal ? `; the run's journal stays at ${(journal as Journal).path}` : ''}\n`)
  if (!o.quiet) {
    // the terminal shows what the files hold: the result with its secrets redacted
    const shown = redactDeep(result)
    stdout.write(formatSummary(shown) + '\n')
    if (shown.meta.saturation && !shown.diagnosis?.unreliable) stdout.write(`\nGenerator: ${shown.meta.saturation.message}\n`)
    if (shown.diagnosis) stdout.write('\n' + formatDiagnosis(shown) + '\n')
    stdout.write('\n' + formatChecklist(shown.checklist!, o.strictChecklist) + '\n')
    for (const [kind, path] of Object.entries(files)) stdout.write(`${outputLabel(kind)}: ${path}\n`)
  }
  // an interrupted run is not a pass, whatever it measured: the shell's codes for the signal
  // a generator that died during the run (Locust) measured only part of it: not a pass either
  const exitCode = result.meta.stopReason === 'interrupted' ? interruptedExitCode(signalled)
    : result.meta.stopReason === 'error' ? 3
      : checklistExitCode(result.checklist!, o.strictChecklist)
  return { result, exitCode, files }
}
