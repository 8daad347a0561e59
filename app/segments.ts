/**
 * Distributed runs: which segment of a `--segment i/N` run samples the probes. The target is
 * watched once, by one segment (`--probes-on i`, segment 1 by default); the other segments
 * only send load. `loadlens merge` then takes the probe series from the segment that has them.
 */
import { SettingError } from '../shared/errors.js'

/** Parses `--probes-on`: a segment number from 1 (as in --segment i/N), or "none". */
export function parseProbesOn (value: string): number {
  const v = value.trim()
  if (v === 'none') return 0
  if (/^\d+$/.test(v) && Number(v) >= 1) return Number(v)
  throw new SettingError(`--probes-on: expected the number of the segment that runs the probes (1 for --segment 1/N) or "none", got "${value}"`)
}

/**
 * Whether this process runs the probes. Without a segment it always does; with one, only the
 * chosen segment does (default 1). `probesOn` 0 means no segment runs them.
 */
export function segmentRunsProbes (segment: { label: string } | undefined, probesOn: number | undefined): boolean {
  if (probesOn !== undefined && (!Number.isInteger(probesOn) || probesOn < 0)) {
    throw new SettingError(`--probes-on: expected a segment number from 1 or "none", got ${probesOn}`)
  }
  if (!segment) return probesOn !== 0
  const [i, n] = segment.label.split('/').map(Number) as [number, number]
  const chosen = probesOn ?? 1
  if (chosen > n) throw new SettingError(`--probes-on: expected a segment number from 1 to ${n} (as in --segment i/${n}), got ${chosen}`)
  return chosen === i
}

/** A warning when --start-at has already passed: this segment starts now, out of step. */
export function lateStartWarning (startAt: number | undefined, now = Date.now()): string | undefined {
  if (startAt === undefined || startAt >= now - 1000) return undefined
  return `--start-at ${new Date(startAt).toISOString()} passed ${((now - startAt) / 1000).toFixed(1)} s ago: this segment starts now, out of step with the others (choose a time after every segment can be running)`
}
