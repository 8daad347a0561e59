/**
 * `npm run bench -- cli [--rounds=N]`: the whole CLI as a user runs it (`loadlens run` on a
 * minimal scenario, defaults and probes on, all users from the start as autocannon's
 * connections are), against autocannon's CLI and wrk (when installed), each in its own
 * process pinned to CPU 0, the server pinned to CPU 1; round-robin, 3 rounds by default; each
 * process's CPU time and peak RSS from GNU time. loadlens also runs with --no-host-probe, to
 * show what the host probe costs. Two parts:
 *   throughput  against the benchmark server (bench/server.ts, no delay): requests/s and CPU
 *               per request, the ratio the median of each round's pair (loadlens and
 *               autocannon of the same round), the ratio of the columns' medians beside it;
 *   accuracy    against a server whose delays are uniform in 10-50 ms and which times each
 *               request itself (bench/delay-server.ts): each tool's p50 and p99 against the
 *               server's own of the same run;
 *   start-up    a short run: 1 user (1 connection) for 1 s against the delay server (about 30
 *               requests, so what is measured is what a run costs beyond its requests: start,
 *               probes, analysis, files), loadlens with its defaults against autocannon: CPU
 *               time, wall time and peak RSS, the ratio the median of each round's pair.
 *
 * Targets: at 50 connections for 10 s, loadlens with its default probes >= 1.0x autocannon's
 * requests/s and <= 1.0x its CPU per request; its p99 within 2 % (or 1 ms) of the server's,
 * and its p50 within 1 ms of the server's.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { decodeHistogram, summarize } from '../shared/hist.js'
import { median, processCpuUs, startBenchServer, verdict } from './helpers.js'

const here = (f: string): string => fileURLToPath(new URL(f, import.meta.url))
const BIN = here('../../bin/loadlens.js')
const AUTOCANNON = here('../../node_modules/autocannon/autocannon.js')
const CONNECTIONS = 50
const SECONDS = 10
const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0
const hasTime = spawnSync('/usr/bin/time', ['-f', '%U', 'true']).status === 0
/** a short run is 'about what autocannon's costs' within this share */
const STARTUP_SLACK = 1.2
const hasWrk = spawnSync('wrk', ['--version']).error === undefined

interface ToolRun {
  tool: string
  requests: number
  rps: number
  cpuUs: number
  rssMB: number
  p50: number
  p99: number
  server: { count: number; p50: number; p99: number }
  /** the server's CPU during the run, as a share of one core over the run's seconds (NaN where not measured) */
  serverCore: number
}

/** Runs a command on CPU 0 under GNU time; resolves its stdout and the time line's figures. */
function run (cmd: string, args: string[]): Promise<{ stdout: string; cpuUs: number; rssMB: number; wallS: number }> {
  const full = [...(hasTime ? ['/usr/bin/time', '-f', '__TIME__ %U %S %M %e'] : []), cmd, ...args]
  const argv = hasTaskset ? ['taskset', '-c', '0', ...full] : full
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
    child.on('error', reject)
    child.on('close', (code) => {
      const m = /__TIME__ ([\d.]+) ([\d.]+) (\d+) ([\d.]+)/.exec(stderr)
      if (code !== 0 && !m) { reject(new Error(`${cmd} exited ${code}: ${stderr.slice(-400)}`)); return }
      resolve({ stdout, cpuUs: m ? (Number(m[1]) + Number(m[2])) * 1e6 : NaN, rssMB: m ? Number(m[3]) / 1024 : NaN, wallS: m ? Number(m[4]) : NaN })
    })
  })
}

async function serverStats (url: string, timed: boolean): Promise<ToolRun['server']> {
  if (!timed) return { count: NaN, p50: NaN, p99: NaN }
  return await (await fetch(`${url}__stats`)).json() as ToolRun['server']
}

function wrkMs (text: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text.trim())
  if (!m) return NaN
  return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1)
}

async function runTool (tool: string, url: string, dir: string, scenario: string, timed: boolean, serverPid?: number): Promise<ToolRun> {
  await serverStats(url, timed) // reset the server's histogram
  const serverCpu0 = serverPid ? processCpuUs(serverPid) : NaN
  let requests = 0
  let p50 = NaN
  let p99 = NaN
  let t: { stdout: string; cpuUs: number; rssMB: number }
  if (tool === 'autocannon') {
    t = await run(process.execPath, [AUTOCANNON, '-c', String(CONNECTIONS), '-d', String(SECONDS), '-j', url])
    const r = JSON.parse(t.stdout.trim().split('\n').pop()!)
    requests = r.requests.total
    p50 = r.latency.p50
    p99 = r.latency.p99
  } else if (tool === 'wrk') {
    t = await run('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${SECONDS}s`, '--latency', url])
    requests = Number(/(\d+) requests in/.exec(t.stdout)?.[1] ?? NaN)
    p50 = wrkMs(/^\s+50%\s+(\S+)/m.exec(t.stdout)?.[1] ?? '')
    p99 = wrkMs(/^\s+99%\s+(\S+)/m.exec(t.stdout)?.[1] ?? '')
  } else {
    const out = join(dir, `${tool}.json`)
    const extra = tool === 'loadlens --no-host-probe' ? ['--no-host-probe'] : []
    t = await run(process.execPath, [BIN, 'run', scenario, '--host', url, '-u', String(CONNECTIONS), '-r', '10000', '-t', `${SECONDS}s`, '--headless', '-q', '--json', out, '--no-html', ...extra])
    const result = JSON.parse(readFileSync(out, 'utf8'))
    requests = result.totals.overall.requests
    const s = summarize(decodeHistogram(result.totals.overall.hist))
    p50 = s.p50
    p99 = s.p99
  }
  const serverCore = serverPid ? (processCpuUs(serverPid) - serverCpu0) / (SECONDS * 1e6) : NaN
  return { tool, requests, rps: requests / SECONDS, cpuUs: t.cpuUs, rssMB: t.rssMB, p50, p99, server: await serverStats(url, timed), serverCore }
}

/** loadlens's figure over autocannon's, round by round (the n-th run of each: the same round) */
function pairRatios<T extends { tool: string }> (runs: T[], f: (r: T) => number): number[] {
  const theirs = runs.filter(r => r.tool === 'autocannon')
  return runs.filter(r => r.tool === 'loadlens').map((r, i) => f(r) / f(theirs[i]!))
}

interface ShortRun { tool: string; requests: number; cpuUs: number; wallS: number; rssMB: number }

/** A 1-user, 1-second run: what a run costs beyond its requests. */
async function runShort (tool: string, url: string, dir: string, scenario: string): Promise<ShortRun> {
  if (tool === 'autocannon') {
    const t = await run(process.execPath, [AUTOCANNON, '-c', '1', '-d', '1', '-j', url])
    return { tool, requests: JSON.parse(t.stdout.trim().split('\n').pop()!).requests.total, cpuUs: t.cpuUs, wallS: t.wallS, rssMB: t.rssMB }
  }
  const out = join(dir, 'short.json')
  const t = await run(process.execPath, [BIN, 'run', scenario, '--host', url, '-u', '1', '-t', '1s', '--headless', '-q', '--json', out, '--no-html'])
  return { tool, requests: JSON.parse(readFileSync(out, 'utf8')).totals.overall.requests, cpuUs: t.cpuUs, wallS: t.wallS, rssMB: t.rssMB }
}

function startDelayServer (): Promise<{ url: string; stop: () => void }> {
  const args = [here('./delay-server.js')]
  const child = hasTaskset ? spawn('taskset', ['-c', '1', process.execPath, ...args], { stdio: ['ignore', 'pipe', 'inherit'] }) : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve) => child.stdout!.once('data', (c: Buffer) => resolve({ url: `http://127.0.0.1:${c.toString().trim()}/`, stop: () => child.kill('SIGTERM') })))
}

export async function cli (): Promise<void> {
  const rounds = Number(process.argv.find(a => a.startsWith('--rounds='))?.slice(9) ?? 3)
  // --startup-only: only the short runs (a minute), e.g. while working on the start-up
  const startupOnly = process.argv.includes('--startup-only')
  const tools = ['loadlens', 'loadlens --no-host-probe', 'autocannon', ...(hasWrk ? ['wrk'] : [])]
  console.log(`\n## cli: the CLI as a user runs it, ${CONNECTIONS} connections for ${SECONDS} s, ${rounds} rounds round-robin (${tools.join(', ')})`)
  console.log(`${hasTaskset ? 'server pinned to CPU 1, generators to CPU 0' : 'taskset not available: processes are not pinned'}; ${hasTime ? 'CPU and peak RSS from GNU time' : 'GNU time not available: no CPU figures'}${hasWrk ? '' : '; wrk not installed'}`)
  const dir = mkdtempSync(join(tmpdir(), 'loadlens-bench-cli-'))
  const scenario = join(dir, 'minimal.ts')
  writeFileSync(scenario, `import { defineScenario } from 'loadlens'
export default defineScenario({ name: 'minimal', users: { U: { tasks: { get: async (u) => { await u.http.get('/') } } } } })
`)
  try {
    const fast = await startBenchServer()
    const runs: ToolRun[] = []
    try {
      if (!startupOnly) for (let i = 0; i < rounds; i++) for (const tool of tools) runs.push(await runTool(tool, fast.url, dir, scenario, false, fast.pid))
    } finally {
      fast.stop()
    }
    const med = (tool: string, f: (r: ToolRun) => number, from = runs): number => median(from.filter(r => r.tool === tool).map(f))
    const cpuPerReq = (tool: string): number => med(tool, r => r.cpuUs / r.requests)
    if (!startupOnly) {
      console.log('\nthroughput, against the benchmark server (no delay)')
      console.log('tool                       req/s   CPU us/req  peak RSS MB  server core')
      for (const tool of tools) console.log(`${tool.padEnd(26)} ${med(tool, r => r.rps).toFixed(0).padStart(6)} ${cpuPerReq(tool).toFixed(1).padStart(12)} ${med(tool, r => r.rssMB).toFixed(0).padStart(12)} ${med(tool, r => r.serverCore).toFixed(2).padStart(12)}`)
      // each round's loadlens run against the same round's autocannon run (this machine's slow
      // phases outlast a round and move the two tools' own medians apart)
      const rpsPairs = pairRatios(runs, r => r.rps)
      const cpuPairs = pairRatios(runs, r => r.cpuUs / r.requests)
      const rps = median(rpsPairs)
      const cpu = median(cpuPairs)
      const shown = (xs: number[]): string => xs.map(x => x.toFixed(2)).join(', ')
      // a server near a whole core sets the rate: requests/s then follows how its CPU per request
      // responds to each tool's traffic more than the generator, whose own figure is CPU per request
      const serverShare = median(runs.map(r => r.serverCore))
      if (Number.isFinite(serverShare)) console.log(`the server used a median ${(serverShare * 100).toFixed(0)} % of its core (runs ${runs.map(r => (r.serverCore * 100).toFixed(0)).join(', ')} %)${serverShare >= 0.9 ? ': requests/s is bound by it and follows how its CPU per request responds to each tool\'s traffic; the generators\' own cost is their CPU per request' : ''}`)
      console.log(`loadlens / autocannon, the median of each round's pair: requests/s ${rps.toFixed(2)}x (pairs ${shown(rpsPairs)}; target >= 1.0: ${verdict(rps >= 1)}), CPU per request ${cpu.toFixed(2)}x (pairs ${shown(cpuPairs)}; target <= 1.0: ${verdict(cpu <= 1)}); the ratio of the columns' medians: ${(med('loadlens', r => r.rps) / med('autocannon', r => r.rps)).toFixed(2)}x and ${(cpuPerReq('loadlens') / cpuPerReq('autocannon')).toFixed(2)}x`)
    }

    const slow = await startDelayServer()
    const timedRuns: ToolRun[] = []
    const shortRuns: ShortRun[] = []
    try {
      if (!startupOnly) for (let i = 0; i < rounds; i++) for (const tool of tools) timedRuns.push(await runTool(tool, slow.url, dir, scenario, true))
      for (let i = 0; i < Math.max(5, rounds); i++) for (const tool of ['loadlens', 'autocannon']) shortRuns.push(await runShort(tool, slow.url, dir, scenario))
    } finally {
      slow.stop()
    }
    if (!startupOnly) {
      const m = (tool: string, f: (r: ToolRun) => number): number => med(tool, f, timedRuns)
      console.log('\naccuracy, against a server whose delays are uniform in 10-50 ms (its own timing in brackets)')
      console.log('tool                        p50 ms (server)   p99 ms (server)')
      for (const tool of tools) console.log(`${tool.padEnd(26)} ${m(tool, r => r.p50).toFixed(2).padStart(7)} (${m(tool, r => r.server.p50).toFixed(2)})   ${m(tool, r => r.p99).toFixed(2).padStart(7)} (${m(tool, r => r.server.p99).toFixed(2)})`)
      const p99Gap = m('loadlens', r => r.p99 - r.server.p99)
      const p99Limit = Math.max(1, 0.02 * m('loadlens', r => r.server.p99))
      const p50Gap = m('loadlens', r => r.p50 - r.server.p50)
      console.log(`loadlens p99 - server p99: ${p99Gap.toFixed(2)} ms (target within ${p99Limit.toFixed(2)} ms: ${verdict(Math.abs(p99Gap) <= p99Limit)}); p50 - server p50: ${p50Gap.toFixed(2)} ms (target within 1 ms: ${verdict(Math.abs(p50Gap) <= 1)})`)
    }

    const sm = (tool: string, f: (r: ShortRun) => number): number => median(shortRuns.filter(r => r.tool === tool).map(f))
    console.log(`\nstart-up: a 1-user, 1-second run against the delay server (${shortRuns.length / 2} runs each, round-robin): what a run costs beyond its requests`)
    console.log('tool                       requests   CPU s   wall s  peak RSS MB')
    for (const tool of ['loadlens', 'autocannon']) console.log(`${tool.padEnd(26)} ${sm(tool, r => r.requests).toFixed(0).padStart(8)} ${(sm(tool, r => r.cpuUs) / 1e6).toFixed(2).padStart(7)} ${sm(tool, r => r.wallS).toFixed(2).padStart(8)} ${sm(tool, r => r.rssMB).toFixed(0).padStart(12)}`)
    // the ratio of each round's pair (run one after the other), then their median: this machine
    // has slow phases that last longer than a pair and move both tools' figures
    const cpuPairs = pairRatios(shortRuns, r => r.cpuUs)
    const cpuShort = median(cpuPairs)
    const wallShort = median(pairRatios(shortRuns, r => r.wallS))
    console.log(`loadlens / autocannon, the median of each round's pair: CPU ${cpuShort.toFixed(2)}x (pairs ${cpuPairs.map(x => x.toFixed(2)).join(', ')}), wall ${wallShort.toFixed(2)}x (target: about autocannon's, <= ${STARTUP_SLACK}x: CPU ${verdict(cpuShort <= STARTUP_SLACK)}, wall ${verdict(wallShort <= STARTUP_SLACK)})`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
