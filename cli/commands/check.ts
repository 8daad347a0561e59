/** `loadlens check result.json`: the pre-deploy checklist of a stored result (exit 1 when a required item failed). */
import type { Command } from 'commander'
import { addGateFlags, pickReadiness } from '../flags.js'
import type { Flags } from '../flags.js'

export function registerCheck (program: Command): void {
  const cmd = program.command('check')
    .description('evaluate the pre-deploy checklist of a stored result; exit 1 when a required item failed')
    .argument('<result.json>', 'a result written by loadlens run or demo')
    .option('--advisory <ids>', 'checklist items that only warn, comma-separated (e.g. alerts,rollback)')
    .option('-o, --out <file>', 'write the result with its checklist to this file')
    .option('--json', 'print the checklist as JSON')
    .option('--junit <file>', 'write the checklist as JUnit XML (items as test cases) for the CI')
    .option('--md <file>', 'write a Markdown summary (for a pull-request comment)')
  addGateFlags(cmd)
  cmd.action(async (file: string, flags: Flags) => {
    const { checkResult } = await import('../../app/check.js')
    const { exitCode } = await checkResult(file, {
      readiness: pickReadiness(flags),
      advisory: typeof flags.advisory === 'string' ? flags.advisory.split(',').map((s: string) => s.trim()).filter(Boolean) : [],
      strict: flags.strictChecklist,
      out: flags.out,
      json: flags.json,
      junit: flags.junit,
      md: flags.md
    })
    process.exitCode = exitCode
  })
}
