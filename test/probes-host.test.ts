/**
 * Host, target process and generator probes against real processes: the host series are in
 * range, the RSS of a leaking child process (found by PID, and by command-line pattern with
 * its own child included) grows, its CPU shows when it spins, the generator measures itself,
 * and a target that exits is a gap.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { cpus, totalmem } from 'node:os'
import si from 'systeminformation'
import type { ChildProcess } from 'node:child_process'
import { HostProbe } from '../probes/host.js'
import { TargetProbe } from '../probes/target.js'
import { GeneratorProbe } from '../probes/generator.js'
import { ProbeScheduler } from '../probes/scheduler.js'
import type { Series } from '../shared/types.js'
import { sleep } from './helpers/server.js'

const children: ChildProcess[] = []
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.pid) try { process.kill(-c.pid, 'SIGKILL') } catch {}
})

/** a node process that keeps 8 MB more every 300 ms for `seconds`, then holds; a marker in its argv */
const LEAK = 'const keep=[];const end=Date.now()+Number(process.argv[1])*1000;' +
  'setInterval(()=>{if(Date.now()<end)keep.push(Buffer.alloc(8e6,1))},300);setTimeout(()=>{},600000)'
/** a parent that starts the leaking child and spins a little itself */
const PARENT = `const {spawn}=require('child_process');spawn(process.execPath,['-e',${JSON.stringify(LEAK)},'6','loadlens-leak-child'],{stdio:'ignore'});` +
  'setInterval(()=>{const t=Date.now();while(Date.now()-t<150){}},200)'

function start (code: string, args: string[]): ChildProcess {
  const c = spawn(process.execPath, ['-e', code, ...args], { stdio: 'ignore', detached: true })
  children.push(c)
  return c
}

function vals (series: Series[], id: string): number[] {
  return (series.find(s => s.id === id)?.points ?? []).filter(p => p[1] !== null).map(p => p[1]!)
}

describe('host, target and generator probes', () => {
  it('host series are in range; a leaking target found by pattern grows, children included; the generator measures itself', async () => {
    const marker = `loadlens-target-${process.pid}-${Date.now()}`
    const parent = start(PARENT, [marker])
    await sleep(400)
    const host = new HostProbe()
    const target = new TargetProbe({ pattern: marker })
    const gen = new GeneratorProbe()
    const s = new ProbeScheduler([host, target, gen], { intervalMs: 1000 })
    const report = await s.start()
    expect(report.failed).toEqual([])
    await sleep(5300)
    await s.stop()
    const series = s.series()
    const cpu = vals(series, 'host.cpu')
    expect(cpu.length).toBeGreaterThanOrEqual(4)
    for (const v of cpu) { expect(v).toBeGreaterThanOrEqual(0); expect(v).toBeLessThanOrEqual(100) }
    expect(series.filter(x => x.metric === 'cpu_core').length).toBeGreaterThanOrEqual(1)
    expect(vals(series, 'host.mem_available')[0]).toBeGreaterThan(0)
    // used + available is the machine's memory
    expect((vals(series, 'host.mem_used')[0]! + vals(series, 'host.mem_available')[0]!) / totalmem()).toBeCloseTo(1, 2)
    // the parent spins ~75 % of one core: the host is at least about that busy, over its cores
    expect(Math.max(...cpu)).toBeGreaterThan((0.5 * 75) / cpus().length)
    expect(Math.max(...vals(series, 'host.net_rx_per_s{iface="lo"}'))).toBeGreaterThanOrEqual(0)
    expect(series.some(x => x.id === 'host.net_rx_per_s{iface="lo"}')).toBe(true)

    const rss = vals(series, 'target.rss')
    expect(rss.length).toBeGreaterThanOrEqual(4)
    // 8 MB every 300 ms in the child: tens of MB over the run
    expect(rss[rss.length - 1]! - rss[0]!).toBeGreaterThan(30e6)
    expect(Math.max(...vals(series, 'target.processes'))).toBe(2)
    // the parent spins ~75 % of a core
    expect(Math.max(...vals(series, 'target.cpu'))).toBeGreaterThan(30)
    expect(vals(series, 'generator.rss')[0]).toBeGreaterThan(10e6)
    expect(vals(series, 'generator.cpu').length).toBeGreaterThan(0)
    const st = s.status().find(x => x.probe === 'target')!
    expect((st.facts as any).pids).toEqual([parent.pid])
    expect((st.facts as any).commandLines[0]).toContain('spawn')
  })

  it('reads what systeminformation reads (memory, swap, per-core CPU) without its cost', async () => {
    const host = new HostProbe()
    await host.start()
    await sleep(500)
    const [readings, mem] = await Promise.all([host.sample(), si.mem()])
    const v = (metric: string): number => readings.find(r => r.metric === metric)!.value!
    expect(Math.abs(v('mem_available') - mem.available) / mem.total).toBeLessThan(0.05)
    expect(Math.abs(v('swap_used') - mem.swapused) / Math.max(mem.swaptotal, 1)).toBeLessThan(0.05)
    expect(readings.filter(r => r.metric === 'cpu_core').length).toBe(cpus().length)
    expect((host.facts() as { source: string }).source).toBe('/proc')
  })

  it('by PID: a target that exits is a gap with the reason', async () => {
    const c = start(LEAK, ['1'])
    await sleep(300)
    const target = new TargetProbe({ pid: c.pid! })
    const s = new ProbeScheduler([target], { intervalMs: 1000 })
    await s.start()
    await sleep(1600)
    process.kill(-c.pid!, 'SIGKILL')
    await sleep(2000)
    await s.stop()
    const st = s.status()[0]!
    expect(st.samples).toBeGreaterThanOrEqual(1)
    expect(st.gaps.length).toBeGreaterThanOrEqual(1)
    expect(st.gaps[0]!.reason).toBe(`process ${c.pid} is gone`)
  })

  it('cannot start on a PID that does not exist, or a pattern that matches only loadlens itself', async () => {
    await expect(new TargetProbe({ pid: 2 ** 22 + 12345 }).start()).rejects.toThrow(/no process with PID/)
    // this test's own command line (vitest) contains "vitest": never the target
    const self = new TargetProbe({ pattern: `probes-host-${process.pid}-never` })
    await expect(self.start()).rejects.toThrow(/no process matches/)
  })
})
