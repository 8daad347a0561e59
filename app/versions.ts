/** Versions recorded in every result, so two runs can be compared knowingly. */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

function pkgVersion (name: string): string {
  try {
    return (require(`${name}/package.json`) as { version: string }).version
  } catch {
    return 'unknown'
  }
}

let cached: Record<string, string> | undefined

export function loadlensVersion (): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const p = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string }
      if (p.name === 'loadlens' && p.version) return p.version
    } catch { /* try the next */ }
  }
  return 'unknown'
}

export function versions (): { loadlens: string; node: string; [k: string]: string } {
  cached ??= { loadlens: loadlensVersion(), node: process.versions.node, undici: pkgVersion('undici') }
  return cached as { loadlens: string; node: string }
}
