/**
 * loadlens with worker threads, in its own process: the bench scenario (bench/scenario.ts,
 * think time and work from the environment) as a closed model of N users in W threads.
 * Prints one JSON line: requests, steady requests/s, CPU time, peak RSS, percentiles and
 * each thread's busiest second.
 */
import { fileURLToPath } from 'node:url'
import { startRun } from '../loadgen/runner.js'
import { loadScenario } from '../scenarios/load.js'
import { decodeHistogram, summarize } from '../shared/hist.js'

const url = process.argv[2]!
const users = Number(process.argv[3] ?? 50)
const seconds = Number(process.argv[4] ?? 10)
const workers = Number(process.argv[5] ?? 1)
const spawnRate = Number(process.argv[6] ?? users)

const plan = await loadScenario(fileURLToPath(new URL('./scenario.js', import.meta.url)))
let peakRss = 0
const rssTimer = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage.rss()) }, 250)
const cpu0 = process.cpuUsage()
const out = await startRun({
  plan,
  host: url,
  model: { kind: 'closed', stages: [{ durationS: seconds, users, spawnRate }] },
  durationS: seconds,
  stopTimeoutS: 5,
  workers
})
const cpu = process.cpuUsage(cpu0)
clearInterval(rssTimer)
const s = summarize(decodeHistogram(out.totals.overall.hist))
// the steady part: whole seconds after every user was started, before the end
const rampS = users / spawnRate
const steady = out.timeline.filter(t => t.t * 1000 >= out.startedAt + (rampS + 1) * 1000 && t.t * 1000 + 1000 <= out.startedAt + seconds * 1000)
const steadyRps = steady.length ? steady.reduce((a, t) => a + t.overall.requests, 0) / steady.length : 0
const steadyReq = steady.reduce((a, t) => a + t.overall.requests, 0)
const threadElu: number[] = []
for (const t of out.timeline) {
  const list = t.generator?.workers ?? (t.generator ? [{ elu: t.generator.elu, worker: 1 }] : [])
  for (const w of list) threadElu[(w.worker ?? 1) - 1] = Math.max(threadElu[(w.worker ?? 1) - 1] ?? 0, w.elu)
}
process.stdout.write(JSON.stringify({
  tool: 'loadlens',
  workers,
  users,
  requests: out.totals.overall.requests,
  failures: out.totals.overall.failures,
  steadyRps,
  steadyRequests: steadyReq,
  steadySeconds: steady.length,
  p50: s.p50,
  p99: s.p99,
  cpuUs: cpu.user + cpu.system,
  wallS: (out.endedAt - out.startedAt) / 1000,
  peakRssMB: Math.max(peakRss, process.memoryUsage.rss()) / 1e6,
  threadElu,
  saturated: out.saturation?.threads ?? []
}) + '\n')
process.exit(0)
