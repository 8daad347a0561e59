/**
 * Runs of the FastAPI demo target with direct reads of the services while the load runs
 * (pg_stat_activity through a client of the target's database, every 250 ms) and at its end
 * (the API's /debug/stats): shared by test/demo-fastapi.test.ts (diagnosis) and
 * test/demo-faults-fastapi.test.ts (fault symptoms).
 */
import pg from 'pg'
import { runDemo } from '../../app/demo.js'
import type { DemoOptions } from '../../app/demo.js'
import type { DemoTarget } from '../../demo/mluvme/launch.js'
import type { RunResult } from '../../shared/types.js'
import { sleep } from './server.js'

export const LOAD = { profile: 'development', users: 30, spawnRate: 3, runTime: '25s' }

export interface Watched<S> { result: RunResult; exitCode: number; samples: S[]; target: DemoTarget; debug: Record<string, any> }

/** Runs the FastAPI demo, sampling `sample(target)` every 250 ms while the load runs. */
export async function run<S> (o: Partial<DemoOptions>, sample?: (t: DemoTarget, db: pg.Client) => Promise<S>, end?: (t: DemoTarget, db: pg.Client) => Promise<void>): Promise<Watched<S>> {
  const samples: S[] = []
  let target: DemoTarget | undefined
  let db: pg.Client | undefined
  let stopping = false
  let loop: Promise<void> = Promise.resolve()
  let debug: Record<string, any> = {}
  const out = await runDemo({
    ...LOAD, ...o, targetKind: 'fastapi', quiet: true, handleSignals: false, noHtml: true, outDir: `/tmp/loadlens-demo-fastapi-${process.pid}`,
    onTarget: async (t) => {
      target = t
      db = new pg.Client({ connectionString: t.pgUrl, application_name: 'loadlens-test-reader' })
      db.on('error', () => {})
      await db.connect()
      if (sample) loop = (async () => { while (!stopping) { samples.push(await sample(t, db!)); await sleep(250) } })()
    },
    beforeStop: async (t) => {
      stopping = true
      await loop
      debug = await (await fetch(`${t.url}/debug/stats`)).json() as Record<string, any>
      await end?.(t, db!)
      await db!.end()
    }
  })
  return { result: out.result, exitCode: out.exitCode, samples, target: target!, debug }
}
