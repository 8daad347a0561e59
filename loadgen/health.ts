/**
 * The generator's check on itself. A load thread whose event loop is saturated starts its
 * requests late and reads its responses late, so the latencies it measures include its own
 * queueing. A second is saturated when a load thread's event-loop utilisation is >= 0.95 or
 * its event-loop delay p99 is >= 100 ms (the Clinic.js Doctor thresholds); the run is
 * flagged when that held in at least 3 seconds and at least a tenth of the timeline.
 * The correlator marks such a run unreliable.
 */
import type { GeneratorDistortion, GeneratorHealth, GeneratorSaturation, ThreadHealth, TimelineSlice, Window } from '../shared/types.js'

export const SATURATION = {
  /** event-loop utilisation 0..1 from which a second counts as saturated */
  elu: 0.95,
  /** event-loop delay p99 (ms) from which a second counts as saturated */
  loopDelayMs: 100,
  /** saturated seconds needed to flag the run */
  minSeconds: 3,
  /** and the share of the timeline they must make */
  minShare: 0.1
} as const

export function isSaturated (h: { elu: number; loopDelayP99Ms: number }): boolean {
  return h.elu >= SATURATION.elu || h.loopDelayP99Ms >= SATURATION.loopDelayMs
}

/** "worker 2", "segment 2/3 worker 1", "segment 2/3", or "load thread". */
export function threadLabel (t: ThreadHealth): string {
  const parts: string[] = []
  if (t.segment) parts.push(`segment ${t.segment}`)
  if (t.worker !== undefined) parts.push(`worker ${t.worker}`)
  return parts.length ? parts.join(' ') : 'load thread'
}

/** The threads of a second: the per-worker list, or the one load thread. */
function threadsOf (g: GeneratorHealth): ThreadHealth[] {
  return g.workers?.length ? g.workers : [{ elu: g.elu, loopDelayP99Ms: g.loopDelayP99Ms }]
}

/**
 * The generator's verdict over a timeline; undefined when it was never saturated long enough.
 * `external`: the load came from Locust, whose health is its process's CPU (one core), and
 * whose remedy is not loadlens's --workers
 */
export function findSaturation (timeline: TimelineSlice[], external?: 'locust'): GeneratorSaturation | undefined {
  const bad: number[] = []
  const threads = new Map<string, number>()
  let peakElu = 0
  let peakDelay = 0
  for (const s of timeline) {
    const g = s.generator
    if (!g) continue
    let any = false
    for (const t of threadsOf(g)) {
      if (!isSaturated(t)) continue
      any = true
      const label = threadLabel(t)
      threads.set(label, (threads.get(label) ?? 0) + 1)
      peakElu = Math.max(peakElu, t.elu)
      peakDelay = Math.max(peakDelay, t.loopDelayP99Ms)
    }
    if (any) bad.push(s.t)
  }
  const n = timeline.length
  if (bad.length < SATURATION.minSeconds || bad.length < SATURATION.minShare * n) return undefined
  const names = [...threads.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k]) => k)
  const what = names.length === 1 && names[0] === 'load thread' ? 'the load thread' : names.slice(0, 4).join(', ') + (names.length > 4 ? ` and ${names.length - 4} more` : '')
  const message = external === 'locust'
    ? `Locust was saturated in ${bad.length} of ${n} seconds (its process used up to ${Math.round(peakElu * 100)}% of a core; Python runs it on one): ` +
      'its latencies include its own queueing: run fewer users, FastHttpUser instead of HttpUser, or a distributed Locust outside loadlens'
    : `the load generator was saturated in ${bad.length} of ${n} seconds (${what}: event-loop utilisation up to ${Math.round(peakElu * 100)}%, ` +
      `event-loop delay p99 up to ${Math.round(peakDelay)} ms); its latencies include its own queueing: use --workers, or more machines with --segment`
  return { threads: names, seconds: bad.length, ofSeconds: n, window: { from: bad[0]!, to: bad[bad.length - 1]! }, peakElu, peakLoopDelayP99Ms: peakDelay, message }
}

/**
 * A second is distorted when a load thread's event loop was saturated (utilisation >= 0.95),
 * or its event-loop delay p99 was at least DISTORTION.loopDelayMs and at least
 * DISTORTION.shareOfP99 of the second's p99 latency: a response that waits for a busy loop is
 * timed late by about that delay, so the second's latencies include up to that much of the
 * generator's own. The floor keeps scheduling noise and a short GC pause out; the share keeps
 * a few ms out where requests take seconds.
 */
export const DISTORTION = {
  loopDelayMs: 10,
  shareOfP99: 0.1
} as const

function ranges (ts: number[]): Window[] {
  const out: Window[] = []
  for (const t of ts) {
    const last = out[out.length - 1]
    if (last && t === last.to + 1) last.to = t
    else out.push({ from: t, to: t })
  }
  return out
}

/** The seconds in which the generator delayed its own timings, if any (see DISTORTION). */
export function findDistortion (timeline: TimelineSlice[]): GeneratorDistortion | undefined {
  const bad: number[] = []
  let spawn = 0
  let worst = 0
  let peakElu = 0
  let peakUsers = 0
  for (const s of timeline) peakUsers = Math.max(peakUsers, s.users)
  let risen = false
  for (const s of timeline) {
    if (s.users >= peakUsers) risen = true
    const g = s.generator
    if (!g || s.overall.requests === 0) continue
    const p99 = s.overall.p99 ?? 0
    const threads = threadsOf(g).filter(t => t.elu >= SATURATION.elu || (t.loopDelayP99Ms >= DISTORTION.loopDelayMs && t.loopDelayP99Ms >= DISTORTION.shareOfP99 * p99))
    if (!threads.length) continue
    bad.push(s.t)
    if (!risen) spawn++
    for (const t of threads) { worst = Math.max(worst, t.loopDelayP99Ms); peakElu = Math.max(peakElu, t.elu) }
  }
  if (!bad.length) return undefined
  const r = ranges(bad)
  const t0 = timeline[0]!.t
  const at = (w: Window): string => (w.from === w.to ? clock(w.from - t0) : `${clock(w.from - t0)}-${clock(w.to - t0)}`)
  const message = `the generator's own event loop delayed the timing of requests in ${bad.length} of ${timeline.length} seconds (${r.slice(0, 4).map(at).join(', ')}${r.length > 4 ? ', ...' : ''}` +
    `${spawn ? `; ${spawn === bad.length ? 'all' : spawn} while users were being started` : ''}): event-loop delay p99 up to ${Math.round(worst)} ms, utilisation up to ${Math.round(peakElu * 100)}%, so latencies there include up to that much of its own delay` +
    `${spawn ? '; start users more slowly (--spawn-rate) or' : ';'} use --workers or more machines`
  return { seconds: bad.length, ofSeconds: timeline.length, ranges: r, duringSpawn: spawn, worstLoopDelayP99Ms: worst, peakElu, message }
}

function clock (s: number): string {
  const m = Math.floor(s / 60)
  return `${String(m).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`
}

/** Orders a second's thread list by segment, then worker number. */
export function sortThreads (list: ThreadHealth[]): ThreadHealth[] {
  return list.sort((a, b) => (a.segment ?? '').localeCompare(b.segment ?? '', undefined, { numeric: true }) || (a.worker ?? 0) - (b.worker ?? 0))
}
