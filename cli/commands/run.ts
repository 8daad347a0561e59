/** `loadlens run <scenario>`: a scenario against a host. */
import type { Command } from 'commander'
import { runTest } from '../../app/run.js'
import { addLoadFlags, addOutputFlags, pickLoadFlags, startAtArg } from '../flags.js'
import type { Flags } from '../flags.js'

export function registerRun (program: Command): void {
  const run = program.command('run')
    .description('run a scenario file against a host')
    .argument('<scenario>', 'scenario file (.ts or .js) that default-exports defineScenario({...})')
    .option('-H, --host <url>', 'base URL of the system under test')
    .option('--headless', 'no web UI (the default until a UI is asked for)')
    .option('--segment <i/N>', 'run only the i-th of N equal segments of the load (distributed runs)')
    .option('--start-at <time>', 'start at this time (ISO or epoch seconds), so segments start together', startAtArg)
    .option('--allow-remote', 'allow a host that is not loopback or in the scenario\'s allowedHosts')
  addLoadFlags(run)
  addOutputFlags(run)
  run.action(async (scenario: string, flags: Flags) => {
    const outcome = await runTest({
      scenario,
      ...pickLoadFlags(flags),
      host: flags.host,
      segment: flags.segment,
      startAt: flags.startAt,
      allowRemote: flags.allowRemote,
      json: flags.json,
      outDir: flags.outDir,
      quiet: flags.quiet,
      recordOptions: { command: 'run', scenario, ...flags }
    })
    process.exitCode = outcome.exitCode
  })
}
