/** `loadlens serve [dir]`: the stored results of a folder in the browser. */
import type { Command } from 'commander'
import { existsSync, statSync } from 'node:fs'
import { DEFAULT_OUT_DIR } from '../../shared/files.js'
import { InputFileError } from '../../shared/errors.js'
import { addWebFlags } from '../flags.js'
import type { Flags } from '../flags.js'

export function registerServe (program: Command): void {
  const serve = program.command('serve')
    .description('serve the results of a folder: list with verdicts, reports, re-diagnosis, side-by-side compare')
    .argument('[dir]', 'the folder of result files', DEFAULT_OUT_DIR)
  addWebFlags(serve)
  serve.action(async (dir: string, flags: Flags) => {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InputFileError(`${dir}: no such folder of results`)
    const { serveResults } = await import('../../web/entry.js')
    const web = await serveResults(dir, { webPort: flags.webPort, webHost: flags.webHost })
    process.stdout.write(`loadlens results of ${dir}: ${web.url}\n${web.token ? 'It is bound to a non-loopback address: the token in this URL is required.\n' : ''}Ctrl-C stops it.\n`)
    await new Promise<void>((resolve) => {
      const onSignal = (): void => {
        process.off('SIGINT', onSignal)
        process.off('SIGTERM', onSignal)
        web.close().then(resolve, resolve)
      }
      process.on('SIGINT', onSignal)
      process.on('SIGTERM', onSignal)
    })
  })
}
