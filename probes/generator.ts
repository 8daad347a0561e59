/**
 * The load generator checks itself: CPU (percent of one core; the load's worker threads and
 * the probes run in this process too) and resident memory of the loadlens process. When the
 * generator's CPU is saturated its latencies are not to be trusted (the correlator says so).
 */
import { METRICS } from '../shared/metrics.js'
import type { Probe, Reading } from './probe.js'

const M = METRICS.generator

export class GeneratorProbe implements Probe {
  readonly name = 'generator'
  readonly target = `loadlens (PID ${process.pid})`
  private last: { cpu: NodeJS.CpuUsage; at: number } | null = null
  private peakRss = 0
  private peakCpu = 0

  async start (): Promise<void> {}

  async sample (now: number): Promise<Reading[]> {
    const cpu = process.cpuUsage()
    const rss = process.memoryUsage.rss()
    let pct: number | null = null
    if (this.last && now > this.last.at) {
      const usedUs = cpu.user - this.last.cpu.user + cpu.system - this.last.cpu.system
      pct = Math.round((usedUs / 1000 / (now - this.last.at)) * 10000) / 100
      this.peakCpu = Math.max(this.peakCpu, pct)
    }
    this.last = { cpu, at: now }
    this.peakRss = Math.max(this.peakRss, rss)
    return [
      { metric: M.cpu, unit: 'percent', value: pct },
      { metric: M.rss, unit: 'bytes', value: rss }
    ]
  }

  async stop (): Promise<void> {}

  facts (): Record<string, unknown> {
    return { pid: process.pid, peakRss: this.peakRss, peakCpu: this.peakCpu }
  }
}
