/** Builds scenario plans inline for tests. */
import { defineScenario } from '../../scenarios/define.js'
import type { ScenarioDef } from '../../scenarios/define.js'
import { validateScenario } from '../../scenarios/validate.js'
import type { ScenarioPlan } from '../../scenarios/validate.js'

export function plan (def: Omit<ScenarioDef, 'name'> & { name?: string }): ScenarioPlan {
  return validateScenario(defineScenario({ name: 'test', ...def }), 'inline-scenario')
}
