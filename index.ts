/**
 * The public surface of loadlens: what a scenario file imports (`from 'loadlens'`) and the
 * library API behind the CLI.
 */
export {
  defineScenario,
  defineUser,
  task,
  between,
  constant,
  constantPacing,
  constantThroughput,
  file
} from './scenarios/define.js'
export type {
  ScenarioDef,
  Scenario,
  UserClassDef,
  TaskDef,
  TaskFn,
  ProfileDef,
  ArrivalRateDef,
  UserContext,
  HttpClient,
  HttpResponse,
  RequestOptions,
  Check,
  FormFile,
  FormValue,
  TestData,
  WaitTime
} from './scenarios/define.js'
export { loadScenario } from './scenarios/load.js'
export { validateScenario } from './scenarios/validate.js'
export type { ScenarioPlan } from './scenarios/validate.js'
export { resolveLoadPlan, parseStages } from './scenarios/profile.js'
export type { LoadPlan } from './scenarios/profile.js'
export { LOAD_SETTINGS, LOAD_DEFAULTS, checkLoadSettings } from './shared/settings.js'
export type { LoadSettings } from './shared/settings.js'
export { startLoad, LoadHandle } from './loadgen/runner.js'
export type { LoadOptions, LoadOutcome } from './loadgen/runner.js'
export { runTest, prepareRun } from './app/run.js'
export { analyse } from './app/analyse.js'
export type { AnalyseOptions } from './app/analyse.js'
export type { RunTestOptions, RunTestOutcome } from './app/run.js'
export { readResult, writeResult } from './shared/files.js'
export { parseDuration } from './shared/duration.js'
export { UsageError, HarnessError } from './shared/errors.js'
export type * from './shared/types.js'
