/**
 * `npm run bench -- names`: the bound on distinct request names, as the user runs it (the CLI).
 * Two runs of the same closed model against the benchmark server, back to back: the
 * reference requests one URL; the other requests /item/<random> with no `name`, a new row per
 * request without the bound. The CLI's own RSS is sampled from /proc every 250 ms.
 * Targets: the random-URL run's RSS flat over the second half (Theil-Sen slope under 1 MB/s)
 * and its requests/s at least 80 % of the reference's. Its peak RSS is above the reference's
 * by what the 1,000 rows hold (two HDR histograms each, ~0.2 MB a row: the recorder's second
 * and the run's totals); printed as a ratio and per row, a cost the bound caps.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startBenchServer, verdict } from './helpers.js'
import { theilSen } from './scale.js'

const BIN = fileURLToPath(new URL('../../bin/loadlens.js', import.meta.url))
const USERS = 20
const SECONDS = 20

function scenario (dir: string, random: boolean): string {
  const file = join(dir, random ? 'random.ts' : 'fixed.ts')
  writeFileSync(file, `import { defineScenario } from 'loadlens'
export default defineScenario({
  name: 'names-${random ? 'random' : 'fixed'}',
  users: { U: { tasks: { t: async (u) => { await u.http.get(${random ? '`/item/${Math.random().toString(36).slice(2)}`' : "'/item'"}) } } } }
})
`)
  return file
}

function rssMB (pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) / 1024 : null
  } catch {
    return null
  }
}

interface NamesRun { peakMB: number; slopeMBs: number; rps: number; rows: number; other: number }

async function runCli (file: string, url: string, out: string): Promise<NamesRun> {
  const child = spawn(process.execPath, [BIN, 'run', file, '--host', url, '-u', String(USERS), '-r', String(USERS), '-t', `${SECONDS}s`, '--headless', '-q', '--json', out, '--no-html'], { stdio: ['ignore', 'ignore', 'inherit'] })
  const t0 = Date.now()
  const samples: Array<[number, number]> = []
  const timer = setInterval(() => {
    const mb = rssMB(child.pid!)
    if (mb !== null) samples.push([(Date.now() - t0) / 1000, mb])
  }, 250)
  await new Promise<void>((resolve) => child.on('close', () => resolve()))
  clearInterval(timer)
  const result = JSON.parse(readFileSync(out, 'utf8'))
  const secondHalf = samples.filter(([t]) => t >= SECONDS / 2 && t <= SECONDS)
  return {
    peakMB: Math.max(...samples.map(s => s[1])),
    slopeMBs: theilSen(secondHalf),
    rps: result.totals.overall.requests / SECONDS,
    rows: result.totals.entries.length,
    other: result.totals.entries.find((e: { name: string }) => e.name === '(other)')?.requests ?? 0
  }
}

export async function names (): Promise<void> {
  console.log(`\n## names: ${USERS} users, no think time, ${SECONDS} s through the CLI: one URL against /item/<random> with no name (the bound: 1,000 rows)`)
  const dir = mkdtempSync(join(tmpdir(), 'loadlens-bench-names-'))
  const server = await startBenchServer({}, false)
  try {
    const fixed = await runCli(scenario(dir, false), server.url, join(dir, 'fixed.json'))
    const random = await runCli(scenario(dir, true), server.url, join(dir, 'random.json'))
    for (const [label, r] of [['one URL', fixed], ['random URLs', random]] as const) {
      console.log(`${label.padEnd(12)} ${r.rps.toFixed(0).padStart(6)} req/s, peak RSS ${r.peakMB.toFixed(0)} MB, second-half slope ${r.slopeMBs.toFixed(2)} MB/s, ${r.rows} rows${r.other ? ` (${r.other} requests under "(other)")` : ''}`)
    }
    const speed = random.rps / fixed.rps
    const perRow = (random.peakMB - fixed.peakMB) / Math.max(1, random.rows - fixed.rows)
    console.log(`peak RSS ratio ${(random.peakMB / fixed.peakMB).toFixed(2)} (${perRow.toFixed(2)} MB per row, capped by the bound); RSS slope ${random.slopeMBs.toFixed(2)} MB/s (target < 1: ${verdict(random.slopeMBs < 1)}); throughput ratio ${speed.toFixed(2)} (target >= 0.8: ${verdict(speed >= 0.8)})`)
  } finally {
    server.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
