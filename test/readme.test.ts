/**
 * The README stays true: every `loadlens` command line in it (code blocks, and inline code
 * that starts with `npx loadlens` or `loadlens `) is accepted by the CLI's own parser, with
 * its flags' value checks (the actions are replaced by no-ops, so nothing runs); every flag
 * the README names exists on some command; every JSON block parses. The commands' behaviour
 * is tested elsewhere (the demo, run, locust, check, compare, merge tests).
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { Command } from 'commander'
import { buildProgram } from '../cli/main.js'

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

/** shell words of a command line: quotes, no expansion */
function words (line: string): string[] {
  const out: string[] = []
  let cur = ''
  let quote: string | null = null
  let has = false
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = null
      else cur += ch
    } else if (ch === '"' || ch === "'") { quote = ch; has = true } else if (/\s/.test(ch)) {
      if (cur || has) out.push(cur)
      cur = ''
      has = false
    } else cur += ch
  }
  if (cur || has) out.push(cur)
  return out
}

/** the part of a shell line that runs loadlens: after `&&`, without a comment or an env prefix */
function loadlensArgs (line: string): string[] | null {
  let text = line.replace(/\s#\s.*$/, '').trim()
  const parts = text.split('&&').map(s => s.trim())
  text = parts.find(p => /(^|\s)(npx )?loadlens\s/.test(p) || /(^|\s)(npx )?loadlens$/.test(p)) ?? ''
  if (!text) return null
  // a usage synopsis's optional parts: [--tolerance 10%] -> --tolerance 10%
  text = text.replace(/\[([^\]]*)\]/g, '$1')
  const w = words(text)
  const at = w.findIndex(x => x === 'loadlens')
  return w.slice(at + 1)
}

/** a usage synopsis with placeholders (`<journal>`, `[-u N]`, `--web-port N`) is not a command line */
function isSynopsis (text: string): boolean {
  return /<[a-z]|(^|[\s[])[A-Z]{1,4}(?=[\]\s]|$)/.test(text)
}

/** every loadlens command line of the README, with the line it starts on */
function commandLines (): Array<{ line: number; args: string[]; text: string }> {
  const lines = README.split('\n')
  const out: Array<{ line: number; args: string[]; text: string }> = []
  let fenced = false
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!
    if (/^\s*```/.test(raw)) { fenced = !fenced; continue }
    const code = fenced || /^ {4}\S/.test(raw)
    if (code) {
      if (!/(^|\s)(npx )?loadlens(\s|$)/.test(raw)) continue
      // continuation lines
      let text = raw
      let j = i
      while (/\\\s*$/.test(text) && j + 1 < lines.length) text = text.replace(/\\\s*$/, ' ') + lines[++j]!
      const args = loadlensArgs(text)
      // a usage synopsis with placeholders (<journal>, [-u N]) is not a command line
      if (args && !isSynopsis(text)) out.push({ line: i + 1, args, text: text.trim() })
      i = j
    } else {
      for (const m of raw.matchAll(/`((?:npx )?loadlens [^`]+)`/g)) {
        const args = loadlensArgs(m[1]!)
        // prose that names a command (`loadlens locust`) is a reference, not a command line
        if (args && args.length > 1 && !isSynopsis(m[1]!)) out.push({ line: i + 1, args, text: m[1]! })
      }
    }
  }
  return out
}

/** the CLI with every action a no-op: parsing (flags, arguments, value checks) is all that runs */
function parserOnly (): Command {
  const program = buildProgram()
  const silence = (c: Command): void => {
    c.exitOverride()
    c.configureOutput({ writeErr: () => {}, writeOut: () => {} })
    c.action(() => {})
    for (const sub of c.commands) silence(sub)
  }
  for (const c of program.commands) silence(c)
  program.configureOutput({ writeErr: () => {}, writeOut: () => {} })
  return program
}

describe('README', () => {
  const commands = commandLines()

  it('has the command lines this test reads', () => {
    // the quick start, run, locust, demo, check, compare and merge are all there
    for (const cmd of ['demo', 'run', 'locust', 'check', 'compare', 'merge', 'diagnose']) {
      expect(commands.some(c => c.args[0] === cmd), `a "loadlens ${cmd}" line`).toBe(true)
    }
    expect(commands.length).toBeGreaterThan(25)
  })

  it('every loadlens command line in it is accepted by the CLI', async () => {
    const rejected: string[] = []
    for (const c of commands) {
      try {
        await parserOnly().parseAsync(['node', 'loadlens', ...c.args])
      } catch (err) {
        rejected.push(`README.md:${c.line}: ${c.text}\n    ${(err as Error).message}`)
      }
    }
    expect(rejected).toEqual([])
  })

  it('every flag it names exists on some command', () => {
    const known = new Set<string>()
    const collect = (c: Command): void => {
      for (const o of c.options) { if (o.long) known.add(o.long); if (o.short) known.add(o.short) }
      for (const sub of c.commands) collect(sub)
    }
    collect(buildProgram())
    // flags in inline code and tables: `--name` or `--name <value>`
    const named = new Set<string>()
    for (const m of README.matchAll(/`(--[a-z][a-z0-9-]*)/g)) named.add(m[1]!)
    // Locust's own flags (passed after --), Node's, and those of `npm run bench` (in its source)
    const others = new Set(['--master', '--worker', '--processes', '--loglevel', '--autostart'])
    const bench = ['run-all.ts', 'loadgen.ts', 'accuracy.ts', 'scale.ts', 'cli.ts', 'names.ts', 'probes.ts'].map(f => { try { return readFileSync(new URL(`../bench/${f}`, import.meta.url), 'utf8') } catch { return '' } }).join('\n')
    const node = ['--heap-growing-percent', '--max-semi-space-size']
    const missing = [...named].filter(f => !known.has(f) && !others.has(f) && !node.includes(f) && !bench.includes(`'${f}'`) && !bench.includes(`"${f}"`) && !bench.includes(f.slice(2)))
    expect(missing).toEqual([])
    expect(named.size).toBeGreaterThan(40)
  })

  it('every JSON block parses', () => {
    const blocks = [...README.matchAll(/```json\n([\s\S]*?)```/g)].map(m => m[1]!)
    expect(blocks.length).toBeGreaterThan(0)
    for (const b of blocks) expect(() => JSON.parse(b), b).not.toThrow()
  })
})
