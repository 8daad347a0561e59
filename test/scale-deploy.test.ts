/**
 * The Kubernetes manifests, without Kubernetes: the shell commands of the Indexed Job and of
 * the merge Job are taken from deploy/kubernetes/*.yaml and run here as the pods would run
 * them (JOB_COMPLETION_INDEX set per pod, `loadlens` on the PATH), against a loopback server.
 * This is also the "by hand" recipe of deploy/README.md.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { spawn } from 'node:child_process'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { BIN, ROOT } from './helpers/cli.js'
import type { CliResult } from './helpers/cli.js'
import type { TestServer } from './helpers/server.js'
import { delayServer } from './helpers/scale.js'
import type { RunResult } from '../shared/types.js'

const MANIFEST = join(ROOT, 'deploy', 'kubernetes', 'loadlens-job.yaml')
const MERGE_MANIFEST = join(ROOT, 'deploy', 'kubernetes', 'loadlens-merge-job.yaml')

/** The container's `args: - >-` folded command, as the shell receives it. */
function foldedArgs (yaml: string): string {
  const lines = yaml.split('\n')
  const at = lines.findIndex(l => /^\s*- >-\s*$/.test(l))
  expect(at).toBeGreaterThan(0)
  const indent = lines[at]!.indexOf('-')
  const out: string[] = []
  for (const l of lines.slice(at + 1)) {
    if (l.trim() === '' || l.search(/\S/) <= indent) break
    out.push(l.trim())
  }
  return out.join(' ')
}

function sh (command: string, env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }) })
  })
}

let server: TestServer
let dir: string
let env: Record<string, string>

beforeAll(async () => {
  server = await delayServer()
  dir = mkdtempSync(join(tmpdir(), 'loadlens-k8s-'))
  mkdirSync(join(dir, 'results'))
  mkdirSync(join(dir, 'bin'))
  // `loadlens` on the PATH, as in the image
  writeFileSync(join(dir, 'bin', 'loadlens'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`)
  chmodSync(join(dir, 'bin', 'loadlens'), 0o755)
  writeFileSync(join(dir, 'scenario.ts'), `import { defineScenario, constant } from 'loadlens'
export default defineScenario({
  name: 'k8s-test',
  users: { U: { wait: constant(0.05), state: () => ({ n: 0 }), tasks: { t: async (u) => { if (u.state.n++ < 2) await u.http.get('/fast') } } } },
  profiles: { production: { users: 6, spawnRate: 100, runTime: '2s' } }
})
`)
  env = { PATH: `${join(dir, 'bin')}:${process.env.PATH}`, TARGET: server.url }
})
afterAll(async () => { await server?.close() })

const local = (command: string): string => command.replaceAll('/scenario/scenario.ts', join(dir, 'scenario.ts')).replaceAll('/results/', `${join(dir, 'results')}/`)

describe('deploy/kubernetes', () => {
  it('the Indexed Job is consistent: N completions, N in parallel, N segments', () => {
    const yaml = readFileSync(MANIFEST, 'utf8')
    expect(yaml).toMatch(/completionMode: Indexed/)
    const n = Number(/completions: (\d+)/.exec(yaml)![1])
    expect(Number(/parallelism: (\d+)/.exec(yaml)![1])).toBe(n)
    expect(Number(/name: SEGMENTS\s+value: "(\d+)"/.exec(yaml)![1])).toBe(n)
    expect(foldedArgs(yaml)).toMatch(/--segment "\$SEGMENT" --start-at "\$START_AT"/)
  })

  it("the pods' command runs the segments together and the merge Job merges them", async () => {
    const run = local(foldedArgs(readFileSync(MANIFEST, 'utf8')))
    const startAt = new Date(Date.now() + 6000).toISOString()
    const pods = await Promise.all([0, 1].map(i => sh(run, { ...env, JOB_COMPLETION_INDEX: String(i), SEGMENTS: '2', START_AT: startAt })))
    for (const p of pods) {
      expect(p.stderr).not.toMatch(/loadlens: (?!warning)/)
      expect(p.code).toBe(0)
    }
    const seg = (i: number): RunResult => JSON.parse(readFileSync(join(dir, 'results', `segment-${i}-of-2.json`), 'utf8'))
    expect([seg(1).meta.segment, seg(2).meta.segment]).toEqual(['1/2', '2/2'])
    expect(seg(1).meta.workers).toBe(Math.max(1, availableParallelism()))
    expect(seg(1).meta.startedAt).toBeGreaterThanOrEqual(Date.parse(startAt) - 1)

    const merge = await sh(local(foldedArgs(readFileSync(MERGE_MANIFEST, 'utf8'))), env)
    expect(merge.stderr).toBe('')
    expect(merge.code).toBe(0)
    const merged = JSON.parse(readFileSync(join(dir, 'results', 'merged.json'), 'utf8')) as RunResult
    expect(merged.totals.overall.requests).toBe(6 * 2)
    expect(merged.meta.segments!.map(s => s.segment)).toEqual(['1/2', '2/2'])
    expect(existsSync(join(dir, 'results', 'merged.html'))).toBe(true)
  })
})
