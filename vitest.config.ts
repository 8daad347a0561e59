import { defineConfig } from 'vitest/config'
import { fileURLToPath } from 'node:url'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * Two groups, one after the other. First the files that may share the machine, three at a time
 * (most of them wait on servers and timers more than they compute).
 * Then, one file at a time with the two cores to themselves, the files whose result depends on
 * the machine being quiet: timings the generator measures, probe costs and the demo runs whose
 * diagnosis a busy host would change (a host at 90 % CPU is a finding).
 */
export const ALONE = [
  'test/correlate-demo.test.ts',
  'test/demo-fastapi.test.ts',
  'test/demo-locust.test.ts',
  'test/web-live-findings.test.ts',
  'test/runner.test.ts',
  'test/scale-workers.test.ts',
  'test/load-thread.test.ts',
  'test/generator-distortion.test.ts',
  'test/probe-timing.test.ts',
  'test/probes-scheduler.test.ts',
  'test/probes-host.test.ts',
  'test/probes-pg.test.ts'
]

const alias = { loadlens: fileURLToPath(new URL('./index.ts', import.meta.url)) }
// compiled scenarios are kept in a folder of the test runs' own, not the user's ~/.cache
const common = { testTimeout: 60_000, hookTimeout: 60_000, pool: 'forks' as const, env: { LOADLENS_CACHE_DIR: join(tmpdir(), 'loadlens-test-cache') } }

export default defineConfig({
  resolve: { alias },
  test: {
    reporters: ['default'],
    projects: [
      {
        resolve: { alias },
        test: { ...common, name: 'shared', include: ['test/**/*.test.ts'], exclude: ALONE, maxWorkers: 3, sequence: { groupOrder: 0 } }
      },
      {
        resolve: { alias },
        test: { ...common, name: 'alone', include: ALONE, fileParallelism: false, sequence: { groupOrder: 1 } }
      }
    ]
  }
})
