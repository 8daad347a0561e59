/**
 * loadlens as a generator, in its own process: a closed model of N users with a given think
 * time against the URL. Prints one JSON line with requests, CPU time, peak RSS and percentiles.
 */
import { measureClosedRun } from './gen-common.js'
import { validateScenario } from '../scenarios/validate.js'
import { defineScenario, constant } from '../scenarios/define.js'

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

const { out, cpuUs, peakRssMB, summary: s, steadyRps } = await measureClosedRun(plan, url, users, seconds, spawnRate, workers)
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
  cpuUs,
  peakRssMB,
  maxElu
}) + '\n')
process.exit(0)
