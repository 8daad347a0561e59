/** Scenario files and a delay server for the scale tests (segments, merge, worker threads). */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startServer } from './server.js'
import type { TestServer } from './server.js'

/** requests per user in the closed scenario; the last of them goes to /slow */
export const PER_USER = 4
export const FAST_MS = 20
export const SLOW_MS = 200

/**
 * closed.ts: every user makes exactly PER_USER requests (3 to /fast, then 1 to /slow) and
 * then idles until the end, so the totals are known in advance whatever the timing.
 * open.ts: 20 iterations/s for 2 s, then none: exactly 40 iterations of one request each.
 * busy.ts: the user with id 1 burns its thread's CPU (to saturate one worker thread).
 * loop.ts: one request to /fast per task, no wait.
 */
export function scaleScenarios (): { dir: string; closed: string; open: string; busy: string; loop: string } {
  const dir = mkdtempSync(join(tmpdir(), 'loadlens-scale-'))
  const closed = join(dir, 'closed.ts')
  writeFileSync(closed, `import { defineScenario, constant } from 'loadlens'
export default defineScenario({
  name: 'scale-closed',
  users: {
    U: {
      wait: constant(0.05),
      state: () => ({ n: 0 }),
      tasks: {
        t: async (u) => {
          const n = u.state.n++
          if (n < ${PER_USER}) await u.http.get(n === ${PER_USER - 1} ? '/slow' : '/fast')
        }
      }
    }
  },
  profiles: { nine: { users: 9, spawnRate: 100, runTime: '3s' } }
})
`)
  const open = join(dir, 'open.ts')
  writeFileSync(open, `import { defineScenario } from 'loadlens'
export default defineScenario({
  name: 'scale-open',
  users: { U: { tasks: { t: async (u) => { await u.http.get('/fast') } } } },
  profiles: {
    forty: { arrivalRate: { rate: 20, preAllocatedVUs: 6, maxVUs: 60, stages: [{ duration: '2s', target: 20 }, { duration: '0s', target: 0 }, { duration: '1s', target: 0 }] } }
  }
})
`)
  const busy = join(dir, 'busy.ts')
  writeFileSync(busy, `import { defineScenario, constant } from 'loadlens'
export default defineScenario({
  name: 'scale-busy',
  users: {
    U: {
      wait: constant(0),
      tasks: {
        t: async (u) => {
          if (u.id === 1) { const end = Date.now() + 300; while (Date.now() < end) { /* burn */ } }
          await u.http.get('/fast')
          if (u.id !== 1) await u.sleep(0.05)
        }
      }
    }
  }
})
`)
  const loop = join(dir, 'loop.ts')
  writeFileSync(loop, `import { defineScenario } from 'loadlens'
export default defineScenario({
  name: 'scale-loop',
  users: { U: { tasks: { t: async (u) => { await u.http.get('/fast') } } } }
})
`)
  return { dir, closed, open, busy, loop }
}

/** A loopback server: /slow answers after SLOW_MS, everything else after FAST_MS. */
export function delayServer (): Promise<TestServer> {
  return startServer((req, res) => {
    setTimeout(() => res.end('ok'), req.url === '/slow' ? SLOW_MS : FAST_MS)
  }, { record: false })
}
