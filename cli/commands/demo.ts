/** `loadlens demo`: the bundled scenario against the bundled target. */
import type { Command } from 'commander'
import { runDemo } from '../../app/demo.js'
import { addLoadFlags, addOutputFlags, pickLoadFlags, pickOutputFlags } from '../flags.js'
import type { Flags } from '../flags.js'

export function registerDemo (program: Command): void {
  const demo = program.command('demo')
    .description('start the bundled demo target and run the bundled scenario against it')
  addLoadFlags(demo)
  addOutputFlags(demo)
  demo.action(async (flags: Flags) => {
    const outcome = await runDemo({ ...pickLoadFlags(flags), ...pickOutputFlags(flags), quiet: flags.quiet, recordOptions: { command: 'demo', ...flags } })
    process.exitCode = outcome.exitCode
  })
}
