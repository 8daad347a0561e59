/** `loadlens recover <journal>`: rebuild the result and reports of a run that was killed before it wrote them. */
import type { Command } from 'commander'
import { addOutputFlags, pickOutputFlags } from '../flags.js'
import type { Flags } from '../flags.js'

export function registerRecover (program: Command): void {
  const cmd = program.command('recover')
    .description('rebuild the result, the diagnosis and every report of a run that ended without writing them (killed, out of memory) from its journal (<run id>.journal.jsonl in the output folder)')
    .argument('<journal>', 'the run\'s journal, <run id>.journal.jsonl')
  addOutputFlags(cmd)
  cmd.action(async (file: string, flags: Flags) => {
    const [{ recoverRun }, { outputLabel }, { formatSummary }, { formatDiagnosis }, { formatChecklist }] = await Promise.all([
      import('../../app/recover.js'), import('../../app/outputs.js'), import('../../reports/terminal/summary.js'),
      import('../../reports/terminal/findings.js'), import('../../reports/terminal/checklist.js')
    ])
    const { result, files, seconds } = recoverRun(file, pickOutputFlags(flags))
    process.stdout.write(`recovered ${seconds} seconds of load from ${file}\n\n`)
    process.stdout.write(formatSummary(result) + '\n\n' + formatDiagnosis(result) + '\n\n' + formatChecklist(result.checklist!) + '\n')
    for (const [kind, path] of Object.entries(files)) process.stdout.write(`${outputLabel(kind)}: ${path}\n`)
    // the run was cut short: no gate passes on a recovered result
    process.exitCode = 130
  })
}
