/** What the engine needs from a load model's executor. */
export interface Executor {
  /** starts the load; `t0` is the run's start on the performance clock (ms) */
  start (t0: number): void
  /** running users (closed) or busy virtual users (open) */
  active (): number
  peakUsers (): number
  /** per-second counters, reset when read */
  counters (): { dropped?: number; iterations?: number; vus?: number }
  /** closed model only: move to `users` at `spawnRate` */
  setUsers? (users: number, spawnRate: number): void
  /** no more users or iterations; users finish their current request */
  beginStop (): void
  /** resolves when every user has finished (including onStop) */
  done (): Promise<void>
  /** aborts what is still in flight; returns how many requests were aborted */
  hardStop (): number
}
