/**
 * Every detector: each file of this folder exports one (a value with an id, the findings it
 * makes and a run function), found here when the correlator loads, in the order that breaks ties
 * in the ranking (each detector's `order`: the more specific causes first). Adding a detector:
 * its own file in this folder, its test, and a row in the README's table of what each detector
 * needs; nothing else lists it.
 */
import { readdirSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { dirname, join } from 'node:path'
import type { Detector } from '../context.js'

function isDetector (v: unknown): v is Detector {
  const d = v as Partial<Detector> | null
  return typeof d === 'object' && d !== null && typeof d.id === 'string' && typeof d.run === 'function' && Array.isArray(d.findings) && typeof d.order === 'number'
}

const here = dirname(fileURLToPath(import.meta.url))
// the folder's modules: .ts from the sources (tests), .js when built (not .d.ts or maps)
const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js'
const files = readdirSync(here).filter(f => f.endsWith(ext) && !f.endsWith('.d.ts') && !f.startsWith('index.')).sort()
const modules = await Promise.all(files.map(async f => ({ file: f, module: await import(pathToFileURL(join(here, f)).href) as Record<string, unknown> })))

export const DETECTORS: Detector[] = modules.flatMap(({ file, module }) => {
  const found = Object.values(module).filter(isDetector)
  if (found.length !== 1) throw new Error(`correlate/detectors/${file}: expected one detector, found ${found.length}`)
  return found
}).sort((a, b) => a.order - b.order || a.id.localeCompare(b.id))
