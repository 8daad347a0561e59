#!/usr/bin/env node
// The `loadlens` command. The TypeScript sources are built into dist/ by `npm ci` (prepare),
// and the command line bundled into dist/bundle/ (scripts/bundle.mjs; dist/cli/ where it is not).
import { existsSync } from 'node:fs'

const bundled = new URL('../dist/bundle/bin.js', import.meta.url)
const entry = existsSync(bundled) ? bundled : new URL('../dist/cli/bin.js', import.meta.url)
if (!existsSync(entry)) {
  process.stderr.write('loadlens: the package is not built; run `npm run build` (or `npm ci`) first\n')
  process.exit(3)
}
await import(entry.href)
