/**
 * Locust as the load generator: an unmodified locustfile run by the user's own Locust, headless,
 * with loadlens's Python runner (locust/run_locust.py) listening on Locust's `request` event.
 * Each request arrives over a loopback TCP connection with Locust's own timing and the time it
 * completed, and lands in the same Recorder the engine uses: the timeline is exact HDR per
 * second and per name, not Locust's rounded, windowed percentiles. A second closes once a tick
 * from Locust says nothing earlier can still arrive. Users per second come from Locust's
 * runner; failures carry their exception text; exceptions in tasks are grouped by user class
 * and task. The process's CPU (Locust runs on one core) is the generator's health.
 *
 * Stopping: SIGTERM, on which Locust stops its users, prints and writes its stats and exits;
 * a second stop kills it. Locust runs in a process group of its own, so a Ctrl-C in the
 * terminal reaches loadlens only, which stops Locust in order. If loadlens goes away, the
 * runner sees its connection close and stops the load.
 */
import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import type { AddressInfo, Server, Socket } from 'node:net'
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs'
import { delimiter, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LocustError, ScenarioError } from '../shared/errors.js'
import { procCpuUs } from '../shared/proc.js'
import type { ExternalGenerator, FailureKind, StopReason } from '../shared/types.js'
import { Recorder } from './recorder.js'
import type { FailureInfo, SliceReport } from './recorder.js'
import type { EngineOutcome } from './engine.js'
import type { LoadDriver } from './driver.js'

/** the Python files loadlens ships for Locust (kept as source beside the TypeScript) */
export function locustSupportDir (): string {
  const self = fileURLToPath(import.meta.url)
  if (self.endsWith('.ts')) return join(dirname(self), 'locust')
  return resolve(dirname(self), '..', '..', 'loadgen', 'locust')
}

export interface LocustInstall {
  /** the Python interpreter that imports locust */
  python: string
  /** how it was found, for messages */
  how: string
}

/** The interpreter of a script on PATH (its #! line), when it has one. */
function shebangOf (command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, command)
    if (!dir || !existsSync(p)) continue
    try {
      const head = readFileSync(p, 'utf8').slice(0, 300).split('\n')[0] ?? ''
      const m = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(head)
      if (!m) return undefined
      // "#!/usr/bin/env python3"
      return m[1]!.endsWith('/env') ? m[2] : m[1]
    } catch {
      return undefined
    }
  }
  return undefined
}

/**
 * Finds a Python that can import Locust: LOADLENS_LOCUST_PYTHON, then the interpreter of the
 * `locust` command on PATH (pip's), then python3 on PATH, then /usr/bin/python3 (Debian's
 * python3-locust). Throws a UsageError that names where it looked.
 */
export function findLocust (explicit = process.env.LOADLENS_LOCUST_PYTHON): LocustInstall {
  const candidates: Array<{ python: string; how: string }> = []
  if (explicit) candidates.push({ python: explicit, how: 'LOADLENS_LOCUST_PYTHON' })
  const fromPath = shebangOf('locust')
  if (fromPath) candidates.push({ python: fromPath, how: 'the locust command on PATH' })
  candidates.push({ python: 'python3', how: 'python3 on PATH' }, { python: '/usr/bin/python3', how: '/usr/bin/python3' })
  const tried: string[] = []
  for (const c of candidates) {
    const r = spawnSync(c.python, ['-c', 'import locust'], { encoding: 'utf8', timeout: 60_000 })
    if (!r.error && r.status === 0) return c
    tried.push(`${c.python} (${r.error ? ((r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : r.error.message) : (r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`)})`)
    if (c.how === 'LOADLENS_LOCUST_PYTHON') break
  }
  throw new LocustError(`Locust is not installed: none of these Python interpreters can import it: ${tried.join('; ')}. ` +
    'Install it (pip install locust, or apt install python3-locust), or name the interpreter with LOADLENS_LOCUST_PYTHON')
}

export interface LocustUserClass {
  name: string
  host: string | null
  weight: number
  fixed_count: number
  tasks: string[]
}

export interface LocustfileInfo {
  version: string
  classes: LocustUserClass[]
  /** the file defines a LoadTestShape: it, not -u/-r/-t, shapes the load */
  shape: boolean
}

/** Imports the locustfile in a Python of its own: its user classes and hosts, or a clear error naming the file and line. */
export function inspectLocustfile (install: LocustInstall, file: string): LocustfileInfo {
  if (!existsSync(file)) throw new ScenarioError(`${file}: no such locustfile`)
  const r = spawnSync(install.python, [join(locustSupportDir(), 'discover.py'), file], { encoding: 'utf8', timeout: 120_000, cwd: dirname(resolve(file)) })
  if (r.error) throw new ScenarioError(`${file}: could not be read by ${install.python}: ${r.error.message}`)
  let out: Record<string, any> | undefined
  try {
    out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '')
  } catch {
    out = undefined
  }
  if (!out) throw new ScenarioError(`${file}: the locustfile could not be imported (exit ${r.status}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`)
  if (out.error) throw new ScenarioError(`the locustfile failed to import: ${out.error}`)
  if (!out.classes?.length && !out.shape) throw new ScenarioError(`${file}: no user class found (a class deriving from HttpUser, FastHttpUser or User)`)
  return out as LocustfileInfo
}

export interface LocustDriverOptions {
  install: LocustInstall
  locustfile: string
  /** Locust's arguments after the locustfile (loadlens builds --headless -u -r -t -H and adds the user's) */
  args: string[]
  /** where Locust's own output (stdout and stderr) goes */
  logFile: string
  /** the prefix of Locust's own CSV files (--csv), recorded in the result */
  csv?: string
  durationS: number
  stopTimeoutS: number
  allowRemote: boolean
  allowedHosts: string[]
  maxRequests?: number
  maxNames?: number
  onSlice: (report: SliceReport) => void
  onStart?: (startedAt: number) => void
  onSelfStop?: (reason: StopReason, message: string) => void
}

export interface LocustOutcome extends EngineOutcome {
  tool: ExternalGenerator
}


const SEP = '\t'
/** a stop that Locust does not finish within this long (after its own stop timeout) is a kill */
const KILL_AFTER_MS = 15_000

/** Locust's exception text, as one failure kind of loadlens's. */
export function failureOf (status: number | null, message: string): FailureInfo {
  const m = message.replace(/ at 0x[0-9a-f]+/gi, '').slice(0, 300)
  let kind: FailureKind
  if (/loadlens: not sent/.test(m)) kind = 'blocked'
  else if (status !== null && status >= 400) kind = 'http'
  else if (/CatchResponseError|ResponseError/.test(m) && status !== null && status > 0) kind = 'check'
  else if (/refused/i.test(m)) kind = 'refused'
  else if (/timed? ?out|Timeout/i.test(m)) kind = 'timeout'
  else if (/reset|RemoteDisconnected|BrokenPipe|closed|aborted/i.test(m)) kind = 'reset'
  else if (/Name or service not known|getaddrinfo|nodename nor servname|NameResolution/i.test(m)) kind = 'dns'
  else if (status !== null && status > 0) kind = 'check'
  else kind = 'other'
  return { kind, ...(status !== null && status > 0 ? { status } : {}), message: m }
}

export class LocustDriver implements LoadDriver {
  readonly recorder: Recorder
  private child: ChildProcess | null = null
  private server: Server | null = null
  private stopRequests = 0
  private stopped = false
  private lastUsers = 0
  private peak = 0
  private openSecond: number | null = null
  private startedAt = 0
  private started = false
  private exited: { code: number | null; signal: string | null } | null = null
  private quitLine = false
  private version = 'unknown'
  private lastCpu: { s: number; at: number } | undefined
  private endTimer: NodeJS.Timeout | undefined
  private killTimer: NodeJS.Timeout | undefined
  private spawnError: Error | undefined

  constructor (private readonly o: LocustDriverOptions) {
    this.recorder = new Recorder(o.maxNames)
  }

  users (): number { return this.lastUsers }

  setUsers (): boolean { return false }

  stop (hard = false): void {
    this.stopRequests++
    this.stopped = true
    const child = this.child
    if (!child || this.exited) return
    if (hard || this.stopRequests > 1) {
      this.signal('SIGKILL')
      return
    }
    this.signal('SIGTERM')
    this.killTimer ??= setTimeout(() => this.signal('SIGKILL'), this.o.stopTimeoutS * 1000 + KILL_AFTER_MS)
  }

  private signal (sig: NodeJS.Signals): void {
    const child = this.child
    if (!child?.pid || this.exited) return
    try { process.kill(-child.pid, sig) } catch { try { child.kill(sig) } catch {} }
  }

  private generatorHealth (): { elu: number; loopDelayP99Ms: number } | undefined {
    const pid = this.child?.pid
    if (!pid) return undefined
    const us = procCpuUs(`/proc/${pid}/stat`)
    const s = us === undefined ? undefined : us / 1e6
    const at = performance.now()
    const last = this.lastCpu
    this.lastCpu = s === undefined ? undefined : { s, at }
    if (s === undefined || !last || at - last.at < 250) return undefined
    return { elu: Math.min(1, Math.round(((s - last.s) / ((at - last.at) / 1000)) * 1000) / 1000), loopDelayP99Ms: 0 }
  }

  /** closes every second before `second` */
  private closeUntil (second: number): void {
    if (this.openSecond === null) return
    while (this.openSecond < second) {
      const g = this.generatorHealth()
      this.o.onSlice(this.recorder.closeSlice(this.openSecond, this.lastUsers, g ? { generator: g } : {}))
      this.openSecond++
    }
  }

  private begin (t: number): void {
    if (this.started) return
    this.started = true
    this.startedAt = t
    this.openSecond = Math.floor(t / 1000)
    this.generatorHealth()
    this.o.onStart?.(t)
    this.endTimer = setTimeout(() => { if (!this.stopped) this.stop() }, (this.o.durationS + this.o.stopTimeoutS) * 1000 + KILL_AFTER_MS)
  }

  private line (text: string): void {
    const f = text.split(SEP)
    const t = Number(f[1]) * 1000
    switch (f[0]) {
      case 'H':
        this.version = f[1] ?? 'unknown'
        return
      case 'S':
        this.begin(t)
        return
      case 'R': {
        if (!this.started) this.begin(t)
        const second = Math.floor(t / 1000)
        if (second > this.openSecond!) this.closeUntil(second)
        const ms = Number(f[2])
        const bytes = Number(f[3]) || 0
        const status = f[4] ? Number(f[4]) : null
        const type = f[5] || 'GET'
        const name = f[6] ?? ''
        const error = f[7] !== undefined ? String(JSON.parse(f[7])) : undefined
        this.recorder.record(type, name, Math.max(0, ms * 1000), bytes, error === undefined ? undefined : failureOf(status, error))
        const max = this.o.maxRequests
        if (max !== undefined && this.recorder.totalRequests >= max && !this.stopped) {
          this.o.onSelfStop?.('max-requests', `request budget of ${max} reached`)
          this.stop()
        }
        return
      }
      case 'E':
        // Locust's text of the exception ("ValueError: ..."), grouped like a scenario's
        this.recorder.recordException(f[2] || 'User', f[3] || '(task)', String(JSON.parse(f[4] ?? '""')))
        return
      case 'T': {
        this.lastUsers = Number(f[2]) || 0
        this.peak = Math.max(this.peak, this.lastUsers)
        if (this.started) this.closeUntil(Math.floor(t / 1000))
        return
      }
      case 'Q':
        this.quitLine = true
    }
  }

  async run (): Promise<LocustOutcome> {
    const o = this.o
    let socket: Socket | null = null
    let rest = ''
    const connected = new Promise<void>((resolveConnected) => {
      this.server = createServer((s) => {
        if (socket) { s.destroy(); return }
        socket = s
        s.setEncoding('utf8')
        s.on('data', (chunk: string) => {
          const lines = (rest + chunk).split('\n')
          rest = lines.pop()!
          for (const l of lines) if (l) this.line(l)
        })
        s.on('error', () => {})
        resolveConnected()
      })
    })
    await new Promise<void>((res, rej) => { this.server!.once('error', rej); this.server!.listen(0, '127.0.0.1', () => res()) })
    const port = (this.server!.address() as AddressInfo).port
    const logFd = openSync(o.logFile, 'a')
    const env = {
      ...process.env,
      LOADLENS_LOCUST_ADDR: `127.0.0.1:${port}`,
      LOADLENS_LOCUST_ALLOW_REMOTE: o.allowRemote ? '1' : '0',
      LOADLENS_LOCUST_ALLOWED_HOSTS: o.allowedHosts.join(','),
      ...(o.csv ? { LOADLENS_LOCUST_CSV: o.csv } : {}),
      PYTHONUNBUFFERED: '1'
    }
    const args = [join(locustSupportDir(), 'run_locust.py'), '-f', resolve(o.locustfile), ...o.args]
    const child = spawn(o.install.python, args, { cwd: dirname(resolve(o.locustfile)), env, stdio: ['ignore', logFd, logFd], detached: true })
    closeSync(logFd)
    this.child = child
    const exited = new Promise<void>((res) => {
      child.once('exit', (code, signal) => { this.exited = { code, signal }; res() })
      child.once('error', (err) => { this.exited = { code: null, signal: null }; this.spawnError = err; res() })
    })
    if (this.stopped) this.stop()
    await Promise.race([connected, exited])
    await exited
    // what Locust sent before it exited is all read once its end of the socket is closed
    if (socket) await new Promise<void>(res => { if ((socket as Socket).readableEnded || (socket as Socket).destroyed) res(); else { (socket as Socket).once('close', () => res()); setTimeout(res, 2000) } })
    if (rest) this.line(rest)
    clearTimeout(this.endTimer)
    clearTimeout(this.killTimer)
    this.server!.close()
    const endedAt = Date.now()
    if (this.started) this.closeUntil(Math.floor(endedAt / 1000) + 1)
    if (this.spawnError) throw new LocustError(`${o.install.python}: could not start Locust: ${this.spawnError.message}`)
    const how = this.exited?.signal ? `on ${this.exited.signal}` : `with code ${this.exited?.code}`
    if (this.started && !this.quitLine && !this.stopped) {
      // Locust died during the run: what it measured until then stays
      const tail = logTail(o.logFile)
      o.onSelfStop?.('error', `Locust exited ${how} during the run${tail ? `: ${tail}` : ''} (its log: ${o.logFile})`)
    }
    if (!this.started) {
      const tail = logTail(o.logFile)
      throw new LocustError(`Locust exited ${how} before the test started${tail ? `: ${tail}` : ''} (its log: ${o.logFile})`)
    }
    return {
      startedAt: this.startedAt,
      endedAt,
      abortedAtStop: 0,
      droppedIterations: 0,
      peakUsers: this.peak,
      costSoFar: 0,
      tool: {
        name: 'locust',
        version: this.version,
        python: o.install.python,
        args: o.args,
        exitCode: this.exited?.code ?? null,
        ...(this.exited?.signal ? { signal: this.exited.signal } : {}),
        log: o.logFile,
        ...(o.csv ? { csv: o.csv } : {})
      }
    }
  }
}

/** the last meaningful lines of Locust's log, joined: what a failing start says */
export function logTail (file: string, lines = 3): string {
  try {
    const all = readFileSync(file, 'utf8').split('\n').map(l => l.trim()).filter(Boolean)
    const errorAt = all.findIndex(l => /Error|Exception|error:/.test(l))
    const pick = errorAt >= 0 ? all.slice(errorAt, errorAt + lines) : all.slice(-lines)
    return pick.join(' | ').slice(0, 600)
  } catch {
    return ''
  }
}
