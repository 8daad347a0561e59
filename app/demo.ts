/**
 * `loadlens demo`: the main job on the bundled default. Starts a bundled target on a free
 * loopback port, runs the bundled scenario against it and stops everything it started.
 */
import { bundledScenario } from '../scenarios/load.js'
import { startShop } from '../demo/shop.js'
import { runTest } from './run.js'
import type { RunTestOptions, RunTestOutcome } from './run.js'

export type DemoOptions = Omit<RunTestOptions, 'scenario' | 'host'>

export async function runDemo (o: DemoOptions = {}): Promise<RunTestOutcome> {
  const shop = await startShop()
  const err = o.stderr ?? process.stderr
  if (!o.quiet) err.write(`demo target (example shop API) listening on ${shop.url}\n`)
  try {
    return await runTest({ ...o, scenario: bundledScenario('example'), host: shop.url, runTime: o.runTime ?? '20s' })
  } finally {
    await shop.close()
  }
}
