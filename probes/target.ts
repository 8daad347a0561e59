/**
 * Target process probe: the system under test's own process, found by PID or by a pattern
 * in its command line, with all its children (a gunicorn master and its workers, a Celery
 * worker and its pool): resident memory (bytes), CPU (percent of one core) and how many
 * processes there are. On Linux it reads /proc directly (one scan of the process table every
 * few seconds to find children, then only the tracked processes each sample); elsewhere it
 * uses pidtree and pidusage.
 *
 * A pattern never matches loadlens itself, its parents (the shell that started it has the
 * pattern in its own command line) or the processes the probes start (a --log-command).
 */
import { readdir, readFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import pidtree from 'pidtree'
import pidusage from 'pidusage'
import { METRICS } from '../shared/metrics.js'
import { redactText } from '../shared/redact.js'
import { ProbeStartError } from './probe.js'
import type { Probe, Reading } from './probe.js'
import type { ProcessRoles } from './process-roles.js'

const M = METRICS.target
const LINUX = process.platform === 'linux'
const CLOCK_TICKS = 100
const RESCAN_MS = 5000

interface ProcStat { pid: number; ppid: number; ticks: number; rssPages: number }

let pageSizeCache = 0
/** the page size, from this process's own RSS (what statm counts in pages) */
function pageSize (): number {
  if (pageSizeCache) return pageSizeCache
  try {
    const pages = Number(readFileSync('/proc/self/statm', 'utf8').split(' ')[1])
    const ratio = process.memoryUsage.rss() / pages
    pageSizeCache = 2 ** Math.round(Math.log2(ratio))
  } catch {
    pageSizeCache = 4096
  }
  return pageSizeCache
}

async function readStat (pid: number): Promise<ProcStat | null> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8')
    // the command name may hold spaces and parentheses: fields start after the last ')'
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ')
    return { pid, ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]), rssPages: Number(rest[21]) }
  } catch {
    return null
  }
}

async function allPids (): Promise<number[]> {
  return (await readdir('/proc')).filter(n => /^\d+$/.test(n)).map(Number)
}

async function cmdline (pid: number): Promise<string> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ').trim()
  } catch {
    return ''
  }
}

/** pid -> parent pid of every process */
async function processTable (): Promise<Map<number, number>> {
  const table = new Map<number, number>()
  if (LINUX) {
    const stats = await Promise.all((await allPids()).map(readStat))
    for (const s of stats) if (s) table.set(s.pid, s.ppid)
  } else {
    const rows = await pidtree(-1, { advanced: true }) as unknown as Array<{ pid: number; ppid: number }>
    for (const r of rows) table.set(r.pid, r.ppid)
  }
  return table
}

function descendants (roots: number[], table: Map<number, number>): number[] {
  const children = new Map<number, number[]>()
  for (const [pid, ppid] of table) {
    let list = children.get(ppid)
    if (!list) children.set(ppid, list = [])
    list.push(pid)
  }
  const out = new Set<number>()
  const stack = [...roots]
  while (stack.length) {
    const pid = stack.pop()!
    if (out.has(pid)) continue
    out.add(pid)
    for (const c of children.get(pid) ?? []) stack.push(c)
  }
  return [...out]
}

/** processes the probes started themselves (a --log-command): never the target */
const probeChildren = new Set<number>()
export function notATarget (pid: number): void {
  probeChildren.add(pid)
}

/** loadlens itself, its ancestors and the probes' own children: never the target */
function selfFamily (table: Map<number, number>): Set<number> {
  const own = new Set(descendants([...probeChildren].filter(p => table.has(p)), table))
  own.add(process.pid)
  let p = process.pid
  while (p > 1 && table.has(p)) {
    own.add(p)
    p = table.get(p)!
  }
  own.add(p)
  return own
}

export interface TargetProbeOptions {
  pid?: number
  /** a substring of the command line, or /regex/ */
  pattern?: string
  /** where the target's process tree is shared with the other probes (the pg probe's session owners) */
  roles?: ProcessRoles
}

export class TargetProbe implements Probe {
  readonly name = 'target'
  readonly target: string
  private roots: number[] = []
  private tracked: number[] = []
  private scannedAt = 0
  private lastTicks = new Map<number, { ticks: number; at: number }>()
  private peakRss = 0
  private peakProcesses = 0
  private matched: string[] = []

  constructor (private readonly o: TargetProbeOptions) {
    this.target = o.pid !== undefined ? `process ${o.pid} and its children` : `processes matching "${o.pattern}" and their children`
  }

  private matcher (): (cmd: string) => boolean {
    const p = this.o.pattern!
    const re = /^\/(.+)\/([a-z]*)$/.exec(p)
    if (re) {
      const rx = new RegExp(re[1]!, re[2])
      return (cmd) => rx.test(cmd)
    }
    return (cmd) => cmd.includes(p)
  }

  /** finds the root processes and their children */
  private async scan (): Promise<void> {
    const table = await processTable()
    if (this.o.pid !== undefined) {
      this.roots = table.has(this.o.pid) ? [this.o.pid] : []
    } else {
      const own = selfFamily(table)
      const match = this.matcher()
      const hits: number[] = []
      for (const pid of table.keys()) {
        if (own.has(pid)) continue
        const cmd = LINUX ? await cmdline(pid) : ''
        if (cmd && match(cmd)) hits.push(pid)
      }
      const hitSet = new Set(hits)
      // a match whose parent also matches is counted as that parent's child
      this.roots = hits.filter(pid => !hitSet.has(table.get(pid) ?? -1))
      if (this.matched.length === 0 && this.roots.length) this.matched = await Promise.all(this.roots.slice(0, 3).map(cmdline))
    }
    this.tracked = descendants(this.roots, table)
    this.scannedAt = Date.now()
    this.o.roles?.setTarget(this.tracked)
  }

  async start (): Promise<void> {
    if (this.o.pattern !== undefined && !LINUX) throw new ProbeStartError('--target-process needs Linux (/proc); use --target-pid')
    await this.scan()
    if (!this.roots.length) {
      throw new ProbeStartError(this.o.pid !== undefined ? `no process with PID ${this.o.pid}` : `no process matches "${this.o.pattern}" (loadlens itself and the shells that started it are left out)`)
    }
  }

  async sample (now: number): Promise<Reading[]> {
    if (Date.now() - this.scannedAt >= RESCAN_MS || this.roots.length === 0) await this.scan()
    if (!this.roots.length) throw new Error(this.o.pid !== undefined ? `process ${this.o.pid} is gone` : `no process matches "${this.o.pattern}"`)
    let rss = 0
    let cpuPct: number | null = null
    /** the busiest process of the tree, percent of one core (a server of several processes is CPU-bound when one or all are) */
    let busiest: number | null = null
    let count = 0
    if (LINUX) {
      const stats = (await Promise.all(this.tracked.map(readStat))).filter((s): s is ProcStat => s !== null)
      if (this.o.pid !== undefined && !stats.some(s => s.pid === this.o.pid)) {
        this.roots = []
        throw new Error(`process ${this.o.pid} is gone`)
      }
      const next = new Map<number, { ticks: number; at: number }>()
      let ticks = 0
      let seconds = 0
      for (const s of stats) {
        rss += s.rssPages * pageSize()
        count++
        next.set(s.pid, { ticks: s.ticks, at: now })
        const prev = this.lastTicks.get(s.pid)
        if (prev && s.ticks >= prev.ticks) {
          ticks += s.ticks - prev.ticks
          const span = (now - prev.at) / 1000
          seconds = Math.max(seconds, span)
          if (span > 0) busiest = Math.max(busiest ?? 0, ((s.ticks - prev.ticks) / CLOCK_TICKS / span) * 100)
        }
      }
      this.lastTicks = next
      if (seconds > 0) cpuPct = (ticks / CLOCK_TICKS / seconds) * 100
    } else {
      const usage = await pidusage(this.tracked).catch(() => ({} as Record<string, { cpu: number; memory: number }>))
      const rows = Object.values(usage)
      if (!rows.length) throw new Error('the target processes are gone')
      cpuPct = 0
      for (const u of rows) { rss += u.memory; cpuPct += u.cpu; count++; busiest = Math.max(busiest ?? 0, u.cpu) }
    }
    this.peakRss = Math.max(this.peakRss, rss)
    this.peakProcesses = Math.max(this.peakProcesses, count)
    return [
      { metric: M.rss, unit: 'bytes', value: rss },
      { metric: M.cpu, unit: 'percent', value: cpuPct === null ? null : Math.round(cpuPct * 100) / 100 },
      { metric: M.cpuBusiest, unit: 'percent', value: busiest === null ? null : Math.round(busiest * 100) / 100 },
      { metric: M.processes, unit: 'count', value: count }
    ]
  }

  async stop (): Promise<void> {
    if (!LINUX) pidusage.clear()
  }

  facts (): Record<string, unknown> {
    const f: Record<string, unknown> = { pids: this.roots, peakRss: this.peakRss, peakProcesses: this.peakProcesses }
    if (this.matched.length) f.commandLines = this.matched.map(c => redactText(c).slice(0, 200))
    return f
  }
}
