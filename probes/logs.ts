/**
 * Logs probe: follows a log file (from its end at the start of the run; survives rotation
 * and truncation) or the output of a command (`docker logs -f api`, `journalctl -fu app`),
 * and counts lines per second by level: critical (CRITICAL, FATAL, PANIC), error, warning,
 * traceback (a Python "Traceback (most recent call last):" header) and other. The first few
 * lines of each level are kept as examples (a traceback with the lines that follow it).
 *
 * A level is read from structured fields first (`"level":"error"`, pino's numeric levels,
 * `level=error`), then from upper-case level words or bracketed ones (`ERROR`, `[error]`),
 * so prose such as "no error found" is not an error.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { open, stat } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { METRICS } from '../shared/metrics.js'
import { redactText } from '../shared/redact.js'
import { describeError } from '../shared/errors.js'
import { ProbeStartError, truncate } from './probe.js'
import { notATarget } from './target.js'
import type { Probe, Reading } from './probe.js'

export const LEVELS = ['critical', 'error', 'warning', 'traceback', 'other'] as const
export type Level = typeof LEVELS[number]

const EXAMPLES_PER_LEVEL = 5
const EXAMPLE_MAX = 400
/** most bytes read from a file in one sample; the rest waits for the next */
const READ_MAX = 8 * 1024 * 1024

function levelWord (word: string): Level | null {
  const w = word.toLowerCase()
  if (/^(crit|critical|fatal|panic|emerg|emergency|alert)$/.test(w)) return 'critical'
  if (/^(err|error|severe)$/.test(w)) return 'error'
  if (/^(warn|warning)$/.test(w)) return 'warning'
  if (/^(info|notice|debug|trace|verbose)$/.test(w)) return 'other'
  return null
}

/** The level of one log line. */
export function classify (line: string): Level {
  const structured = /["']?(?:level|levelname|severity|lvl|log\.level)["']?\s*[:=]\s*["']?([A-Za-z]+|\d+)/i.exec(line)
  if (structured) {
    const v = structured[1]!
    const n = Number(v)
    if (/^\d+$/.test(v) && n >= 10 && n <= 60 && n % 10 === 0) {
      // pino / bunyan: 60 fatal, 50 error, 40 warn, 30 info
      return n >= 60 ? 'critical' : n >= 50 ? 'error' : n >= 40 ? 'warning' : 'other'
    }
    const lvl = levelWord(v)
    if (lvl) return lvl
  }
  if (/^\s*Traceback \(most recent call last\):/.test(line)) return 'traceback'
  if (/\b(CRITICAL|FATAL|PANIC|EMERG|EMERGENCY)\b/.test(line)) return 'critical'
  if (/\b(ERROR|ERR)\b/.test(line)) return 'error'
  if (/\b(WARNING|WARN)\b/.test(line)) return 'warning'
  const bracket = /\[(crit|critical|fatal|error|err|warn|warning)\]/i.exec(line)
  if (bracket) return levelWord(bracket[1]!) ?? 'other'
  return 'other'
}

/** Counts lines by level and keeps examples. */
export class LineCounter {
  counts: Record<Level, number> = { critical: 0, error: 0, warning: 0, traceback: 0, other: 0 }
  totals: Record<Level, number> = { critical: 0, error: 0, warning: 0, traceback: 0, other: 0 }
  examples: Record<string, Array<{ at: number; line: string }>> = {}
  private partial = ''
  private traceback: { example: { line: string }; left: number } | null = null

  /** feeds a chunk of text; lines are counted when their newline arrives */
  feed (chunk: string, at: number): void {
    const text = this.partial + chunk
    const lines = text.split(/\r?\n/)
    this.partial = lines.pop() ?? ''
    if (this.partial.length > 64 * 1024) {
      lines.push(this.partial)
      this.partial = ''
    }
    for (const line of lines) this.line(line, at)
  }

  line (line: string, at: number): void {
    if (line.trim() === '') return
    if (this.traceback) {
      // the frames of a traceback and its exception line belong to its example
      const tb = this.traceback
      if (tb.example.line.length < EXAMPLE_MAX * 3) tb.example.line += '\n' + redactText(line).slice(0, EXAMPLE_MAX)
      tb.left--
      if (tb.left <= 0 || !/^\s/.test(line)) this.traceback = null
      if (/^\s/.test(line) || this.traceback === null) return
    }
    const level = classify(line)
    this.counts[level]++
    this.totals[level]++
    if (level === 'other') return
    const list = this.examples[level] ??= []
    if (list.length < EXAMPLES_PER_LEVEL) {
      const example = { at: Math.floor(at / 1000), line: truncate(redactText(line), EXAMPLE_MAX) }
      list.push(example)
      if (level === 'traceback') this.traceback = { example, left: 40 }
    }
  }

  /** the counts since the last take */
  take (): Record<Level, number> {
    const c = this.counts
    this.counts = { critical: 0, error: 0, warning: 0, traceback: 0, other: 0 }
    return c
  }
}

export interface LogsProbeOptions {
  file?: string
  command?: string
}

export class LogsProbe implements Probe {
  readonly name = 'logs'
  readonly target: string
  readonly noPrime = true
  private readonly counter = new LineCounter()
  private lastAt = 0
  // file
  private fh: FileHandle | null = null
  private ino = 0
  private pos = 0
  private tail = Buffer.alloc(0)
  private rotations = 0
  private truncations = 0
  // command
  private child: ChildProcess | null = null
  private exited: string | null = null
  private restarts = 0

  constructor (private readonly o: LogsProbeOptions) {
    this.target = o.file !== undefined ? `file ${o.file}` : `output of: ${redactText(o.command ?? '')}`
  }

  async start (): Promise<void> {
    this.lastAt = Date.now()
    if (this.o.file !== undefined) {
      try {
        const st = await stat(this.o.file)
        if (!st.isFile()) throw new Error('not a regular file')
        this.fh = await open(this.o.file, 'r')
        this.ino = st.ino
        this.pos = st.size
        if (st.size > 0) {
          const n = Math.min(32, st.size)
          const buf = Buffer.alloc(n)
          await this.fh.read(buf, 0, n, st.size - n)
          this.tail = buf
        }
      } catch (err) {
        throw new ProbeStartError(`--log ${this.o.file}: ${describeError(err)}`)
      }
      return
    }
    this.spawn()
    // a command that fails at once (not found, bad flag) cannot start
    await new Promise(r => setTimeout(r, 300))
    if (this.exited) throw new ProbeStartError(`--log-command: ${this.exited}`)
  }

  private spawn (): void {
    this.exited = null
    const child = spawn('/bin/sh', ['-c', this.o.command!], { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    this.child = child
    if (child.pid) notATarget(child.pid)
    const onData = (chunk: Buffer): void => this.counter.feed(chunk.toString('utf8'), Date.now())
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.on('error', (err) => { this.exited = describeError(err) })
    child.on('exit', (code, signal) => {
      if (this.child === child) this.exited = `the command exited (${signal ?? `code ${code}`})`
    })
  }

  private async readFile (): Promise<void> {
    const path = this.o.file!
    let st
    try {
      st = await stat(path)
    } catch {
      // rotated away and not yet recreated: read what is left in the file we hold
      if (this.fh) await this.drain(this.fh)
      return
    }
    if (this.fh && st.ino === this.ino) {
      if (st.size < this.pos || !(await this.sameTail(this.fh))) {
        // truncated (copytruncate), maybe already written past where we were
        this.truncations++
        this.pos = 0
        this.tail = Buffer.alloc(0)
      }
      await this.drain(this.fh)
      return
    }
    // rotated: finish the old file, then read the new one from its start
    if (this.fh) {
      await this.drain(this.fh)
      await this.fh.close().catch(() => {})
      this.rotations++
    }
    this.fh = await open(path, 'r')
    this.ino = st.ino
    this.pos = 0
    this.tail = Buffer.alloc(0)
    await this.drain(this.fh)
  }

  /** the bytes just before our position are still the ones we read */
  private async sameTail (fh: FileHandle): Promise<boolean> {
    const n = this.tail.length
    if (n === 0 || this.pos < n) return true
    const buf = Buffer.alloc(n)
    const { bytesRead } = await fh.read(buf, 0, n, this.pos - n)
    return bytesRead === n && buf.equals(this.tail)
  }

  private async drain (fh: FileHandle): Promise<void> {
    const size = (await fh.stat()).size
    if (size < this.pos) return
    let left = Math.min(size - this.pos, READ_MAX)
    const buf = Buffer.alloc(Math.min(left, 1024 * 1024))
    while (left > 0) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, left), this.pos)
      if (bytesRead <= 0) break
      this.pos += bytesRead
      left -= bytesRead
      const keep = Math.min(bytesRead, 32)
      this.tail = Buffer.from(buf.subarray(bytesRead - keep, bytesRead))
      this.counter.feed(buf.toString('utf8', 0, bytesRead), Date.now())
    }
  }

  async sample (now: number): Promise<Reading[]> {
    if (this.o.file !== undefined) {
      await this.readFile()
    } else if (this.exited) {
      const why = this.exited
      // restart the command for the next sample (the scheduler's backoff spaces the restarts)
      this.restarts++
      this.spawn()
      throw new Error(why)
    }
    const seconds = Math.max(0.001, (now - this.lastAt) / 1000)
    this.lastAt = now
    const counts = this.counter.take()
    return LEVELS.map(level => ({ metric: METRICS.logs.linesPerS, labels: { level }, unit: 'per_s' as const, value: Math.round((counts[level] / seconds) * 1000) / 1000 }))
  }

  async stop (): Promise<void> {
    if (this.fh) {
      await this.drain(this.fh).catch(() => {})
      await this.fh.close().catch(() => {})
      this.fh = null
    }
    const child = this.child
    this.child = null
    if (child && child.exitCode === null && child.pid) {
      try { process.kill(-child.pid, 'SIGTERM') } catch { child.kill('SIGTERM') }
    }
  }

  facts (): Record<string, unknown> {
    const f: Record<string, unknown> = { lines: { ...this.counter.totals }, examples: this.counter.examples }
    if (this.rotations) f.rotations = this.rotations
    if (this.truncations) f.truncations = this.truncations
    if (this.restarts) f.commandRestarts = this.restarts
    return f
  }
}
