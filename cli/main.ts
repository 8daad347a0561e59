/**
 * The `loadlens` command line: parses flags and calls the library (app/). Exit codes:
 * 0 everything passed, 1 a gate or expectation failed, 2 usage or input error,
 * 3 loadlens itself failed (e.g. target unreachable from the start).
 */
import { Command, CommanderError } from 'commander'
import { describeError } from '../shared/errors.js'
import { redactText } from '../shared/redact.js'
import { COMMANDS } from './commands/index.js'
import { loadlensVersion } from '../app/versions.js'

/**
 * The program with its commands: every one, or, when `argv` names one (`loadlens run ...`),
 * only that one (its help, errors and suggestions are the same; `loadlens --help` and a
 * mistyped command get all of them).
 */
export function buildProgram (argv?: string[]): Command {
  const program = new Command()
  program
    .name('loadlens')
    .description('Load test and bottleneck diagnosis: runs a scenario, watches the system, says why it got slow.')
    .version(loadlensVersion(), '-V, --version')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(redactText(str.replace(/^error: /, 'loadlens: '))) })

  const named = argv?.[2]
  const only = named !== undefined && Object.hasOwn(COMMANDS, named) ? COMMANDS[named]! : null
  if (only) only(program)
  else for (const register of Object.values(COMMANDS)) register(program)
  return program
}

export async function main (argv: string[] = process.argv): Promise<number> {
  const program = buildProgram(argv)
  try {
    await program.parseAsync(argv)
    return Number(process.exitCode ?? 0)
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0
      return 2
    }
    const code = (err as { exitCode?: number }).exitCode
    if (code === 2 || code === 3) {
      process.stderr.write(`loadlens: ${redactText(describeError(err))}\n`)
      return code
    }
    process.stderr.write(`loadlens: internal error: ${redactText(describeError(err))}\n${process.env.LOADLENS_DEBUG ? redactText((err as Error).stack ?? '') : '(set LOADLENS_DEBUG=1 for the stack trace; please report it)'}\n`)
    return 3
  }
}

