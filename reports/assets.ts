/**
 * Files that ship beside the code (ejs templates, the browser scripts and styles of the
 * report and the web UI). They are not compiled, so code running from dist/ reads them from
 * the source folder next to dist/.
 */
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { MissingDependencyError } from '../shared/errors.js'

/** The path of `rel` relative to the module at `base` (import.meta.url), in the source tree. */
export function sourcePath (base: string, rel: string): string {
  const p = fileURLToPath(new URL(rel, base))
  if (existsSync(p)) return p
  // dist/reports/html/x -> reports/html/x
  const alt = p.replace(/([\\/])dist([\\/])(?!.*[\\/]dist[\\/])/, '$1')
  if (existsSync(alt)) return alt
  throw new MissingDependencyError(`a file of loadlens is missing: ${p} (the installation is incomplete)`)
}

const cache = new Map<string, string>()

/** Reads a shipped text file once. */
export function readShipped (base: string, rel: string): string {
  const p = sourcePath(base, rel)
  let text = cache.get(p)
  if (text === undefined) {
    text = readFileSync(p, 'utf8')
    cache.set(p, text)
  }
  return text
}

const require = createRequire(import.meta.url)

/** uPlot's browser build and styles, to inline (no CDN: reports work offline). */
export function uplotAssets (): { js: string; css: string } {
  const key = 'uplot'
  let js = cache.get(`${key}.js`)
  let css = cache.get(`${key}.css`)
  if (js === undefined || css === undefined) {
    js = readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8')
    css = readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8')
    cache.set(`${key}.js`, js)
    cache.set(`${key}.css`, css)
  }
  return { js, css }
}

/** JSON that is safe inside a <script> element: no "</script>", no "<!--", no U+2028. */
export function scriptJson (value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029')
}

/** Text that is safe inside an inline <script> or <style> element. */
export function inlineCode (code: string): string {
  return code.replace(/<\/(script|style)/gi, '<\\/$1')
}
