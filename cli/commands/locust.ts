/** `loadlens locust <locustfile.py>`: an existing locustfile, run by Locust, with every probe, the diagnosis, the reports and the gate. */
import type { Command } from 'commander'
import { addGateFlags, addOutputFlags, addProbeFlags, addWebFlags, durationArg, intArg, numArg, pickOutputFlags, pickProbeOptions, pickReadiness, portArg } from '../flags.js'
import type { Flags } from '../flags.js'

export function registerLocust (program: Command): void {
  const cmd = program.command('locust')
    .description('run an existing locustfile with Locust (headless), recording every request with its own timing, and probe, diagnose, report and gate it like a loadlens run')
    .argument('<locustfile>', 'the locustfile (.py), unmodified')
    .argument('[classes...]', 'user classes to run (default: all), as Locust takes them')
    .option('-H, --host <url>', "base URL of the system under test (default: loadlens.json's host, then the user classes' own)")
    .option('-u, --users <n>', 'peak number of concurrent users (default 1)', intArg('a number of users'))
    .option('-r, --spawn-rate <n>', 'users started per second (default 1)', numArg('users per second'))
    .option('-t, --run-time <duration>', 'stop after this long, e.g. 30s, 2m (default 1m)', durationArg)
    .option('--expect <limits>', 'pass criteria, k6-threshold style: "p95=500,p99=1000,failures=1%" (also db-connections-max, cache-hit-rate-min, no-memory-leak, NAME:p95=...); merged over loadlens.json\'s "expect"')
    .option('--tags <tag...>', "run only the tasks with these tags (Locust's --tags)")
    .option('--exclude-tags <tag...>', "leave out the tasks with these tags (Locust's --exclude-tags)")
    .option('--stop-timeout <duration>', "let running tasks finish for up to this long at the end (Locust's --stop-timeout; default: stop at once)", durationArg)
    .option('--max-requests <n>', 'stop cleanly after this many requests', intArg('a number of requests'))
    .option('--max-names <n>', 'distinct request names kept as rows of their own (default 1000)', intArg('a number of request names'))
    .option('--allow-remote', 'allow a host that is not loopback or in loadlens.json\'s allowedHosts')
    .option('--headless', 'no web UI (without it the live UI is served on 127.0.0.1:8089 during the run)')
    .option('--metrics-port <n>', 'serve Prometheus /metrics on this port during the run (headless too)', portArg)
    .addHelpText('after', `
Locust is found as LOADLENS_LOCUST_PYTHON, the locust command on PATH, python3, or /usr/bin/python3 (Debian's python3-locust).
More of Locust's own flags go after --, e.g.  loadlens locust locustfile.py -u 20 -t 1m -- --loglevel WARNING
Pass criteria and defaults can also sit in loadlens.json beside the locustfile:
  {"expect": "p95=500,p99=1000,failures=1%", "users": 10, "spawnRate": 2, "runTime": "1m", "host": "http://127.0.0.1:8000"}
Locust's own log and CSV files (<name>-<time>.locust.log, .locust_stats.csv, ...) go to the output folder.`)
  addOutputFlags(cmd)
  addWebFlags(cmd)
  addGateFlags(cmd)
  addProbeFlags(cmd)
  cmd.action(async (locustfile: string, classes: string[], flags: Flags, self: Command) => {
    // what follows `--` is Locust's; commander hands it over with the class names
    const raw: string[] = (self.parent as unknown as { rawArgs?: string[] } | null)?.rawArgs ?? process.argv
    const dd = raw.indexOf('--')
    const locustArgs = dd >= 0 ? raw.slice(dd + 1) : []
    const userClasses = classes.slice(0, classes.length - locustArgs.length)
    const [{ runLocust }, { runTestServed }] = await Promise.all([import('../../app/locust.js'), import('../../web/entry.js')])
    const web = { ui: !flags.headless, webPort: flags.webPort, webHost: flags.webHost, metricsPort: flags.metricsPort }
    const outcome = await runLocust({
      locustfile,
      userClasses,
      locustArgs,
      tags: flags.tags,
      excludeTags: flags.excludeTags,
      host: flags.host,
      users: flags.users,
      spawnRate: flags.spawnRate,
      runTime: flags.runTime,
      expect: flags.expect,
      stopTimeout: flags.stopTimeout,
      maxRequests: flags.maxRequests,
      maxNames: flags.maxNames,
      allowRemote: flags.allowRemote,
      probes: pickProbeOptions(flags),
      readiness: pickReadiness(flags),
      strictChecklist: flags.strictChecklist,
      ...pickOutputFlags(flags),
      quiet: flags.quiet,
      recordOptions: { command: 'locust', locustfile, ...(userClasses.length ? { classes: userClasses } : {}), ...(locustArgs.length ? { locustArgs } : {}), ...flags }
    }, (opts) => runTestServed(opts, web))
    process.exitCode = outcome.exitCode
  })
}
