/** `loadlens compare base.json new.json`: baseline vs new, with regressions flagged. */
import type { Command } from 'commander'
import { InvalidArgumentError } from 'commander'
import type { Flags } from '../flags.js'

function percentArg (value: string): number {
  const n = Number(value.replace(/%$/, ''))
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected a percentage like 10 or 10%, got "${value}"`)
  return n / 100
}

export function registerCompare (program: Command): void {
  program.command('compare')
    .description("compare two results: the seed's baseline-vs-target table and per-request percentiles")
    .argument('<base.json>', 'the baseline result')
    .argument('<new.json>', 'the result to judge')
    .option('--tolerance <percent>', 'a change beyond this is a regression (default 10%)', percentArg)
    .option('--fail-on-regression', 'exit 1 when something regressed beyond the tolerance')
    .option('--md <file>', 'write the comparison as Markdown (for a pull-request comment)')
    .option('--html <file>', 'write the comparison as HTML')
    .option('--json', 'print the comparison as JSON')
    .option('--force', 'compare results of different scenarios or targets (refused otherwise)')
    .action(async (base: string, next: string, flags: Flags) => {
      const { compareFiles } = await import('../../app/compare-files.js')
      const { exitCode } = compareFiles(base, next, { tolerance: flags.tolerance, failOnRegression: flags.failOnRegression, md: flags.md, html: flags.html, json: flags.json, force: flags.force })
      process.exitCode = exitCode
    })
}
