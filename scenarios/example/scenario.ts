/**
 * An example scenario: a shop API browsed by many readers and a few buyers.
 * Run it:  npx loadlens run scenarios/example/scenario.ts --host http://127.0.0.1:8080 --profile smoke
 */
import { defineScenario, defineUser, between, constantPacing, task } from 'loadlens'

interface BuyerState { cart: number[]; token?: string }

const Reader = defineUser({
  weight: 3,
  wait: between(0.5, 1.5),
  tasks: {
    list_items: task(5, async (u) => {
      await u.http.get('/items', { check: (r) => Array.isArray(r.json().items) || 'no items list' })
    }),
    view_item: task(3, async (u) => {
      const id = u.data.randomInt(1, 100)
      await u.http.get(`/items/${id}`, { name: '/items/[id]' })
    }),
    health: async (u) => {
      await u.http.get('/health')
    }
  }
})

const Buyer = defineUser({
  weight: 1,
  wait: constantPacing(2),
  state: (): BuyerState => ({ cart: [] }),
  onStart: async (u) => {
    const res = await u.http.post('/login', { json: { user: u.data.uniqueId('buyer') } })
    if (res.ok) u.state.token = res.json().token
    u.http.headers.authorization = `Bearer ${u.state.token ?? 'anonymous'}`
  },
  tasks: {
    add_to_cart: {
      weight: 3,
      run: async (u) => {
        const id = u.data.randomInt(1, 100)
        const res = await u.http.post('/cart', { json: { item: id }, expect: [200, 201] })
        if (res.ok) u.state.cart.push(id)
      }
    },
    checkout: {
      weight: 1,
      run: async (u) => {
        await u.measure('checkout end-to-end', async () => {
          await u.http.get('/cart')
          await u.http.post('/checkout', { json: { items: u.state.cart } })
        })
        u.state.cart = []
      }
    }
  }
})

export default defineScenario({
  name: 'example',
  description: 'A shop API: readers browse items, buyers log in, fill a cart and check out.',
  host: 'http://127.0.0.1:8080',
  users: { Reader, Buyer },
  defaultProfile: 'smoke',
  profiles: {
    smoke: { users: 10, spawnRate: 5, runTime: '20s', expect: { failureRatio: 0, p95: 500, p99: 1000 } },
    ramp: {
      stages: [{ duration: '30s', users: 50 }, { duration: '1m', users: 50 }, { duration: '15s', users: 0 }],
      expect: { failureRatio: 0.01, p95: 500, byName: { '/checkout': { p95: 800 } } }
    },
    open: { arrivalRate: { rate: 20, maxVUs: 100 }, runTime: '30s', expect: { failureRatio: 0.01, p99: 1000 } }
  }
})
