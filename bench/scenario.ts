/**
 * The scenario of the `workers` bench, loaded from its file by every worker thread:
 * GET / with LOADLENS_BENCH_THINK_S seconds of think time, and LOADLENS_BENCH_WORK items of
 * scenario work per task (build a JSON payload, read it back, check the response), so that
 * the generator's CPU per request can be made larger than the server's.
 */
import { defineScenario, constant } from '../scenarios/define.js'

const think = Number(process.env.LOADLENS_BENCH_THINK_S ?? 0)
const work = Number(process.env.LOADLENS_BENCH_WORK ?? 0)

function payload (n: number, seed: number): string {
  const items = []
  for (let i = 0; i < n; i++) items.push({ id: seed + i, name: `item-${seed}-${i}`, price: i * 1.25, tags: ['a', 'b', String(i % 7)] })
  return JSON.stringify({ seed, items })
}

export default defineScenario({
  name: 'bench-workers',
  users: {
    U: {
      wait: constant(think),
      state: () => ({ n: 0 }),
      tasks: {
        get: async (u) => {
          if (work > 0) {
            const sent = JSON.parse(payload(work, u.state.n++)) as { items: unknown[] }
            await u.http.get('/', { check: (r) => (sent.items.length === work && r.json().ok === true) || 'unexpected body' })
          } else {
            await u.http.get('/')
          }
        }
      }
    }
  }
})
