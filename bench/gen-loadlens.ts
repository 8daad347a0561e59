/**
 * loadlens as a generator, in its own process: a closed model of N users with a given think
 * time against the URL. Prints one JSON line with requests, CPU time, peak RSS and percentiles.
 */
import { startRun } from '../loadgen/runner.js'
import { validateScenario } from '../scenarios/validate.js'
import { defineScenario, constant } from '../scenarios/define.js'
import { decodeHistogram, summarize } from '../shared/hist.js'

const url = process.argv[2]!
const users = Number(process.argv[3] ?? 50)
const seconds = Number(process.argv[4] ?? 10)
const thinkS = Number(process.argv[5] ?? 0)
const spawnRate = Number(process.argv[6] ?? users)
const workers = Number(process.argv[7] ?? 1)
const file = process.argv[8]

const plan = validateScenario(defineScenario({
  name: 'bench',
  users: { U: { wait: constant(thinkS), tasks: { get: async (u) => { await u.http.get('/') } } } }
}), 'bench')
if (file) plan.file = file

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
// the steady part: seconds after every user was started, except the last partial second
const rampS = users / spawnRate
const steady = out.timeline.filter(t => t.t * 1000 >= out.startedAt + (rampS + 1) * 1000 && t.t * 1000 + 1000 <= out.startedAt + seconds * 1000)
const steadyRps = steady.length ? steady.reduce((a, t) => a + t.overall.requests, 0) / steady.length : 0
const maxElu = Math.max(0, ...out.timeline.map(t => t.generator?.elu ?? 0))
process.stdout.write(JSON.stringify({
  tool: 'loadlens',
  users,
  requests: out.totals.overall.requests,
  failures: out.totals.overall.failures,
  seconds: (out.endedAt - out.startedAt) / 1000,
  rps: out.totals.overall.requests / seconds,
  steadyRps,
  p50: s.p50,
  p99: s.p99,
  cpuUs: cpu.user + cpu.system,
  peakRssMB: Math.max(peakRss, process.memoryUsage.rss()) / 1e6,
  maxElu
}) + '\n')
process.exit(0)
