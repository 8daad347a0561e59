/**
 * A compiled scenario is kept between loads (scenarios/load.ts): the next load of an unchanged
 * scenario takes the kept module without esbuild; a change to the scenario, to a module it
 * imports or to a settings file esbuild reads (tsconfig.json) compiles it again; a cache that
 * is off, unwritable or damaged changes nothing but the time.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadScenario, scenarioCacheDir } from '../scenarios/load.js'

let dir: string
let cache: string
const saved = process.env.LOADLENS_CACHE_DIR

const scenario = (name: string): string => `import { defineScenario } from 'loadlens'
import { path } from './paths'
export default defineScenario({ name: '${name}', users: { U: { tasks: { get: async (u) => { await u.http.get(path) } } } } })
`
const entries = (): string[] => { try { return readdirSync(join(cache, 'scenarios')).filter(f => f.endsWith('.json')) } catch { return [] } }
/** the kept module, with the scenario's name changed: a load that returns the new name took the kept module */
function tamper (from: string, to: string): void {
  const [file] = entries()
  const p = join(cache, 'scenarios', file!)
  const entry = JSON.parse(readFileSync(p, 'utf8')) as { code: string }
  expect(entry.code).toContain(`"${from}"`)
  entry.code = entry.code.replace(`"${from}"`, `"${to}"`)
  writeFileSync(p, JSON.stringify(entry))
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'loadlens-cache-'))
  cache = join(dir, 'cache')
  process.env.LOADLENS_CACHE_DIR = cache
  writeFileSync(join(dir, 'paths.ts'), "export const path: string = '/a'\n")
  writeFileSync(join(dir, 's.ts'), scenario('first'))
})
afterEach(() => {
  if (saved === undefined) delete process.env.LOADLENS_CACHE_DIR
  else process.env.LOADLENS_CACHE_DIR = saved
  rmSync(dir, { recursive: true, force: true })
})

describe('the compiled-scenario cache', () => {
  it('keeps a compilation and takes it for an unchanged scenario', async () => {
    expect((await loadScenario(join(dir, 's.ts'))).name).toBe('first')
    expect(entries()).toHaveLength(1)
    tamper('first', 'from-cache')
    const plan = await loadScenario(join(dir, 's.ts'))
    expect(plan.name).toBe('from-cache')
    // the load threads get the same module
    expect(plan.compiled?.code).toContain('"from-cache"')
  })

  it('compiles again when the scenario, a module it imports or a settings file changes', async () => {
    const file = join(dir, 's.ts')
    await loadScenario(file)
    tamper('first', 'from-cache')
    // the scenario itself
    writeFileSync(file, scenario('second'))
    expect((await loadScenario(file)).name).toBe('second')
    tamper('second', 'from-cache')
    // a local module it imports: the same size, rewritten at once (the same clock tick, as a script would)
    writeFileSync(join(dir, 'paths.ts'), "export const path: string = '/b'\n")
    const again = await loadScenario(file)
    expect(again.name).toBe('second')
    expect(again.compiled?.code).toContain('"/b"')
    tamper('second', 'from-cache')
    // a tsconfig.json that was not there
    writeFileSync(join(dir, 'tsconfig.json'), '{}\n')
    expect((await loadScenario(file)).name).toBe('second')
    expect(entries()).toHaveLength(1)
  })

  it('changes nothing but the time when it is off, unwritable or damaged', async () => {
    const file = join(dir, 's.ts')
    process.env.LOADLENS_CACHE_DIR = 'off'
    expect((await loadScenario(file)).name).toBe('first')
    expect(entries()).toHaveLength(0)
    // damaged: not JSON
    process.env.LOADLENS_CACHE_DIR = cache
    await loadScenario(file)
    writeFileSync(join(cache, 'scenarios', entries()[0]!), '{ not json')
    expect((await loadScenario(file)).name).toBe('first')
    // cannot be made: a file where its folder would be
    rmSync(cache, { recursive: true, force: true })
    writeFileSync(cache, 'a file where the folder would be')
    expect((await loadScenario(file)).name).toBe('first')
  })

  it('is kept under LOADLENS_CACHE_DIR, XDG_CACHE_HOME or ~/.cache', () => {
    expect(scenarioCacheDir({ LOADLENS_CACHE_DIR: '/tmp/x' })).toBe('/tmp/x')
    expect(scenarioCacheDir({ LOADLENS_CACHE_DIR: 'off' })).toBeNull()
    expect(scenarioCacheDir({ XDG_CACHE_HOME: '/var/cache/me' })).toBe('/var/cache/me/loadlens')
    expect(scenarioCacheDir({ XDG_CACHE_HOME: 'relative' })).toMatch(/\/\.cache\/loadlens$/)
    expect(scenarioCacheDir({})).toMatch(/\/\.cache\/loadlens$/)
  })
})
