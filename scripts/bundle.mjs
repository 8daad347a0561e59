/**
 * `npm run build`'s last step: the command line (dist/cli/bin.js) and the load thread
 * (dist/loadgen/worker-main.js) bundled into dist/bundle/, what bin/loadlens.js and the worker
 * pool start. Node 20 loads each ES module on its own (resolve, read, compile, link): the run
 * path is about 110 modules on the main thread and 35 in each load thread, and one module in
 * place of many takes a tenth off a short run's CPU (bench `cli --startup-only`).
 *
 * - Code split (esbuild's splitting): what the CLI imports lazily (the web UI, the probes'
 *   clients, reports, other commands) stays in chunks of its own, loaded when used; packages
 *   stay external, loaded from node_modules as before.
 * - Every module keeps its own import.meta.url: each is told the URL of its built file in
 *   dist/ (report assets, templates, package.json, the scenario API are found beside it, and
 *   those files stay where tsc wrote them).
 * - The scenario API (dist/scenarios/define.js) stays one module: a scenario's
 *   `import 'loadlens'` and the bundle load the same file.
 * The library (`import 'loadlens'`, dist/index.js) is the unbundled dist/; tests run the sources, their
 * load threads the bundled load thread.
 */
import { build } from 'esbuild'
import { readFile } from 'node:fs/promises'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const dist = fileURLToPath(new URL('../dist/', import.meta.url))
const outdir = join(dist, 'bundle')
const api = join(dist, 'scenarios', 'define.js')

/** import.meta.url in a module becomes its built file's URL, computed from the bundle's own */
const moduleUrl = {
  name: 'module-url',
  setup (b) {
    b.onLoad({ filter: /\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8')
      if (!args.path.startsWith(dist) || !text.includes('import.meta')) return undefined
      const rel = relative(outdir, args.path).split('\\').join('/')
      // on the file's first line, so that its source map's lines still match
      const head = `const __moduleMeta = import.meta; const __moduleUrl = new URL(${JSON.stringify(rel)}, __moduleMeta.url).href; `
      return { contents: head + text, loader: 'js', resolveDir: dirname(args.path) }
    })
  }
}

/** the scenario API is imported from its own file */
const sharedApi = {
  name: 'shared-api',
  setup (b) {
    b.onResolve({ filter: /define\.js$/ }, (args) => {
      if (resolve(args.resolveDir, args.path) !== api) return undefined
      return { path: relative(outdir, api).split('\\').join('/').replace(/^(?!\.)/, './'), external: true }
    })
  }
}

const common = {
  outdir,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: `node${process.versions.node.split('.')[0]}`,
  packages: 'external',
  define: { 'import.meta.url': '__moduleUrl' },
  sourcemap: 'linked',
  plugins: [moduleUrl, sharedApi],
  logLevel: 'warning'
}
// the command line, split: what it imports lazily stays in chunks of its own
await build({ ...common, entryPoints: { bin: join(dist, 'cli', 'bin.js') }, splitting: true, chunkNames: 'chunk-[hash]' })
// the load thread in one file: it imports nothing lazily, and chunks shared with the command
// line would be as many modules again
await build({ ...common, entryPoints: { 'worker-main': join(dist, 'loadgen', 'worker-main.js') } })
