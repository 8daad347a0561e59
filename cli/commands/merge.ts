/** `loadlens merge <results...> -o merged.json`: segments of one distributed run into one result. */
import type { Command } from 'commander'
import type { Flags } from '../flags.js'

export function registerMerge (program: Command): void {
  program.command('merge')
    .description('merge the results of the segments of one run (--segment i/N) into one result')
    .argument('<results...>', 'result JSON files written by `loadlens run --segment i/N`')
    .option('-o, --output <file>', 'the merged result JSON (default: <out-dir>/<run id>-merged.json)')
    .option('--out-dir <dir>', 'where the merged result goes by default', 'loadlens-results')
    .option('--html <file>', 'the HTML report (default: beside the merged result)')
    .option('--no-html', 'do not write the HTML report')
    .option('-q, --quiet', 'print only warnings')
    .action(async (files: string[], flags: Flags) => {
      const { mergeFiles } = await import('../../app/merge.js')
      mergeFiles(files, { output: flags.output, outDir: flags.outDir, html: typeof flags.html === 'string' ? flags.html : undefined, noHtml: flags.html === false, quiet: flags.quiet })
    })
}
