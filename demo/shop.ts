/**
 * A tiny shop API for the example scenario (scenarios/example): items, login, cart and
 * checkout, answered from memory with a few milliseconds of simulated work.
 */
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface ShopServer {
  url: string
  server: Server
  close (): Promise<void>
}

export async function startShop (port = 0, host = '127.0.0.1'): Promise<ShopServer> {
  const carts = new Map<string, number[]>()
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const send = (status: number, body: unknown): void => {
        const text = JSON.stringify(body)
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
        res.end(text)
      }
      let body: any = {}
      try { body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : {} } catch { return send(400, { error: 'invalid JSON' }) }
      const token = (req.headers.authorization ?? '').replace(/^Bearer /, '')
      const url = new URL(req.url ?? '/', 'http://x')
      const work = 1 + Math.random() * 4
      setTimeout(() => {
        const m = /^\/items\/(\d+)$/.exec(url.pathname)
        if (req.method === 'GET' && url.pathname === '/items') return send(200, { items: Array.from({ length: 20 }, (_, i) => ({ id: i + 1, name: `item ${i + 1}` })) })
        if (req.method === 'GET' && m) return Number(m[1]) <= 100 ? send(200, { id: Number(m[1]), name: `item ${m[1]}`, price: 9.9 }) : send(404, { error: 'no such item' })
        if (req.method === 'GET' && url.pathname === '/health') return send(200, { ok: true })
        if (req.method === 'POST' && url.pathname === '/login') return send(200, { token: `t-${String(body.user ?? 'anon')}` })
        if (url.pathname === '/cart') {
          const cart = carts.get(token) ?? []
          if (req.method === 'POST') { cart.push(Number(body.item)); carts.set(token, cart); return send(201, { items: cart.length }) }
          return send(200, { items: cart })
        }
        if (req.method === 'POST' && url.pathname === '/checkout') { carts.delete(token); return send(200, { ordered: (body.items ?? []).length }) }
        send(404, { error: 'not found' })
      }, work)
    })
  })
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, host, resolve) })
  const a = server.address() as AddressInfo
  return {
    url: `http://${host}:${a.port}`,
    server,
    close: () => new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) })
  }
}
