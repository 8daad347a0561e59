/** `loadlens report <result.json>`: re-render the outputs of a stored result. */
import type { Command } from 'commander'
import type { Flags } from '../flags.js'

export function registerReport (program: Command): void {
  program.command('report')
    .description('write the HTML report (and CSV, JUnit, Markdown) of a stored result')
    .argument('<result>', 'a result JSON written by `loadlens run` (or a run\'s journal, <run id>.journal.jsonl: see `loadlens recover`)')
    .option('--html <file>', 'the HTML report (default: beside the result, when no other output is named)')
    .option('--csv <prefix>', "CSV files with Locust's names: <prefix>_stats.csv, _stats_history.csv, _failures.csv, _exceptions.csv")
    .option('--junit <file>', 'JUnit XML: checklist items and expectations as test cases')
    .option('--md <file>', 'a Markdown summary for pull-request comments')
    .action(async (file: string, flags: Flags) => {
      const [{ renderReport }, { isJournal, recoverRun }, { outputLabel }] = await Promise.all([import('../../app/report.js'), import('../../app/recover.js'), import('../../app/outputs.js')])
      const { files } = isJournal(file)
        ? recoverRun(file, { html: flags.html, csv: flags.csv, junit: flags.junit, md: flags.md })
        : renderReport(file, { html: flags.html, csv: flags.csv, junit: flags.junit, md: flags.md })
      for (const [kind, path] of Object.entries(files)) process.stdout.write(`${outputLabel(kind)}: ${path}\n`)
    })
}
