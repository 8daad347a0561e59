/** `loadlens run <scenario>`: a scenario against a host. */
import type { Command } from 'commander'
import { parseProbesOn } from '../../app/segments.js'
import { addGateFlags, addLoadFlags, addOutputFlags, addProbeFlags, addWebFlags, pickLoadFlags, pickOutputFlags, pickProbeOptions, pickReadiness, startAtArg, portArg } from '../flags.js'
import type { Flags } from '../flags.js'

export function registerRun (program: Command): void {
  const run = program.command('run')
    .description('run a scenario file against a host')
    .argument('<scenario>', 'scenario file (.ts or .js) that default-exports defineScenario({...})')
    .option('-H, --host <url>', 'base URL of the system under test')
    .option('--headless', 'no web UI (without it the live UI is served on 127.0.0.1:8089 during the run)')
    .option('--metrics-port <n>', 'serve Prometheus /metrics on this port during the run (headless too)', portArg)
    .option('--segment <i/N>', 'run only the i-th of N equal segments of the load (distributed runs)')
    .option('--start-at <time>', 'start at this time (ISO or epoch seconds), so segments start together', startAtArg)
    .option('--probes-on <i>', 'with --segment: the segment that runs the probes (default 1; "none" for none)', parseProbesOn)
    .option('--allow-remote', 'allow a host that is not loopback or in the scenario\'s allowedHosts')
  addLoadFlags(run)
  addOutputFlags(run)
  addWebFlags(run)
  addGateFlags(run)
  addProbeFlags(run)
  run.action(async (scenario: string, flags: Flags) => {
    const { runTestServed } = await import('../../web/entry.js')
    const outcome = await runTestServed({
      scenario,
      ...pickLoadFlags(flags),
      host: flags.host,
      segment: flags.segment,
      startAt: flags.startAt,
      probesOn: flags.probesOn,
      probes: pickProbeOptions(flags),
      allowRemote: flags.allowRemote,
      readiness: pickReadiness(flags),
      strictChecklist: flags.strictChecklist,
      ...pickOutputFlags(flags),
      quiet: flags.quiet,
      recordOptions: { command: 'run', scenario, ...flags }
    }, { ui: !flags.headless, webPort: flags.webPort, webHost: flags.webHost, metricsPort: flags.metricsPort })
    process.exitCode = outcome.exitCode
  })
}
