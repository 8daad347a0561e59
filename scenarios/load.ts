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
 *
 * What esbuild compiles is kept (scenarioCacheDir(): ~/.cache/loadlens by default) with the
 * size and a hash of every file it read; the next load of the same scenario whose files are
 * all unchanged takes it from there, without starting esbuild (about 45 ms of CPU and 70 ms of
 * a run's start). Contents, not modification times: a file rewritten within the same clock
 * tick (a script generating scenarios) keeps its time.
 */
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire, register as registerHooks } from 'node:module'
import { homedir } from 'node:os'
import { basename, dirname, isAbsolute, join, resolve as resolvePath } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { describeError, ScenarioError } from '../shared/errors.js'
import { writeFileAtomic } from '../shared/files.js'
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

/**
 * Where compiled scenarios are kept between runs: $LOADLENS_CACHE_DIR, else
 * $XDG_CACHE_HOME/loadlens, else ~/.cache/loadlens; null (nothing kept) for
 * LOADLENS_CACHE_DIR=off or where there is no home folder.
 */
export function scenarioCacheDir (env: NodeJS.ProcessEnv = process.env): string | null {
  const asked = env.LOADLENS_CACHE_DIR
  if (asked === 'off') return null
  if (asked) return resolvePath(asked)
  if (env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME)) return join(env.XDG_CACHE_HOME, 'loadlens')
  let home = ''
  try { home = homedir() } catch { /* no home folder: nothing is kept */ }
  return home ? join(home, '.cache', 'loadlens') : null
}

/** what a kept compilation depends on besides its files: this format, esbuild's version, the target, the scenario API */
const CACHE_FORMAT = 1

interface CacheEntry {
  key: string
  /**
   * every file esbuild read, and the settings files it may have (tsconfig.json, jsconfig.json,
   * package.json in the scenario's folder and every folder above it): absolute path, size,
   * hash of the content; size -1 for one that was not there
   */
  inputs: Array<[string, number, string]>
  code: string
}

/** the settings files esbuild looks for from the scenario's folder up: a change to any (or a new one) compiles again */
function settingsFiles (dir: string): string[] {
  const out: string[] = []
  for (let d = dir; ; d = dirname(d)) {
    for (const name of ['tsconfig.json', 'jsconfig.json', 'package.json']) out.push(join(d, name))
    if (dirname(d) === d) return out
  }
}

function fileState (path: string): [string, number, string] {
  let content: Buffer
  try {
    content = readFileSync(path)
  } catch {
    return [path, -1, '']
  }
  return [path, content.length, nameOf(content.toString('latin1'))]
}

/** FNV-1a (two 32-bit halves): a file name for a key (checked against the key kept inside), and a file's content hash */
function nameOf (key: string): string {
  let a = 0x811c9dc5
  let b = 0x01000193
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i)
    a = Math.imul(a ^ c, 0x01000193) >>> 0
    b = Math.imul(b ^ c, 0x811c9dc5) >>> 0
  }
  return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0')
}

function esbuildVersion (): string | null {
  try {
    return (createRequire(import.meta.url)('esbuild/package.json') as { version: string }).version
  } catch {
    return null
  }
}

function cacheKey (abs: string): string | null {
  const version = esbuildVersion()
  return version === null ? null : [CACHE_FORMAT, abs, scenarioApiUrl(), process.versions.node.split('.')[0], version].join('\n')
}

/** The kept compilation of this scenario when none of its files changed since. */
function cached (dir: string, key: string): string | null {
  let entry: CacheEntry
  try {
    entry = JSON.parse(readFileSync(join(dir, `${nameOf(key)}.json`), 'utf8')) as CacheEntry
  } catch {
    return null
  }
  if (entry.key !== key || !Array.isArray(entry.inputs) || typeof entry.code !== 'string') return null
  for (const [path, size, hash] of entry.inputs) {
    const [, nowSize, nowHash] = fileState(path)
    if (nowSize !== size || nowHash !== hash) return null
  }
  return entry.code
}

/** Keeps a compilation (written whole, then renamed: a concurrent run reads the old one or the new one); a cache that cannot be written is skipped. */
function keep (dir: string, key: string, sources: string[], folder: string, code: string): void {
  const read = sources.map(fileState)
  if (read.some(([, size]) => size < 0)) return
  try {
    const entry: CacheEntry = { key, inputs: [...read, ...settingsFiles(folder).map(fileState)], code }
    writeFileAtomic(join(dir, `${nameOf(key)}.json`), JSON.stringify(entry), { private: true })
  } catch { /* nothing kept: the next run compiles again */ }
}

/** A scenario file and its local imports as one ES module; null when esbuild or the folder cannot be used. */
async function bundle (abs: string): Promise<string | null> {
  const root = scenarioCacheDir()
  const dir = root ? join(root, 'scenarios') : null
  const key = dir ? cacheKey(abs) : null
  if (dir && key) {
    const code = cached(dir, key)
    if (code !== null) return code
  }
  let esbuild: typeof import('esbuild')
  try {
    esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild')
  } catch {
    return null
  }
  const api = scenarioApiUrl()
  const cwd = dirname(abs)
  const result = await esbuild.build({
    entryPoints: [abs],
    // the source map's paths relative to the scenario's folder, where the compiled module is written
    absWorkingDir: cwd,
    metafile: true,
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
  const code = result.outputFiles[0]!.text
  if (dir && key) {
    // files only (another namespace, e.g. a plugin's, is not a file to check): otherwise nothing is kept
    const inputs = Object.keys(result.metafile?.inputs ?? {})
    if (inputs.length > 0 && inputs.every(i => !/^[a-z-]+:/.test(i))) keep(dir, key, inputs.map(i => resolvePath(cwd, i)), cwd, code)
  }
  return code
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
