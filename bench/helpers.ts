/**
 * What the bench sections share: running a generator script in its own process (pinned to a
 * CPU where taskset exists) and reading its JSON line, the benchmark server, a process's CPU
 * time, medians and verdicts. Sections import this; the entry (run-all.ts) imports the sections.
 */
import { spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { procCpuUs } from '../shared/proc.js'

const here = (f: string): string => fileURLToPath(new URL(f, import.meta.url))
export const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0

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
  return procCpuUs(`/proc/${pid}/stat`) ?? 0
}

/** The median of a list of numbers. */
export function median (values: number[]): number {
  const v = [...values].sort((a, b) => a - b)
  return v.length ? v[Math.floor(v.length / 2)]! : 0
}

export function verdict (ok: boolean): string {
  return ok ? 'MET' : 'NOT MET'
}
