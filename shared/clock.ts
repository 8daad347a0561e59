/**
 * The run's clock: epoch milliseconds with sub-millisecond precision on a monotonic base. The
 * load generator's seconds and the probes' samples are on it, so a probe's point and the
 * timeline's second it falls in are the same second.
 */
export function epochNow (): number {
  return performance.timeOrigin + performance.now()
}
