/**
 * runLocust(): an unmodified locustfile, run by the user's Locust with loadlens's probes,
 * diagnosis, checklist, reports and live UI: everything a `loadlens run` has, with Locust as
 * the load generator (loadgen/locust.ts). The CLI's `locust` command only parses flags and
 * calls this.
 *
 * Pass criteria without TypeScript: --expect, or `loadlens.json` beside the locustfile:
 *   { "expect": "p95=500,p99=1000,failures=1%", "users": 10, "spawnRate": 2, "runTime": "1m",
 *     "host": "http://127.0.0.1:8000", "allowedHosts": ["api.internal"] }
 * Flags win over the file; --expect merges over its "expect", key by key.
 */
import { existsSync, readFileSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { tmpdir } from 'node:os'
import { SettingError, ScenarioError } from '../shared/errors.js'
import { DEFAULT_OUT_DIR, fileStamp, makeDirs } from '../shared/files.js'
import type { Expectations } from '../shared/types.js'
import { parseDuration } from '../shared/duration.js'
import { parseExpect } from '../scenarios/expect.js'
import { resolveLoadPlan } from '../scenarios/profile.js'
import type { ProfileDef, ScenarioDef } from '../scenarios/define.js'
import type { ScenarioPlan } from '../scenarios/validate.js'
import { checkUrl } from '../scenarios/validate.js'
import { findLocust, inspectLocustfile, LocustDriver } from '../loadgen/locust.js'
import type { LocustfileInfo, LocustInstall } from '../loadgen/locust.js'
import { checkHostAllowed } from './safety.js'
import type { RunTestOptions, RunTestOutcome, RunTestFn } from './run.js'

export const LOCUST_CONFIG = 'loadlens.json'
const PROFILE = 'locust'
/** Locust's own defaults for a headless run: 1 user, 1 a second; loadlens bounds the time */
const DEFAULT_RUN_TIME = '1m'

export interface LocustRunOptions extends Omit<RunTestOptions, 'scenario' | 'driver'> {
  locustfile: string
  /** user classes to run (Locust's positional class names); default: all */
  userClasses?: string[]
  tags?: string[]
  excludeTags?: string[]
  /** more of Locust's own flags, passed as given (after `--` on the command line) */
  locustArgs?: string[]
}

export interface LocustConfig {
  expect?: Expectations
  users?: number
  spawnRate?: number
  runTime?: string
  host?: string
  allowedHosts?: string[]
}

/** Reads loadlens.json beside the locustfile, when there is one; each field checked, errors naming the file and field. */
export function readLocustConfig (locustfile: string): { file?: string; config: LocustConfig } {
  const file = join(dirname(resolve(locustfile)), LOCUST_CONFIG)
  if (!existsSync(file)) return { config: {} }
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    throw new SettingError(`${file}: not valid JSON (${(err as Error).message})`)
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new SettingError(`${file}: expected an object like {"expect": "p95=500,failures=1%"}`)
  const o = raw as Record<string, unknown>
  const known = ['expect', 'users', 'spawnRate', 'runTime', 'host', 'allowedHosts']
  for (const k of Object.keys(o)) if (!known.includes(k)) throw new SettingError(`${file}: unknown field "${k}"; expected one of: ${known.join(', ')}`)
  const config: LocustConfig = {}
  if (o.expect !== undefined) {
    if (typeof o.expect !== 'string') throw new SettingError(`${file}: expect: expected a string like "p95=500,p99=1000,failures=1%"`)
    config.expect = parseExpect(o.expect, `${file}: expect`)
  }
  if (o.users !== undefined) {
    if (!(Number.isInteger(o.users) && (o.users as number) > 0)) throw new SettingError(`${file}: users: expected a whole number > 0, got ${JSON.stringify(o.users)}`)
    config.users = o.users as number
  }
  if (o.spawnRate !== undefined) {
    if (!(typeof o.spawnRate === 'number' && o.spawnRate > 0)) throw new SettingError(`${file}: spawnRate: expected a number > 0, got ${JSON.stringify(o.spawnRate)}`)
    config.spawnRate = o.spawnRate
  }
  if (o.runTime !== undefined) {
    if (typeof o.runTime !== 'string') throw new SettingError(`${file}: runTime: expected a duration like "1m"`)
    parseDuration(o.runTime, `${file}: runTime`)
    config.runTime = o.runTime
  }
  if (o.host !== undefined) {
    if (typeof o.host !== 'string') throw new SettingError(`${file}: host: expected a URL like "http://127.0.0.1:8000"`)
    config.host = o.host
  }
  if (o.allowedHosts !== undefined) {
    if (!Array.isArray(o.allowedHosts) || !o.allowedHosts.every(h => typeof h === 'string')) throw new SettingError(`${file}: allowedHosts: expected a list of host names`)
    config.allowedHosts = o.allowedHosts as string[]
  }
  return { file, config }
}

/** Locust flags loadlens sets itself, or that would run Locust in a way loadlens cannot follow */
const REFUSED: Record<string, string> = {
  '--master': 'distributed Locust is not followed: loadlens runs one local Locust process',
  '--worker': 'distributed Locust is not followed: loadlens runs one local Locust process',
  '--processes': 'loadlens runs one Locust process',
  '-f': 'give the locustfile as loadlens locust\'s first argument',
  '--locustfile': 'give the locustfile as loadlens locust\'s first argument',
  '--headless': 'loadlens always runs Locust headless',
  '--autostart': 'loadlens always runs Locust headless',
  '-u': 'use loadlens\'s -u/--users (before --)',
  '--users': 'use loadlens\'s -u/--users (before --)',
  '-r': 'use loadlens\'s -r/--spawn-rate (before --)',
  '--spawn-rate': 'use loadlens\'s -r/--spawn-rate (before --)',
  '-t': 'use loadlens\'s -t/--run-time (before --)',
  '--run-time': 'use loadlens\'s -t/--run-time (before --)',
  '-H': 'use loadlens\'s -H/--host (before --)',
  '--host': 'use loadlens\'s -H/--host (before --)',
  '--stop-timeout': 'use loadlens\'s --stop-timeout (before --)'
}

function checkLocustArgs (args: string[]): void {
  for (const a of args) {
    const flag = a.split('=')[0]!
    if (REFUSED[flag]) throw new SettingError(`${a} (after --): ${REFUSED[flag]}`)
  }
}

export interface PreparedLocust {
  install: LocustInstall
  info: LocustfileInfo
  plan: ScenarioPlan
  /** the options for runTest: the plan, the flags and the Locust driver */
  run: RunTestOptions
  logFile: string
  csvPrefix: string
  configFile?: string
}

/**
 * Everything a locustfile run needs, checked before Locust starts: Locust found, the file
 * imports and has user classes, the host (flag, loadlens.json or the classes' own) passes the
 * loopback rail, the flags make a bounded run.
 */
export async function prepareLocust (o: LocustRunOptions): Promise<PreparedLocust> {
  const file = resolve(o.locustfile)
  if (!existsSync(file)) throw new ScenarioError(`${o.locustfile}: no such locustfile`)
  if (o.locustArgs) checkLocustArgs(o.locustArgs)
  const { file: configFile, config } = readLocustConfig(file)
  const install = findLocust()
  const info = inspectLocustfile(install, file)
  const known = info.classes.map(c => c.name)
  for (const c of o.userClasses ?? []) {
    if (!known.includes(c)) throw new ScenarioError(`${c}: no such user class in ${o.locustfile}; it has: ${known.join(', ') || '(none)'}`)
  }
  const chosen = info.classes.filter(c => !o.userClasses?.length || o.userClasses.includes(c.name))
  const hostText = o.host ?? config.host ?? chosen.find(c => c.host)?.host ?? undefined
  if (!hostText) throw new SettingError(`--host: required (no user class of ${o.locustfile} sets host, nor does ${LOCUST_CONFIG}), e.g. --host http://127.0.0.1:8000`)
  const allowedHosts = config.allowedHosts ?? []
  // every host the run may use passes the rail before Locust starts: the base, and each class's own
  const hosts = new Set([hostText, ...(o.host || config.host ? [] : chosen.map(c => c.host).filter((h): h is string => Boolean(h)))])
  for (const h of hosts) await checkHostAllowed(checkUrl(h, o.host ? '--host' : 'host'), allowedHosts, Boolean(o.allowRemote))

  const profile: ProfileDef = {
    users: config.users ?? 1,
    spawnRate: config.spawnRate ?? 1,
    runTime: config.runTime ?? DEFAULT_RUN_TIME,
    ...(config.expect ? { expect: config.expect } : {})
  }
  const name = basename(file).replace(/\.py$/, '')
  const plan: ScenarioPlan = {
    name,
    file,
    description: `${basename(file)}, run by Locust${info.version === 'unknown' ? '' : ` ${info.version}`}`,
    host: hostText,
    allowedHosts,
    classes: [],
    profiles: { [PROFILE]: profile },
    defaultProfile: PROFILE,
    requestTimeoutMs: 30_000,
    costs: {},
    currency: 'USD',
    source: {} as ScenarioDef
  }
  const load = resolveLoadPlan(plan, o)
  if (load.model.kind !== 'closed' || load.model.stages.length !== 1) {
    throw new SettingError('--stages and --arrival-rate: not for a locustfile run; shape the load in the locustfile (a LoadTestShape) or with -u, -r and -t')
  }
  const stage = load.model.stages[0]!
  const outDir = o.noSave ? tmpdir() : o.json ? dirname(resolve(o.json)) : resolve(o.outDir ?? DEFAULT_OUT_DIR)
  makeDirs(outDir)
  const base = join(outDir, `${name}-${fileStamp()}.locust`)
  const logFile = `${base}.log`
  const csvPrefix = base
  const args = [
    '--headless',
    '-u', String(stage.users),
    '-r', String(stage.spawnRate ?? 1),
    '-t', `${Math.ceil(load.durationS)}s`,
    '-H', hostText.replace(/\/$/, ''),
    '--csv', csvPrefix,
    ...(o.stopTimeout !== undefined ? ['--stop-timeout', String(Math.ceil(load.stopTimeoutS))] : []),
    ...(o.tags?.length ? ['--tags', ...o.tags] : []),
    ...(o.excludeTags?.length ? ['--exclude-tags', ...o.excludeTags] : []),
    ...(o.locustArgs ?? []),
    ...(o.userClasses ?? [])
  ]
  const run: RunTestOptions = {
    ...o,
    scenario: plan,
    host: hostText,
    driver: (hooks) => new LocustDriver({
      install,
      locustfile: file,
      args,
      logFile,
      csv: csvPrefix,
      durationS: load.durationS,
      stopTimeoutS: load.stopTimeoutS,
      allowRemote: Boolean(o.allowRemote),
      allowedHosts,
      maxRequests: o.maxRequests,
      maxNames: o.maxNames,
      ...hooks
    })
  }
  return { install, info, plan, run, logFile, csvPrefix, configFile }
}

/**
 * `loadlens locust`: prepares the run, says what runs, then runs it as `loadlens run` runs a
 * scenario (live UI unless headless, probes, diagnosis, checklist, every output), and says
 * how Locust ended and where its own files are.
 */
export async function runLocust (o: LocustRunOptions, run?: RunTestFn): Promise<RunTestOutcome> {
  return runPreparedLocust(await prepareLocust(o), o, run)
}

/** Runs a prepared locustfile run (through `run`: runTest, or one that serves the live UI), with a line on how Locust ended. */
export async function runPreparedLocust (prep: PreparedLocust, o: { quiet?: boolean; stdout?: NodeJS.WritableStream; stderr?: NodeJS.WritableStream }, run?: RunTestFn): Promise<RunTestOutcome> {
  const err = o.stderr ?? process.stderr
  const say = (line: string): void => { if (!o.quiet) err.write(`${line}\n`) }
  say(`loadlens: ${basename(prep.plan.file!)} with Locust ${prep.info.version === 'unknown' ? '(version unknown)' : prep.info.version} (${prep.install.python}, ${prep.install.how})${prep.configFile ? `; settings from ${prep.configFile}` : ''}`)
  if (prep.info.shape) say('loadlens: the locustfile\'s LoadTestShape shapes the load; loadlens stops Locust after --run-time at the latest')
  const out = await (run ?? (await import('./run.js')).runTest)(prep.run)
  const tool = out.result.meta.tool
  if (tool && !o.quiet) {
    const ended = tool.signal ? `was ended by ${tool.signal}` : `exited with code ${tool.exitCode}${tool.exitCode === 1 ? ' (Locust exits 1 when any request failed)' : ''}`
    ;(o.stdout ?? process.stdout).write(`Locust ${ended}; its log: ${tool.log}${tool.csv ? `; its CSV: ${tool.csv}_stats.csv` : ''}\n`)
  }
  return out
}
