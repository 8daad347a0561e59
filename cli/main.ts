/**
 * The `loadlens` command line: parses flags and calls the library (app/). Exit codes:
 * 0 everything passed, 1 a gate or expectation failed, 2 usage or input error,
 * 3 loadlens itself failed (e.g. target unreachable from the start).
 */
import { availableParallelism } from 'node:os'
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import { describeError } from '../shared/errors.js'
import { parseDuration } from '../shared/duration.js'
import { runTest } from '../app/run.js'
import { runDemo } from '../app/demo.js'
import { loadlensVersion } from '../app/versions.js'

// ---------------------------------------------------------------------------------------
// flag value parsers: each names what it expected

export function intArg (what: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected ${what} (a whole number), got "${value}"`)
    return Number(value)
  }
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

function workersArg (value: string): number {
  if (value === 'auto') return Math.max(1, availableParallelism())
  return intArg('a number of worker threads or "auto"')(value)
}

function startAtArg (value: string): number {
  const asNumber = Number(value)
  const t = Number.isFinite(asNumber) ? (asNumber < 1e11 ? asNumber * 1000 : asNumber) : Date.parse(value)
  if (!Number.isFinite(t)) throw new InvalidArgumentError(`expected an ISO time (2026-11-26T12:00:00Z) or epoch seconds, got "${value}"`)
  return t
}

/** The flags that shape the load, shared by `run` and `demo`. */
export function addLoadFlags (cmd: Command): Command {
  return cmd
    .option('--profile <name>', 'a profile of the scenario (users, spawn rate, run time, expectations)')
    .option('-u, --users <n>', 'peak number of concurrent users (closed model)', intArg('a number of users'))
    .option('-r, --spawn-rate <n>', 'users started per second', numArg('users per second'))
    .option('-t, --run-time <duration>', 'stop after this long, e.g. 30s, 2m, 1h30m', durationArg)
    .option('--stages <list>', 'load shape "30s:10,1m:10,30s:0" (users, or rates with --arrival-rate; target@rate for a spawn rate)')
    .option('--arrival-rate <n>', 'open model: iterations started per second', numArg('iterations per second'))
    .option('--max-vus <n>', 'open model: most virtual users (iterations beyond are dropped)', intArg('a number of virtual users'))
    .option('--pre-allocated-vus <n>', 'open model: virtual users made before the start', intArg('a number of virtual users'))
    .option('--stop-timeout <duration>', 'how long in-flight requests may finish at the end (default 10s)', durationArg)
    .option('--request-timeout <duration>', 'per-request timeout (default 30s)', durationArg)
    .option('--workers <n|auto>', 'run the load in N worker threads', workersArg)
    .option('--max-requests <n>', 'stop cleanly after this many requests', intArg('a number of requests'))
    .option('--max-cost <amount>', "stop cleanly when the scenario's cost model reaches this", numArg('an amount'))
    .option('--insecure', 'accept any TLS certificate')
}

export function addOutputFlags (cmd: Command): Command {
  return cmd
    .option('--json <file>', 'write the result JSON here (default: <out-dir>/<run id>.json)')
    .option('--out-dir <dir>', 'where results go by default', 'loadlens-results')
    .option('-q, --quiet', 'no live progress and no summary')
}

type Flags = Record<string, any>

export function buildProgram (): Command {
  const program = new Command()
  program
    .name('loadlens')
    .description('Load test and bottleneck diagnosis: runs a scenario, watches the system, says why it got slow.')
    .version(loadlensVersion(), '-V, --version')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str.replace(/^error: /, 'loadlens: ')) })

  const run = program.command('run')
    .description('run a scenario file against a host')
    .argument('<scenario>', 'scenario file (.ts or .js) that default-exports defineScenario({...})')
    .option('-H, --host <url>', 'base URL of the system under test')
    .option('--headless', 'no web UI (the default until a UI is asked for)')
    .option('--segment <i/N>', 'run only the i-th of N equal segments of the load (distributed runs)')
    .option('--start-at <time>', 'start at this time (ISO or epoch seconds), so segments start together', startAtArg)
    .option('--allow-remote', 'allow a host that is not loopback or in the scenario\'s allowedHosts')
  addLoadFlags(run)
  addOutputFlags(run)
  run.action(async (scenario: string, flags: Flags) => {
    const outcome = await runTest({
      scenario,
      ...pickLoadFlags(flags),
      host: flags.host,
      segment: flags.segment,
      startAt: flags.startAt,
      allowRemote: flags.allowRemote,
      json: flags.json,
      outDir: flags.outDir,
      quiet: flags.quiet,
      recordOptions: { command: 'run', scenario, ...flags }
    })
    process.exitCode = outcome.exitCode
  })
  const demo = program.command('demo')
    .description('start the bundled demo target and run the bundled scenario against it')
  addLoadFlags(demo)
  addOutputFlags(demo)
  demo.action(async (flags: Flags) => {
    const outcome = await runDemo({ ...pickLoadFlags(flags), json: flags.json, outDir: flags.outDir, quiet: flags.quiet, recordOptions: { command: 'demo', ...flags } })
    process.exitCode = outcome.exitCode
  })
  return program
}

export function pickLoadFlags (flags: Flags): Flags {
  const keys = ['profile', 'users', 'spawnRate', 'runTime', 'stages', 'arrivalRate', 'maxVUs', 'preAllocatedVUs', 'stopTimeout', 'requestTimeout', 'workers', 'maxRequests', 'maxCost', 'insecure']
  const out: Flags = {}
  for (const k of keys) if (flags[k] !== undefined) out[k] = flags[k]
  // commander camel-cases --max-vus to maxVus
  if (flags.maxVus !== undefined) out.maxVUs = flags.maxVus
  if (flags.preAllocatedVus !== undefined) out.preAllocatedVUs = flags.preAllocatedVus
  return out
}

export async function main (argv: string[] = process.argv): Promise<number> {
  const program = buildProgram()
  try {
    await program.parseAsync(argv)
    return Number(process.exitCode ?? 0)
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0
      return 2
    }
    const code = (err as { exitCode?: number }).exitCode
    if (code === 2 || code === 3) {
      process.stderr.write(`loadlens: ${describeError(err)}\n`)
      return code
    }
    process.stderr.write(`loadlens: internal error: ${describeError(err)}\n${process.env.LOADLENS_DEBUG ? (err as Error).stack ?? '' : '(set LOADLENS_DEBUG=1 for the stack trace; please report it)'}\n`)
    return 3
  }
}

export { Option }
