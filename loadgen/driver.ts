/** What the runner drives (loadgen/runner.ts): the engine in this thread, a pool of worker threads, or Locust. */
import type { EngineOutcome } from './engine.js'
import type { ExternalGenerator } from '../shared/types.js'

export interface LoadDriver {
  run (): Promise<EngineOutcome & { tool?: ExternalGenerator }>
  stop (hard?: boolean): void
  setUsers (users: number, spawnRate: number): boolean
  users (): number
}
