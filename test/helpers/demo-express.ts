/**
 * Runs of the express demo target with direct reads of the services around and during the
 * load, apart from loadlens's probes (pg_stat_activity of the API's own sessions, Redis INFO,
 * /proc, the API's log and /debug/stats): what a person would check by hand. Shared by the
 * diagnosis runs (test/correlate-demo.test.ts) and the fault-symptom runs
 * (test/demo-faults-express.test.ts).
 */
import pg from 'pg'
import { Redis } from 'ioredis'
import { runMode } from '../../bench/accuracy-harness.js'
import type { Mode, ModeOutcome } from '../../bench/accuracy-harness.js'
import type { DemoTarget } from '../../demo/mluvme/launch.js'
import { sleep } from './server.js'

/** load per mode: the development profile's 10 users at its 2 users/s (the ramp is the low-load reference) */
export const LOAD = { runTime: '20s', users: 10, spawnRate: 2 }
/** the runs that only check symptoms (no diagnosis) are shorter */
export const SYMPTOM_LOAD = { runTime: '14s' }

/** a client of the demo database for direct reads of pg_stat_activity (opened by the first run that needs it) */
let db: pg.Client | undefined
export async function demoDb (t: DemoTarget): Promise<pg.Client> {
  if (!db) {
    db = new pg.Client({ connectionString: t.pgUrl, application_name: 'loadlens-demo-test' })
    db.on('error', () => {})
    await db.connect()
  }
  return db
}
/** closes the client demoDb opened (call in afterAll) */
export async function closeDemoDb (): Promise<void> {
  await db?.end()
  db = undefined
}

/** What a test reads from the services around and during a run, apart from the probes. */
export interface Direct<S> {
  /** once the target is up, before the load */
  start?: (t: DemoTarget) => Promise<void> | void
  /** every intervalMs (default 200) while the load runs */
  sample?: (t: DemoTarget) => Promise<S> | S
  intervalMs?: number
  /** after the load, while the target still runs */
  end?: (t: DemoTarget) => Promise<void> | void
}

export interface Watched<S> {
  o: ModeOutcome
  samples: S[]
  /** the API's /debug/stats counters at the end of the load */
  debug: Record<string, any>
  target: DemoTarget
}

/** Runs a mode (or several faults at once: "leak=256,cache-off") with the direct reads of `direct` around and during its load. */
export async function run<S = never> (mode: Mode | string, faultValue?: string, direct: Direct<S> = {}, load: Partial<typeof LOAD> = {}): Promise<Watched<S>> {
  const samples: S[] = []
  let target: DemoTarget | undefined
  let debug: Record<string, any> = {}
  let stopping = false
  let failed: unknown = null
  let loop: Promise<void> = Promise.resolve()
  const o = await runMode(mode as Mode, {
    ...LOAD,
    ...load,
    faultValue,
    onTarget: async (t) => {
      target = t
      await direct.start?.(t)
      const sample = direct.sample
      if (sample) {
        loop = (async () => {
          while (!stopping) {
            samples.push(await sample(t))
            await sleep(direct.intervalMs ?? 200)
          }
        })().catch((err) => { failed = err })
      }
    },
    beforeStop: async (t) => {
      stopping = true
      await loop
      if (failed) throw failed
      debug = await (await fetch(`${t.url}/debug/stats`)).json() as Record<string, any>
      await direct.end?.(t)
    }
  })
  return { o, samples, debug, target: target! }
}

/** keyspace hits and misses of a Redis server */
export async function keyspace (url: string): Promise<[number, number]> {
  const r = new Redis(url, { maxRetriesPerRequest: 1 })
  try {
    const text = await r.info('stats')
    return [Number(/keyspace_hits:(\d+)/.exec(text)![1]), Number(/keyspace_misses:(\d+)/.exec(text)![1])]
  } finally {
    r.disconnect()
  }
}

/** the cache's hits and misses over the run, from Redis INFO before and after the load */
export function cacheLookups (): { direct: Direct<never>; result: () => { hits: number; misses: number; rate: number } } {
  let start: [number, number] = [0, 0]
  let end: [number, number] = [0, 0]
  return {
    direct: {
      start: async (t) => { start = await keyspace(t.redisUrl) },
      end: async (t) => { end = await keyspace(t.redisUrl) }
    },
    result: () => {
      const hits = end[0] - start[0]
      const misses = end[1] - start[1]
      return { hits, misses, rate: hits / Math.max(1, hits + misses) }
    }
  }
}
