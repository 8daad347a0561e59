/**
 * The soak of the `soak` bench, in its own process: the Mluv.Me scenario's development
 * profile for the given time against a URL, sampling this process's RSS and V8 heap once a
 * second. Prints one JSON line with the samples.
 */
import { getHeapSpaceStatistics } from 'node:v8'
import { startLoad } from '../loadgen/runner.js'
import { bundledScenario, loadScenario } from '../scenarios/load.js'
import { resolveLoadPlan } from '../scenarios/profile.js'

const url = process.argv[2]!
const seconds = Number(process.argv[3] ?? 600)

const plan = await loadScenario(bundledScenario('mluvme'))
const load = resolveLoadPlan(plan, { profile: 'development', runTime: `${seconds}s` })
/** [seconds, rss MB, heap used MB, requests so far, young generation MB] */
const samples: Array<[number, number, number, number, number]> = []
const young = (): number => getHeapSpaceStatistics().filter(x => x.space_name.startsWith('new_')).reduce((a, x) => a + x.space_size, 0) / 1e6
const run = startLoad({ plan, host: url, model: load.model, durationS: load.durationS, stopTimeoutS: load.stopTimeoutS })
const t0 = Date.now()
const timer = setInterval(() => {
  const m = process.memoryUsage()
  samples.push([(Date.now() - t0) / 1000, m.rss / 1e6, m.heapUsed / 1e6, run.live().requests, young()])
}, 1000)
const out = await run
clearInterval(timer)
process.stdout.write(JSON.stringify({
  users: Math.max(0, ...out.timeline.map(t => t.users)),
  requests: out.totals.overall.requests,
  failures: out.totals.overall.failures,
  exceptions: out.exceptions.reduce((a, e) => a + e.count, 0),
  // the run keeps its per-second timeline in memory by design: its size per second of run
  timelineBytesPerS: JSON.stringify(out.timeline).length / Math.max(1, out.timeline.length),
  samples
}) + '\n')
process.exit(0)
