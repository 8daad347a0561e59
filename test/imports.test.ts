/**
 * The shape of the code: imports flow one way along the stages (shared -> scenarios ->
 * loadgen | probes -> correlate -> reports -> app -> web -> cli), loadgen and probes do not import
 * each other, and no module imports itself back through others (no cycle, type imports
 * included). Read from the source files' import statements.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const PRODUCT = ['shared', 'scenarios', 'loadgen', 'probes', 'correlate', 'reports', 'app', 'web', 'cli', 'demo']

function tsFiles (dir: string): string[] {
  const out: string[] = []
  for (const f of readdirSync(dir)) {
    const p = join(dir, f)
    if (statSync(p).isDirectory()) out.push(...tsFiles(p))
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p)
  }
  return out
}

/** relative imports of a file (static, dynamic, type-only), as absolute .ts paths */
function importsOf (file: string): string[] {
  const src = readFileSync(file, 'utf8')
  const out: string[] = []
  for (const m of src.matchAll(/(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g)) {
    out.push(resolve(dirname(file), (m[1] ?? m[2])!.replace(/\.js$/, '.ts')))
  }
  return out
}

const files = PRODUCT.flatMap(d => tsFiles(join(ROOT, d)))
const graph = new Map(files.map(f => [f, importsOf(f).filter(t => files.includes(t))]))
const stageOf = (f: string): string => relative(ROOT, f).split('/')[0]!

describe('the shape of the code', () => {
  it('imports flow one way along the stages', () => {
    const rank: Record<string, number> = { shared: 0, scenarios: 1, loadgen: 2, probes: 2, correlate: 3, reports: 4, demo: 5, app: 6, web: 7, cli: 8 }
    const wrong: string[] = []
    for (const [f, deps] of graph) {
      for (const d of deps) {
        const [a, b] = [stageOf(f), stageOf(d)]
        // the demo targets are apps of their own: app starts them; they use only shared and scenarios' test data
        const ok = a === b || (rank[b]! < rank[a]! && !(a === 'demo' && !['shared', 'scenarios'].includes(b))) || (a === 'app' && b === 'demo')
        if (!ok || (a === 'loadgen' && b === 'probes') || (a === 'probes' && b === 'loadgen')) wrong.push(`${relative(ROOT, f)} imports ${relative(ROOT, d)}`)
      }
    }
    expect(wrong).toEqual([])
  })

  it('has no import cycle', () => {
    const cycles: string[] = []
    const seen = new Set<string>()
    const stack: string[] = []
    const on = new Set<string>()
    const dfs = (n: string): void => {
      seen.add(n); stack.push(n); on.add(n)
      for (const d of graph.get(n) ?? []) {
        if (on.has(d)) cycles.push([...stack.slice(stack.indexOf(d)), d].map(x => relative(ROOT, x)).join(' -> '))
        else if (!seen.has(d)) dfs(d)
      }
      stack.pop(); on.delete(n)
    }
    for (const f of files) if (!seen.has(f)) dfs(f)
    expect(cycles).toEqual([])
    expect(files.length).toBeGreaterThan(100)
  })
})
