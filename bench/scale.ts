/**
 * `npm run bench -- workers` and `npm run bench -- soak [--soak=10m]`: loadlens on every core
 * of one machine, and over time.
 *
 * workers  1. Requests/s with 2 worker threads against 1, where the server is not the
 *             bottleneck. Server and generator share this machine's cores, so the generator's
 *             CPU per request must be well above the server's for two generator threads to
 *             have room: the scenario does JSON work per task (bench/scenario.ts), the server
 *             answers after a fixed 2 ms with keep-alive, 200 users keep it busy. The server's
 *             and the generator's CPU per request are measured and printed. Target >= 1.6x.
 *             The plain scenario (no work), where the server takes half the machine, is shown
 *             for comparison.
 *          2. 10,000 users with 1 s think time on every core (--workers auto): the share of
 *             the intended rate held, the peak RSS, and whether the spawn phase was flagged
 *             as distorted when the generator saturated. Targets >= 97 %, < 400 MB.
 * soak     The Mluv.Me scenario's development profile against the demo target for 10 minutes
 *          (or --soak=DURATION): the generator's own RSS, sampled every second, should be flat:
 *          the Theil-Sen slope over the steady part (after the first fifth, at least 30 s)
 *          and the growth it implies over that part, against the median RSS. Target: the
 *          growth is under 5 % of the median. The growth is then split into what V8's young
 *          generation added (it doubles in steps up to a fixed cap when the allocation rate
 *          asks for it), the run's own timeline (kept in memory for the result), and the
 *          rest, where a leak would show.
 */
import { availableParallelism, tmpdir } from 'node:os'
import { mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { median, processCpuUs, runJson, startBenchServer, verdict } from './helpers.js'
import { startDemoTarget } from '../demo/mluvme/launch.js'
import { parseDuration } from '../shared/duration.js'

const WORK = '120'

interface Row { workers: number; rps: number; genUsPerReq: number; serverUsPerReq: number; genCores: number; serverCores: number; elu: number[]; saturated: string[] }

/** One run of gen-workers with the server's CPU measured around it. */
async function measure (server: { url: string; pid: number }, workers: number, env: Record<string, string>, users: number, seconds: number): Promise<Row> {
  const s0 = processCpuUs(server.pid)
  const r = await runJson('./gen-workers.js', [server.url, String(users), String(seconds), String(workers), String(users)], undefined, env)
  const serverUs = processCpuUs(server.pid) - s0
  return {
    workers,
    rps: r.steadyRps,
    genUsPerReq: r.cpuUs / r.requests,
    serverUsPerReq: serverUs / r.requests,
    genCores: r.cpuUs / 1e6 / r.wallS,
    serverCores: serverUs / 1e6 / r.wallS,
    elu: r.threadElu,
    saturated: r.saturated
  }
}

function show (r: Row): string {
  return `${r.workers} thread${r.workers === 1 ? ' ' : 's'}: ${r.rps.toFixed(0).padStart(6)} req/s; generator ${r.genUsPerReq.toFixed(1)} us CPU/request (${r.genCores.toFixed(2)} cores), ` +
    `server ${r.serverUsPerReq.toFixed(1)} us CPU/request (${r.serverCores.toFixed(2)} cores); busiest second per thread ELU ${r.elu.map(e => e.toFixed(2)).join('/')}`
}

async function compare (label: string, env: Record<string, string>, users: number, seconds: number, rounds: number): Promise<{ ratio: number; one: Row[]; two: Row[] }> {
  const server = await startBenchServer({ BENCH_DELAY_MS: '2' }, false)
  const one: Row[] = []
  const two: Row[] = []
  try {
    for (let i = 0; i < rounds; i++) {
      one.push(await measure(server, 1, env, users, seconds))
      two.push(await measure(server, 2, env, users, seconds))
    }
  } finally {
    server.stop()
  }
  console.log(`${label}:`)
  for (let i = 0; i < rounds; i++) console.log(`  round ${i + 1}  ${show(one[i]!)}\n            ${show(two[i]!)}`)
  const ratio = median(two.map(r => r.rps)) / median(one.map(r => r.rps))
  return { ratio, one, two }
}

async function workers (): Promise<void> {
  console.log(`\n## workers: requests/s with 2 worker threads vs 1 (${availableParallelism()} CPUs; server unpinned, fixed 2 ms answers; 200 users, no think time; 10 s per run, 3 rounds back to back)`)
  const work = await compare(`scenario with ${WORK} items of JSON work per task (generator CPU per request >> server's)`, { LOADLENS_BENCH_WORK: WORK }, 200, 10, 3)
  const genUs = median(work.one.map(r => r.genUsPerReq))
  const srvUs = median(work.one.map(r => r.serverUsPerReq))
  console.log(`  ratio ${work.ratio.toFixed(2)}x (target >= 1.6x: ${verdict(work.ratio >= 1.6)}); the server needs ${srvUs.toFixed(1)} us of CPU per request against the generator's ${genUs.toFixed(1)} us,` +
    ` so it is not the bottleneck: it used ${median(work.two.map(r => r.serverCores)).toFixed(2)} cores at the 2-thread rate`)
  console.log(`  generator CPU per request, 2 threads against 1: ${(median(work.two.map(r => r.genUsPerReq)) / genUs).toFixed(2)}x (above 1 would be the threads' own cost: a second event loop, merging the seconds)`)
  const plain = await compare('plain scenario (GET /, no work), for comparison', {}, 200, 10, 1)
  console.log(`  ratio ${plain.ratio.toFixed(2)}x: here the server needs about as much CPU per request as the generator, so on ${availableParallelism()} cores a second generator thread mostly takes CPU from the server`)

  console.log('\n## workers: 10,000 users, 1 s think time, spawn 2000/s, 40 s, --workers auto')
  const server = await startBenchServer({}, false)
  try {
    const w = Math.max(1, availableParallelism())
    const s0 = processCpuUs(server.pid)
    const r = await runJson('./gen-workers.js', [server.url, '10000', '40', String(w), '2000'], undefined, { LOADLENS_BENCH_THINK_S: '1' })
    const serverCores = (processCpuUs(server.pid) - s0) / 1e6 / r.wallS
    const intended = 10000 / (1 + r.p50 / 1000)
    const held = r.steadyRps / intended
    console.log(`${w} threads: steady ${r.steadyRps.toFixed(0)} req/s of ${intended.toFixed(0)} intended = ${(held * 100).toFixed(1)}% (target >= 97%: ${verdict(held >= 0.97)})`)
    console.log(`p50 ${r.p50} ms, p99 ${r.p99} ms; busiest second per thread ELU ${r.threadElu.map((e: number) => e.toFixed(2)).join('/')}; generator ${(r.cpuUs / 1e6 / r.wallS).toFixed(2)} cores, server ${serverCores.toFixed(2)} cores${r.saturated.length ? `; saturated: ${r.saturated.join(', ')}` : ''}`)
    // where the generator's own loop ran late it must say so: in the spawn phase, where 2,000 users a second start
    const d = r.distortion as { seconds: number; duringSpawn: number; peakElu: number; message: string } | null
    const saturatedAtSpawn = r.threadElu.some((e: number) => e >= 0.95)
    console.log(d ? `distortion flagged: ${d.seconds} s, ${d.duringSpawn} of them in the spawn phase (${d.message})` : 'no second flagged as distorted')
    console.log(`spawn phase flagged when the generator saturated: ${verdict(!saturatedAtSpawn || (d !== null && d.duringSpawn > 0))}${saturatedAtSpawn ? '' : ' (it did not saturate)'}`)
    console.log(`peak RSS ${r.peakRssMB.toFixed(0)} MB (target < 400 MB: ${verdict(r.peakRssMB < 400)})`)
  } finally {
    server.stop()
  }
}

/** Theil-Sen: the median of the slopes between all pairs of points (a subsample for long series). */
export function theilSen (points: Array<[number, number]>): number {
  const step = Math.max(1, Math.floor(points.length / 300))
  const p = points.filter((_, i) => i % step === 0)
  const slopes: number[] = []
  for (let i = 0; i < p.length; i++) {
    for (let j = i + 1; j < p.length; j++) {
      const dx = p[j]![0] - p[i]![0]
      if (dx > 0) slopes.push((p[j]![1] - p[i]![1]) / dx)
    }
  }
  return median(slopes)
}

async function soak (): Promise<void> {
  const arg = process.argv.find(a => a.startsWith('--soak='))
  const seconds = arg ? parseDuration(arg.slice('--soak='.length), '--soak') : 600
  console.log(`\n## soak: the Mluv.Me development profile against the demo target for ${seconds} s; the generator's own RSS every second`)
  const dir = mkdtempSync(join(tmpdir(), 'loadlens-soak-'))
  let target: Awaited<ReturnType<typeof startDemoTarget>>
  try {
    target = await startDemoTarget({ quiet: true, logDir: dir })
  } catch (err) {
    console.log(`NOT MEASURED: the demo target did not start (${err instanceof Error ? err.message : String(err)})`)
    rmSync(dir, { recursive: true, force: true })
    return
  }
  try {
    const r = await runJson('./gen-soak.js', [target.url, String(seconds)])
    const samples = r.samples as number[][]
    const skip = Math.max(30, seconds / 5)
    const steady = samples.filter(s => s[0]! >= skip)
    const series = (k: number): Array<[number, number]> => steady.map(s => [s[0]!, s[k]!])
    const rss = series(1)
    const slope = theilSen(rss)
    const heapSlope = theilSen(series(2))
    const span = steady.length ? steady[steady.length - 1]![0]! - steady[0]![0]! : 0
    const mid = median(rss.map(x => x[1]))
    const growth = slope * span
    // what the growth is made of: V8's young generation doubling towards its fixed cap, and
    // the run's own timeline (kept for the result); the rest would be a leak
    const ends = (k: number): number => median(steady.slice(-30).map(s => s[k]!)) - median(steady.slice(0, 30).map(s => s[k]!))
    const young = ends(4)
    const timeline = (r.timelineBytesPerS as number) * span / 1e6
    const rest = growth - young - timeline
    console.log(`${r.users} users, ${r.requests} requests, ${r.failures} failures, ${r.exceptions} task exceptions`)
    console.log(`RSS: median ${mid.toFixed(1)} MB, min ${Math.min(...rss.map(x => x[1])).toFixed(1)}, max ${Math.max(...rss.map(x => x[1])).toFixed(1)} over the steady ${span.toFixed(0)} s (after the first ${skip.toFixed(0)} s)`)
    console.log(`Theil-Sen slope of RSS ${(slope * 3600).toFixed(1)} MB/h; of the V8 heap in use ${(heapSlope * 3600).toFixed(1)} MB/h`)
    console.log(`RSS growth over the steady part ${growth.toFixed(1)} MB = ${((growth / mid) * 100).toFixed(1)} % of the median (target: flat, < 5 %: ${verdict(Math.abs(growth) < 0.05 * mid)})`)
    console.log(`  of which V8's young generation growing towards its cap ${young.toFixed(1)} MB, the run's timeline kept for the result ~${timeline.toFixed(1)} MB (${((r.timelineBytesPerS as number) / 1000).toFixed(1)} kB per second of run as JSON)`)
    console.log(`  unexplained ${rest.toFixed(1)} MB = ${((rest / mid) * 100).toFixed(1)} % of the median (a leak would show here; target < 5 %: ${verdict(Math.abs(rest) < 0.05 * mid)})`)
  } finally {
    await target.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

export const scaleSections: Record<string, () => Promise<void>> = { workers, soak }
