/** `loadlens ui <scenario>`: the live web UI from which runs are started, steered and reviewed. */
import type { Command } from 'commander'
import { addLoadFlags, addOutputFlags, addWebFlags, pickLoadFlags, pickOutputFlags } from '../flags.js'
import type { Flags } from '../flags.js'

export function registerUi (program: Command): void {
  const ui = program.command('ui')
    .description('serve the live web UI (default http://127.0.0.1:8089): start runs, change users, stop, review results')
    .argument('<scenario>', 'scenario file (.ts or .js) that default-exports defineScenario({...})')
    .option('-H, --host <url>', 'base URL of the system under test (the page can change it)')
    .option('--allow-remote', 'allow a host that is not loopback or in the scenario\'s allowedHosts')
  addLoadFlags(ui)
  addOutputFlags(ui)
  addWebFlags(ui)
  ui.action(async (scenario: string, flags: Flags) => {
    const { startUi } = await import('../../web/entry.js')
    const { web, controller } = await startUi({
      scenario,
      ...pickLoadFlags(flags),
      ...pickOutputFlags(flags),
      host: flags.host,
      allowRemote: flags.allowRemote,
      quiet: flags.quiet,
      webPort: flags.webPort,
      webHost: flags.webHost,
      recordOptions: { command: 'ui', scenario, ...flags }
    })
    process.stdout.write(`loadlens web UI: ${web.url}\n${web.token ? 'It is bound to a non-loopback address: the token in this URL is required.\n' : ''}Ctrl-C stops it (and a run in progress).\n`)
    await new Promise<void>((resolve) => {
      let stopping = false
      const onSignal = (): void => {
        if (stopping) { controller.current?.handle?.stop('interrupted'); return }
        stopping = true
        if (controller.current?.running) {
          process.stdout.write('stopping the run in progress (Ctrl-C again to abort its requests)\n')
          try { controller.current.handle?.stop('interrupted', 'the web UI was stopped') } catch { /* not started */ }
        }
        controller.settled().then(() => web.close()).then(() => {
          process.off('SIGINT', onSignal)
          process.off('SIGTERM', onSignal)
          resolve()
        }, () => resolve())
      }
      process.on('SIGINT', onSignal)
      process.on('SIGTERM', onSignal)
    })
  })
}
