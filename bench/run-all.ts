/**
 * `npm run bench [-- section ...]`: loadlens's speed and memory targets, measured as ratios
 * against a reference run in the same script. Sections:
 *   loadgen   requests/s against autocannon (and undici alone) at 50 connections; 5,000 users at 1 s think time
 *   workers   2 worker threads against 1; 10,000 users at 1 s think time (bench/scale.ts)
 *   soak      the generator's RSS over a development-profile soak, --soak=DURATION (bench/scale.ts)
 *   names     the CLI with a URL per request and no name: RSS flat under the bound on rows (bench/names.ts)
 * Each section prints its figures and whether the target was met; nothing here is a test.
 */
import { spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { sections as extraSections } from './sections.js'

const here = (f: string): string => fileURLToPath(new URL(f, import.meta.url))
const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0

/** Runs a node script (optionally pinned to a CPU, with extra environment) and parses its last JSON line. */
export function runJson (script: string, args: string[], cpu?: number, env: Record<string, string> = {}): Promise<Record<string, any>> {
  const cmd = hasTaskset && cpu !== undefined ? 'taskset' : process.execPath
  const full = hasTaskset && cpu !== undefined ? ['-c', String(cpu), process.execPath, here(script), ...args] : [here(script), ...args]
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, full, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } })
    let out = ''
    child.stdout.on('data', (c: Buffer) => { out += c.toString() })
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? ''
      try { resolve(JSON.parse(line)) } catch { reject(new Error(`${script} exited ${code} without a result: ${out.slice(-300)}`)) }
    })
  })
}

/** Starts the benchmark server (pinned to CPU 1 when possible and `pin`); resolves its URL and pid. */
export async function startBenchServer (env: Record<string, string> = {}, pin = true): Promise<{ url: string; pid: number; stop: () => void }> {
  const cpu = hasTaskset && pin ? ['taskset', ['-c', '1', process.execPath, here('./server.js')]] as const : [process.execPath, [here('./server.js')]] as const
  const child = spawn(cpu[0], [...cpu[1]], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, PORT: '0', ...env } })
  const port = await new Promise<string>((resolve) => child.stdout.once('data', (c: Buffer) => resolve(c.toString().trim())))
  return { url: `http://127.0.0.1:${port}/`, pid: child.pid!, stop: () => child.kill('SIGTERM') }
}

/** CPU time (user + system, us) a process has used so far, from /proc; 0 where there is none. */
export function processCpuUs (pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // utime and stime are fields 14 and 15 of the line, in clock ticks (100 per second on Linux)
    return (Number(fields[11]) + Number(fields[12])) * 10_000
  } catch {
    return 0
  }
}

/** The median of a list of numbers. */
export function median (values: number[]): number {
  const v = [...values].sort((a, b) => a - b)
  return v.length ? v[Math.floor(v.length / 2)]! : 0
}

export function verdict (ok: boolean): string {
  return ok ? 'MET' : 'NOT MET'
}

async function loadgen (): Promise<void> {
  console.log('\n## loadgen: the generator against autocannon (50 connections, no think time, 10 s each, 5 rounds back to back)')
  console.log(hasTaskset ? 'server pinned to CPU 1, generators to CPU 0 (taskset)' : 'taskset not available: processes are not pinned')
  const server = await startBenchServer()
  try {
    const rows: Array<Record<string, any>> = []
    for (let i = 0; i < 5; i++) {
      rows.push(await runJson('./gen-autocannon.js', [server.url, '50', '10'], 0))
      rows.push(await runJson('./gen-undici.js', [server.url, '50', '10'], 0))
      rows.push(await runJson('./gen-loadlens.js', [server.url, '50', '10', '0', '50'], 0))
    }
    const med = (tool: string, k: string): number => median(rows.filter(r => r.tool === tool).map(r => r[k] as number))
    const cpuPerReq = (tool: string): number => {
      const r = rows.filter(x => x.tool === tool)
      return r.reduce((a, x) => a + x.cpuUs, 0) / r.reduce((a, x) => a + x.requests, 0)
    }
    const ac = med('autocannon', 'rps')
    const un = med('undici', 'rps')
    const ll = med('loadlens', 'rps')
    const per = (tool: string): string => rows.filter(r => r.tool === tool).map(r => (r.rps as number).toFixed(0)).join(', ')
    console.log(`autocannon  ${ac.toFixed(0)} req/s (runs: ${per('autocannon')}), ${cpuPerReq('autocannon').toFixed(1)} us CPU per request`)
    console.log(`undici only ${un.toFixed(0)} req/s (runs: ${per('undici')}), ${cpuPerReq('undici').toFixed(1)} us CPU per request (what loadlens uses for https:// and with --http-client undici)`)
    console.log(`loadlens    ${ll.toFixed(0)} req/s (runs: ${per('loadlens')}), ${cpuPerReq('loadlens').toFixed(1)} us CPU per request`)
    console.log(`ratio ${(ll / ac).toFixed(2)}x of autocannon's requests/s (target >= 1.0x: ${verdict(ll / ac >= 1)}); CPU per request ${(cpuPerReq('loadlens') / cpuPerReq('autocannon')).toFixed(2)}x autocannon's`)
    console.log(`undici alone reaches ${(un / ac).toFixed(2)}x of autocannon; loadlens (its own HTTP/1.1 connection for http://, the whole harness included) reaches ${(ll / un).toFixed(2)}x of undici alone`)

    console.log('\n## loadgen: 5,000 users, 1 s think time, spawn 1000/s, 30 s, one thread')
    const big = await runJson('./gen-loadlens.js', [server.url, '5000', '30', '1', '1000'], 0)
    const intended = 5000 / (1 + big.p50 / 1000)
    const held = big.steadyRps / intended
    console.log(`steady ${big.steadyRps.toFixed(0)} req/s of ${intended.toFixed(0)} intended = ${(held * 100).toFixed(1)}% (target >= 95%: ${verdict(held >= 0.95)})`)
    console.log(`p50 ${big.p50} ms, p99 ${big.p99} ms, busiest second ELU ${big.maxElu}`)
    console.log(`peak RSS ${big.peakRssMB.toFixed(0)} MB (target < 300 MB: ${verdict(big.peakRssMB < 300)})`)
  } finally {
    server.stop()
  }
}

const all: Record<string, () => Promise<void>> = { loadgen, ...extraSections }
const chosen = process.argv.slice(2).filter(a => !a.startsWith('-'))
for (const name of chosen.length ? chosen : Object.keys(all)) {
  const fn = all[name]
  if (!fn) {
    console.error(`unknown bench section "${name}"; sections: ${Object.keys(all).join(', ')}`)
    process.exit(2)
  }
  await fn()
}
