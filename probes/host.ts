/**
 * Host probe (systeminformation): what `htop` shows by hand. CPU busy over all cores and per
 * core (percent), the 1-minute load average, memory used and available, swap used, and bytes
 * per second received and sent per network interface (loopback included: a load test on
 * 127.0.0.1 travels over it).
 */
import { cpus, loadavg, totalmem } from 'node:os'
import si from 'systeminformation'
import { METRICS } from '../shared/metrics.js'
import type { Probe, Reading } from './probe.js'

const M = METRICS.host

export class HostProbe implements Probe {
  readonly name = 'host'
  readonly target = 'this host (CPU, memory, network)'
  /** systeminformation's first call can take most of a second */
  readonly timeoutMs = 900
  private cores = 0
  private memTotal = 0

  async start (): Promise<void> {
    // systeminformation's first calls (which set up its own deltas) take a while: they run
    // in the scheduler's priming sample, not here, so the load does not wait for them
    this.cores = cpus().length
    this.memTotal = totalmem()
  }

  async sample (): Promise<Reading[]> {
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
    return { cores: this.cores, memoryBytes: this.memTotal }
  }
}

function round (x: number): number {
  return Math.round(x * 100) / 100
}
