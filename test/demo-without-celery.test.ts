/**
 * The demo target on a machine without Celery for its Python: it says so, processes voice jobs
 * inside the API process, and the Mluv.Me scenario runs clean against it. (Each fault's
 * symptom, read straight from the services, is checked in test/correlate-demo.test.ts, in
 * the same runs as its diagnosis.)
 */
import { afterAll, describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { startDemoTarget } from '../demo/mluvme/launch.js'
import { bundledScenario } from '../scenarios/load.js'
import { runTest } from '../app/run.js'
import { tableStats } from '../reports/stats.js'

const dir = mkdtempSync(join(tmpdir(), 'loadlens-demo-no-celery-'))

afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

describe('the demo target without Celery for the Python', () => {
  it('says so, processes voice jobs in-process, logs no ERROR or CRITICAL line', async () => {
    let said = ''
    const stream = new PassThrough()
    stream.on('data', (c: Buffer) => { said += c.toString() })
    const target = await startDemoTarget({ logDir: dir, celery: 'auto', python: '/nonexistent/python3', quiet: false, stream })
    try {
      expect(target.celery).toBe(false)
      expect(target.workerPid).toBeUndefined()
      expect(said).toMatch(/Celery is not installed for \/nonexistent\/python3 .*voice jobs are processed inside the API process/)
      const run = await runTest({ scenario: bundledScenario('mluvme'), host: target.url, users: 10, spawnRate: 10, runTime: '5s', quiet: true, outDir: dir, handleSignals: false })
      expect(tableStats(run.result).overall.failures).toBe(0)
      const flow = run.result.totals.entries.find(e => e.key === 'FLOW voice message end-to-end')!
      expect(flow.requests).toBeGreaterThan(5)
      expect(flow.failures).toBe(0)
    } finally {
      await target.stop()
    }
    const log = readFileSync(target.logFile, 'utf8')
    expect(log).toMatch(/WARNING mluvme\.api: Celery is not configured/)
    expect(log).not.toMatch(/ (ERROR|CRITICAL) /)
  }, 90_000)
})
