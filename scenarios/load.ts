/**
 * Loads a scenario file written in TypeScript (or JavaScript) from anywhere on disk.
 * `import ... from 'loadlens'` inside the file is resolved to this very package's scenario API
 * (scenarios/define: defineScenario, defineUser, task, the wait times, file), so a scenario
 * needs no install of its own, and loading one (again in each load thread) does not load the
 * rest of the library.
 *
 * The file and the local modules it imports are compiled by esbuild into one ES module,
 * written beside the scenario (so that the packages it imports resolve from its own folder),
 * imported, and removed; source maps keep stack traces and error locations on the scenario's
 * own lines. esbuild directly rather than tsx's module hooks: those run every later import of
 * the process through a loader thread, and a start cost twice the CPU (0.29 s against 0.13 s
 * to load the Mluv.Me scenario and the correlator). Where the scenario's folder is not
 * writable, tsx's hooks load it instead.
 */
import { existsSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire, register as registerHooks } from 'node:module'
import { basename, dirname, join, resolve as resolvePath } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { describeError, ScenarioError } from '../shared/errors.js'
import { validateScenario } from './validate.js'
import type { CompiledScenario, ScenarioPlan } from './validate.js'

let registered = false

/** The URL `import 'loadlens'` in a scenario resolves to: the scenario API, built or source. */
export function scenarioApiUrl (): string {
  const here = import.meta.url
  return new URL(here.endsWith('.ts') ? './define.ts' : './define.js', here).href
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
  registerHooks('data:text/javascript,' + encodeURIComponent(HOOKS), { data: { target: scenarioApiUrl() } })
}

/** A scenario file and its local imports as one ES module; null when esbuild or the folder cannot be used. */
async function bundle (abs: string): Promise<string | null> {
  let esbuild: typeof import('esbuild')
  try {
    esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild')
  } catch {
    return null
  }
  const api = scenarioApiUrl()
  const result = await esbuild.build({
    entryPoints: [abs],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    target: `node${process.versions.node.split('.')[0]}`,
    // packages resolve from the scenario's folder, as they would for the file itself
    packages: 'external',
    sourcemap: 'inline',
    logLevel: 'silent',
    // CommonJS scenarios may require(): give the module a require of its own
    banner: { js: "import { createRequire as __loadlensRequire } from 'node:module'; const require = __loadlensRequire(import.meta.url);" },
    plugins: [{ name: 'loadlens', setup (b) { b.onResolve({ filter: /^loadlens$/ }, () => ({ path: api, external: true })) } }]
  })
  return result.outputFiles[0]!.text
}

async function importScenario (abs: string, compiled?: CompiledScenario): Promise<{ mod: { default?: unknown }; code: string | null }> {
  // a module compiled against another scenario API (a thread that runs the built code, while
  // the caller ran the sources) is compiled again
  const code = compiled && compiled.api === scenarioApiUrl() ? compiled.code : await bundle(abs)
  if (code !== null) {
    const out = join(dirname(abs), `.${basename(abs)}.loadlens-${process.pid}-${Math.random().toString(36).slice(2, 8)}.mjs`)
    let written = false
    try {
      writeFileSync(out, code)
      written = true
    } catch { /* a folder we may not write to: tsx below */ }
    if (written) {
      process.setSourceMapsEnabled(true)
      try {
        return { mod: await import(pathToFileURL(out).href) as { default?: unknown }, code }
      } finally {
        rmSync(out, { force: true })
      }
    }
  }
  await registerLoaders()
  return { mod: await import(pathToFileURL(abs).href) as { default?: unknown }, code: null }
}

/**
 * Loads a scenario file. `compiled`: the module a load of the same file already compiled
 * (plan.compiled: the main thread's, given to each load thread), loaded without esbuild.
 */
export async function loadScenario (file: string, compiled?: CompiledScenario): Promise<ScenarioPlan> {
  const abs = resolvePath(file)
  if (!existsSync(abs)) throw new ScenarioError(`${file}: no such scenario file`)
  if (!statSync(abs).isFile()) throw new ScenarioError(`${file}: expected a scenario file (.ts or .js), got a directory`)
  let mod: { default?: unknown }
  let code: string | null
  try {
    ({ mod, code } = await importScenario(abs, compiled))
  } catch (err) {
    throw new ScenarioError(`${file}: the scenario file failed to load: ${loadError(err)}`, { cause: err })
  }
  if (mod.default === undefined) {
    throw new ScenarioError(`${file}: expected a default export: export default defineScenario({...})`)
  }
  const plan = validateScenario(mod.default, file)
  if (code !== null) plan.compiled = { code, api: scenarioApiUrl() }
  return plan
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
/** The bundled Mluv.Me locustfile (Python, kept as source: the same path from src and from dist/). */
export function bundledLocustfile (): string {
  const here = fileURLToPath(import.meta.url)
  return here.endsWith('.ts') ? resolvePath(here, '..', 'mluvme', 'locustfile.py') : resolvePath(here, '..', '..', '..', 'scenarios', 'mluvme', 'locustfile.py')
}

export function bundledScenario (name: 'example' | 'mluvme'): string {
  const here = fileURLToPath(import.meta.url)
  const source = resolvePath(here, '..', '..', '..', 'scenarios', name, 'scenario.ts')
  // running from dist/: prefer the TypeScript source next to dist when it is there
  if (!here.endsWith('.ts') && existsSync(source)) return source
  return resolvePath(here, '..', name, here.endsWith('.ts') ? 'scenario.ts' : 'scenario.js')
}
