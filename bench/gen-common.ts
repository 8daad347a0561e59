/** What the loadlens generator benches share: a closed-model run measured from inside its process. */
import { startLoad } from '../loadgen/runner.js'
import type { LoadOutcome } from '../loadgen/runner.js'
import type { ScenarioPlan } from '../scenarios/validate.js'
import { decodeHistogram, summarize } from '../shared/hist.js'
import type { LatencySummary } from '../shared/hist.js'
import type { TimelineSlice } from '../shared/types.js'

export interface ClosedRunMeasure {
  out: LoadOutcome
  /** user + system CPU time of the process, us */
  cpuUs: number
  peakRssMB: number
  summary: LatencySummary
  /** whole seconds after every user was started, before the end */
  steady: TimelineSlice[]
  steadyRps: number
}

export async function measureClosedRun (plan: ScenarioPlan, url: string, users: number, seconds: number, spawnRate: number, workers: number): Promise<ClosedRunMeasure> {
  let peakRss = 0
  const rssTimer = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage.rss()) }, 250)
  const cpu0 = process.cpuUsage()
  const out = await startLoad({
    plan,
    host: url,
    model: { kind: 'closed', stages: [{ durationS: seconds, users, spawnRate }] },
    durationS: seconds,
    stopTimeoutS: 5,
    settings: { workers }
  })
  const cpu = process.cpuUsage(cpu0)
  clearInterval(rssTimer)
  const rampS = users / spawnRate
  const steady = out.timeline.filter(t => t.t * 1000 >= out.startedAt + (rampS + 1) * 1000 && t.t * 1000 + 1000 <= out.startedAt + seconds * 1000)
  return {
    out,
    cpuUs: cpu.user + cpu.system,
    peakRssMB: Math.max(peakRss, process.memoryUsage.rss()) / 1e6,
    summary: summarize(decodeHistogram(out.totals.overall.hist)),
    steady,
    steadyRps: steady.length ? steady.reduce((a, t) => a + t.overall.requests, 0) / steady.length : 0
  }
}
