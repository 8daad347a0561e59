/**
 * The sync demo target (the third team's: FastAPI sync handlers on two uvicorn processes, a
 * psycopg2 pool of 4 per process, Redis as cache, broker and Celery result backend, a Celery
 * thread pool) runs the Mluv.Me scenario end to end, and the probes see it as a user's system
 * would be seen: the app is a process tree whose 8 sessions are told from the workers', the
 * voice flows finish through the result backend, and the job polls' misses on the result
 * backend are told apart from the cache's. Its diagnosis at every load and fault is checked on
 * the recorded corpus (test/corpus.test.ts), where the whole target is held out.
 */
import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { runDemo } from '../app/demo.js'
import type { DemoTarget } from '../demo/mluvme/launch.js'
import { SYNC_POOL_PER_PROCESS, SYNC_PROCESSES } from '../demo/sync/launch.js'

describe('the sync demo target', () => {
  it('serves the scenario from two processes; its sessions, result-backend polls and cache are each seen for what they are', async () => {
    let target: DemoTarget | undefined
    let log = ''
    const out = await runDemo({
      targetKind: 'sync', users: 10, spawnRate: 5, runTime: '12s', quiet: true, handleSignals: false, noHtml: true,
      outDir: `/tmp/loadlens-demo-sync-${process.pid}`,
      onTarget: (t) => { target = t },
      beforeStop: (t) => { log = readFileSync(t.logFile, 'utf8') }
    })
    const r = out.result
    expect(target!.kind).toBe('sync')
    expect(target!.poolSize).toBe(SYNC_POOL_PER_PROCESS * SYNC_PROCESSES)
    // every request answered, every voice flow finished (its result read from the result backend)
    expect(r.totals.overall.failures).toBe(0)
    const flow = r.totals.entries.find(e => e.key === 'FLOW voice message end-to-end')!
    expect(flow.requests).toBeGreaterThan(10)
    expect(flow.failures).toBe(0)
    // the target is a process tree: uvicorn's supervisor and its two workers
    const status = (p: string): any => r.probes.status.find(s => s.probe === p)!
    expect(status('target').facts.peakProcesses).toBeGreaterThanOrEqual(1 + SYNC_PROCESSES)
    expect(r.probes.series.some(s => s.id === 'target.cpu_busiest')).toBe(true)
    // the app's sessions (from both processes' sockets) apart from the worker threads' own
    const attribution = status('pg').facts.attribution
    expect(attribution.method).toBe('processes')
    expect(attribution.owners.app.peakSessions).toBe(SYNC_POOL_PER_PROCESS * SYNC_PROCESSES)
    expect(attribution.owners.workers.peakSessions).toBeGreaterThan(0)
    // the polls of unfinished tasks missed on the result backend; those misses are not the cache's
    const redis = status('redis').facts
    expect(redis.keyMisses).toBe('by key')
    expect(redis.celeryMissesLeftOut).toBeGreaterThan(5)
    expect(r.checklist!.find(i => i.id === 'cache')!.state).toBe('pass')
    expect(log).not.toMatch(/ ERROR /)
  }, 180_000)
})
