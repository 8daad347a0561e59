/**
 * `npm run bench [-- section ...]`: loadlens's speed and memory targets, measured as ratios
 * against a reference run in the same script. Sections:
 *   loadgen   requests/s against autocannon (and undici alone) at 50 connections; 5,000 users at 1 s think time
 *   workers   2 worker threads against 1; 10,000 users at 1 s think time (bench/scale.ts)
 *   soak      the generator's RSS over a development-profile soak, --soak=DURATION (bench/scale.ts)
 *   names     the CLI with a URL per request and no name: RSS flat under the bound on rows (bench/names.ts)
 * Each section prints its figures and whether the target was met; nothing here is a test.
 */
import { loadgen } from './loadgen.js'
import { sections as extraSections } from './sections.js'

const all: Record<string, () => Promise<void>> = { loadgen, ...extraSections }
const chosen = process.argv.slice(2).filter(a => !a.startsWith('-'))
for (const name of chosen.length ? chosen : Object.keys(all)) {
  const fn = all[name]
  if (!fn) {
    console.error(`unknown bench section "${name}"; sections: ${Object.keys(all).join(', ')}`)
    process.exit(2)
  }
  await fn()
}
