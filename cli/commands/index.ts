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

export const COMMANDS: Array<(program: Command) => void> = [
  registerRun,
  registerLocust,
  registerMerge,
  registerDemo,
  registerDiagnose,
  registerCheck,
  registerCompare,
  registerReport,
  registerUi,
  registerServe,
  registerRecover
]
