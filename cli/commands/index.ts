/** Every `loadlens` command; each registers its flags and action on the program. */
import type { Command } from 'commander'
import { registerRun } from './run.js'
import { registerLocust } from './locust.js'
import { registerMerge } from './merge.js'
import { registerDemo } from './demo.js'
import { registerDiagnose } from './diagnose.js'
import { registerCheck } from './check.js'
import { registerCompare } from './compare.js'
import { registerReport } from './report.js'
import { registerUi } from './ui.js'
import { registerServe } from './serve.js'
import { registerRecover } from './recover.js'

/** by name: a command line that names one registers only it (commander's options for all eleven are a tenth of a run's start) */
export const COMMANDS: Record<string, (program: Command) => void> = {
  run: registerRun,
  locust: registerLocust,
  merge: registerMerge,
  demo: registerDemo,
  diagnose: registerDiagnose,
  check: registerCheck,
  compare: registerCompare,
  report: registerReport,
  ui: registerUi,
  serve: registerServe,
  recover: registerRecover
}
