#!/usr/bin/env node
// The `loadlens` command. The TypeScript sources are built into dist/ by `npm ci` (prepare).
import { existsSync } from 'node:fs'

const entry = new URL('../dist/cli/bin.js', import.meta.url)
if (!existsSync(entry)) {
  process.stderr.write('loadlens: the package is not built; run `npm run build` (or `npm ci`) first\n')
  process.exit(3)
}
await import(entry.href)
