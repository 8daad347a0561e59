/**
 * Host probe: what `htop` shows by hand. CPU busy over all cores and per core (percent), the
 * 1-minute load average, memory used and available, swap used, and bytes per second received
 * and sent per network interface (loopback included: a load test on 127.0.0.1 travels over
 * it).
 *
 * On Linux it reads /proc/stat, /proc/meminfo and /proc/net/dev with asynchronous reads and
 * takes the deltas itself: a sample costs well under a millisecond of the event loop, where
 * systeminformation's calls spend ~25 ms of it, part of it synchronous (they delayed the
 * timing of requests in the same thread). Elsewhere systeminformation does it, loaded only
 * then.
 */
import { readFile } from 'node:fs/promises'
import { cpus, loadavg, platform, totalmem } from 'node:os'
import { METRICS } from '../shared/metrics.js'
import type { Probe, Reading } from './probe.js'

const M = METRICS.host

interface CpuTimes { busy: number; total: number }
interface ProcSnapshot { at: number; cpu: CpuTimes; cores: CpuTimes[]; net: Map<string, { rx: number; tx: number }> }

/** /proc/stat's cpu lines: busy is everything but idle and iowait */
export function parseProcStat (text: string): { cpu: CpuTimes; cores: CpuTimes[] } {
  let cpu: CpuTimes = { busy: 0, total: 0 }
  const cores: CpuTimes[] = []
  for (const line of text.split('\n')) {
    const m = /^cpu(\d*)\s+(.*)$/.exec(line)
    if (!m) continue
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const f = m[2]!.trim().split(/\s+/).slice(0, 8).map(Number)
    const total = f.reduce((a, x) => a + x, 0)
    const t = { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total }
    if (m[1] === '') cpu = t
    else cores[Number(m[1])] = t
  }
  return { cpu, cores }
}

/** /proc/meminfo in bytes */
export function parseMeminfo (text: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s+(\d+)(?:\s+kB)?/.exec(line)
    if (m) out[m[1]!] = Number(m[2]) * (line.endsWith('kB') ? 1024 : 1)
  }
  return out
}

/** /proc/net/dev: bytes received and sent per interface */
export function parseNetDev (text: string): Map<string, { rx: number; tx: number }> {
  const out = new Map<string, { rx: number; tx: number }>()
  for (const line of text.split('\n')) {
    const m = /^\s*([^:\s]+):\s*(.*)$/.exec(line)
    if (!m) continue
    const f = m[2]!.trim().split(/\s+/).map(Number)
    if (f.length >= 9) out.set(m[1]!, { rx: f[0]!, tx: f[8]! })
  }
  return out
}

const busyPercent = (a: CpuTimes, b: CpuTimes): number | null => {
  const dt = b.total - a.total
  return dt > 0 ? round((100 * (b.busy - a.busy)) / dt) : null
}

export class HostProbe implements Probe {
  readonly name = 'host'
  readonly target = 'this host (CPU, memory, network)'
  /** systeminformation's first call can take most of a second (where it is used) */
  readonly timeoutMs = 900
  private cores = 0
  private memTotal = 0
  private readonly useProc = platform() === 'linux'
  private last: ProcSnapshot | null = null

  async start (): Promise<void> {
    this.cores = cpus().length
    this.memTotal = totalmem()
    // the first deltas are taken from here
    if (this.useProc) this.last = await this.snapshot().catch(() => null)
  }

  private async snapshot (): Promise<ProcSnapshot> {
    const [stat, net] = await Promise.all([readFile('/proc/stat', 'utf8'), readFile('/proc/net/dev', 'utf8')])
    return { at: performance.now(), ...parseProcStat(stat), net: parseNetDev(net) }
  }

  async sample (): Promise<Reading[]> {
    return this.useProc ? this.sampleProc() : this.sampleSi()
  }

  private async sampleProc (): Promise<Reading[]> {
    const [now, meminfo] = await Promise.all([this.snapshot(), readFile('/proc/meminfo', 'utf8')])
    const prev = this.last
    this.last = now
    const mem = parseMeminfo(meminfo)
    const available = mem.MemAvailable ?? mem.MemFree ?? NaN
    const out: Reading[] = [
      { metric: M.cpu, unit: 'percent', value: prev ? busyPercent(prev.cpu, now.cpu) : null },
      { metric: M.load1, unit: 'count', value: round(loadavg()[0]!) },
      { metric: M.memUsed, unit: 'bytes', value: (mem.MemTotal ?? NaN) - available },
      { metric: M.memAvailable, unit: 'bytes', value: available },
      { metric: M.swapUsed, unit: 'bytes', value: (mem.SwapTotal ?? 0) - (mem.SwapFree ?? 0) }
    ]
    now.cores.forEach((c, i) => {
      const p = prev?.cores[i]
      out.push({ metric: M.cpuCore, labels: { core: String(i) }, unit: 'percent', value: p ? busyPercent(p, c) : null })
    })
    const dt = prev ? (now.at - prev.at) / 1000 : 0
    for (const [iface, n] of now.net) {
      const p = prev?.net.get(iface)
      const rate = (a: number | undefined, b: number): number | null => (p && dt > 0 && a !== undefined && b >= a ? round((b - a) / dt) : null)
      out.push({ metric: M.netRxPerS, labels: { iface }, unit: 'bytes_per_s', value: rate(p?.rx, n.rx) })
      out.push({ metric: M.netTxPerS, labels: { iface }, unit: 'bytes_per_s', value: rate(p?.tx, n.tx) })
    }
    return out
  }

  private async sampleSi (): Promise<Reading[]> {
    const si = (await import('systeminformation')).default
    const [load, mem, net] = await Promise.all([si.currentLoad(), si.mem(), si.networkStats('*')])
    const out: Reading[] = [
      { metric: M.cpu, unit: 'percent', value: round(load.currentLoad) },
      { metric: M.load1, unit: 'count', value: round(loadavg()[0]!) },
      { metric: M.memUsed, unit: 'bytes', value: mem.active },
      { metric: M.memAvailable, unit: 'bytes', value: mem.available },
      { metric: M.swapUsed, unit: 'bytes', value: mem.swapused }
    ]
    load.cpus.forEach((c, i) => out.push({ metric: M.cpuCore, labels: { core: String(i) }, unit: 'percent', value: round(c.load) }))
    for (const n of net) {
      if (!n.iface) continue
      out.push({ metric: M.netRxPerS, labels: { iface: n.iface }, unit: 'bytes_per_s', value: n.rx_sec === null || n.rx_sec < 0 ? null : round(n.rx_sec) })
      out.push({ metric: M.netTxPerS, labels: { iface: n.iface }, unit: 'bytes_per_s', value: n.tx_sec === null || n.tx_sec < 0 ? null : round(n.tx_sec) })
    }
    return out
  }

  async stop (): Promise<void> {}

  facts (): Record<string, unknown> {
    return { cores: this.cores, memoryBytes: this.memTotal, source: this.useProc ? '/proc' : 'systeminformation' }
  }
}

function round (x: number): number {
  return Math.round(x * 100) / 100
}
