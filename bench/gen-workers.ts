/**
 * loadlens with worker threads, in its own process: the bench scenario (bench/scenario.ts,
 * think time and work from the environment) as a closed model of N users in W threads.
 * Prints one JSON line: requests, steady requests/s, CPU time, peak RSS, percentiles and
 * each thread's busiest second.
 */
import { fileURLToPath } from 'node:url'
import { measureClosedRun } from './gen-common.js'
import { loadScenario } from '../scenarios/load.js'

const url = process.argv[2]!
const users = Number(process.argv[3] ?? 50)
const seconds = Number(process.argv[4] ?? 10)
const workers = Number(process.argv[5] ?? 1)
const spawnRate = Number(process.argv[6] ?? users)

const plan = await loadScenario(fileURLToPath(new URL('./scenario.js', import.meta.url)))
const { out, cpuUs, peakRssMB, summary: s, steady, steadyRps } = await measureClosedRun(plan, url, users, seconds, spawnRate, workers)
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
  cpuUs,
  wallS: (out.endedAt - out.startedAt) / 1000,
  peakRssMB,
  threadElu,
  saturated: out.saturation?.threads ?? [],
  // the seconds the generator marked as distorted (its own loop late), and how many in the spawn phase
  distortion: out.distortion ? { seconds: out.distortion.seconds, duringSpawn: out.distortion.duringSpawn, peakElu: out.distortion.peakElu, message: out.distortion.message } : null
}) + '\n')
process.exit(0)
