/**
 * Loads a scenario file written in TypeScript (or JavaScript) from anywhere on disk.
 * TypeScript is compiled on the fly by tsx; `import ... from 'loadlens'` inside the file is
 * resolved to this very package, so a scenario needs no install of its own.
 */
import { existsSync, statSync } from 'node:fs'
import { register as registerHooks } from 'node:module'
import { resolve as resolvePath } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { UsageError, describeError } from '../shared/errors.js'
import { validateScenario } from './validate.js'
import type { ScenarioPlan } from './validate.js'

let registered = false

/** The URL `import 'loadlens'` resolves to: this package's entry, built or source. */
export function selfEntryUrl (): string {
  const here = import.meta.url
  return new URL(here.endsWith('.ts') ? '../index.ts' : '../index.js', here).href
}

// Resolve hook, registered from a data: URL so that it needs no file of its own. Besides
// mapping 'loadlens', it makes a .ts scenario an ES module even where no package.json says
// "type": "module" (a scenario in any folder uses import/export).
const HOOKS = `
let target
export async function initialize (data) { target = data.target }
export async function resolve (specifier, context, next) {
  if (specifier === 'loadlens') return { url: target, shortCircuit: true }
  const r = await next(specifier, context)
  if (r.format === 'commonjs' && /\\.tsx?$/.test(r.url) && r.url.startsWith('file:') && !r.url.includes('/node_modules/')) {
    return { ...r, format: 'module' }
  }
  return r
}
`

async function registerLoaders (): Promise<void> {
  if (registered) return
  registered = true
  const { register } = await import('tsx/esm/api')
  register()
  registerHooks('data:text/javascript,' + encodeURIComponent(HOOKS), { data: { target: selfEntryUrl() } })
}

export async function loadScenario (file: string): Promise<ScenarioPlan> {
  const abs = resolvePath(file)
  if (!existsSync(abs)) throw new UsageError(`${file}: no such scenario file`)
  if (!statSync(abs).isFile()) throw new UsageError(`${file}: expected a scenario file (.ts or .js), got a directory`)
  await registerLoaders()
  let mod: { default?: unknown }
  try {
    mod = await import(pathToFileURL(abs).href)
  } catch (err) {
    throw new UsageError(`${file}: the scenario file failed to load: ${loadError(err)}`, { cause: err })
  }
  if (mod.default === undefined) {
    throw new UsageError(`${file}: expected a default export: export default defineScenario({...})`)
  }
  return validateScenario(mod.default, file)
}

/**
 * One line for a scenario that does not load: a syntax error as file:line:column and the
 * compiler's message (esbuild's TransformError lists its errors with their location), anything
 * else as its first line.
 */
function loadError (err: unknown): string {
  const errors = (err as { errors?: Array<{ text?: string; location?: { file?: string; line?: number; column?: number } | null }> }).errors
  const first = Array.isArray(errors) ? errors[0] : undefined
  if (first?.text) {
    const at = first.location ? `${first.location.file ?? ''}:${first.location.line}:${(first.location.column ?? 0) + 1}: ` : ''
    return `${at}${first.text}${errors!.length > 1 ? ` (and ${errors!.length - 1} more)` : ''}`
  }
  const lines = describeError(err).split('\n')
  // "Transform failed with 1 error:" then "<file>:<line>:<col>: ERROR: <message>"
  const located = lines.find(l => /:\d+:\d+: (ERROR: )?/.test(l))
  if (/^Transform failed/.test(lines[0] ?? '') && located) {
    // esbuild counts columns from 0; editors from 1
    return located.replace(' ERROR: ', ' ').trim().replace(/:(\d+):(\d+): /, (_m, l: string, c: string) => `:${l}:${Number(c) + 1}: `)
  }
  return lines[0]!
}

/** The scenarios that ship with loadlens. */
export function bundledScenario (name: 'example' | 'mluvme'): string {
  const here = fileURLToPath(import.meta.url)
  const source = resolvePath(here, '..', '..', '..', 'scenarios', name, 'scenario.ts')
  // running from dist/: prefer the TypeScript source next to dist when it is there
  if (!here.endsWith('.ts') && existsSync(source)) return source
  return resolvePath(here, '..', name, here.endsWith('.ts') ? 'scenario.ts' : 'scenario.js')
}
