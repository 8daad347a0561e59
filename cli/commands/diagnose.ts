/** `loadlens diagnose result.json`: re-computes the diagnosis of a stored result. */
import type { Command } from 'commander'
import type { Flags } from '../flags.js'

export function registerDiagnose (program: Command): void {
  program.command('diagnose')
    .description('re-compute and print the diagnosis of a stored result')
    .argument('<result.json>', 'a result written by loadlens run or demo')
    .option('--write', 'store the new diagnosis in the result file')
    .option('-o, --out <file>', 'write the result with the new diagnosis to this file')
    .option('--json', 'print the diagnosis as JSON')
    .action(async (file: string, flags: Flags) => {
      const { diagnoseFile } = await import('../../app/diagnose-file.js')
      diagnoseFile(file, { write: flags.write, out: flags.out, json: flags.json })
    })
}
