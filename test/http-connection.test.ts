/**
 * loadlens's own HTTP/1.1 connection (loadgen/connection.ts) against real servers on
 * loopback: node's http server for the usual responses, and raw TCP servers that write
 * exactly the bytes a case needs (split reads, chunked bodies, bodies until close, 1xx,
 * garbage, a keep-alive connection closed under a request, stalls).
 */
import { afterEach, describe, expect, it } from 'vitest'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { HttpConnection } from '../loadgen/connection.js'
import type { ConnectionHandler, ConnectionRequest } from '../loadgen/connection.js'
import { classifyError } from '../loadgen/http.js'
import { spawn } from 'node:child_process'
import { startServer, sleep } from './helpers/server.js'
import { PYTHON } from './helpers/python.js'

interface Got { status: number; headers: Record<string, string>; body: string; error: (Error & { code?: string }) | null }

/** Collects one response the way loadgen/http.ts's handler does. */
function send (c: HttpConnection, req: Partial<ConnectionRequest> & { path: string }): Promise<Got> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let status = 0
    let headers: Record<string, string> = {}
    const handler: ConnectionHandler = {
      onConnect () {},
      onHeaders (s, raw) {
        status = s
        headers = {}
        for (let i = 0; i < raw.length; i += 2) headers[String(raw[i]).toLowerCase()] = String(raw[i + 1])
        return true
      },
      onData (chunk) { chunks.push(chunk); return true },
      onComplete () { resolve({ status, headers, body: Buffer.concat(chunks).toString(), error: null }) },
      onError (err) { resolve({ status: 0, headers, body: Buffer.concat(chunks).toString(), error: err }) }
    }
    c.dispatch({ method: 'GET', headers: {}, body: null, headersTimeout: 2000, bodyTimeout: 2000, ...req }, handler)
  })
}

const closers: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of closers.splice(0)) await c()
})

function connection (port: number, keepAliveMs = 4000): HttpConnection {
  const c = new HttpConnection(new URL(`http://127.0.0.1:${port}`), { connectTimeoutMs: 2000, keepAliveMs })
  closers.push(() => c.destroy())
  return c
}

/** A TCP server: `onRequest(socket, n, text)` for each request head it receives (n counts per connection). */
async function rawServer (onRequest: (socket: net.Socket, n: number, head: string, connection: number) => void): Promise<{ port: number; connections: () => number }> {
  let connections = 0
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    const id = ++connections
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let buf = ''
    let n = 0
    socket.on('data', (d) => {
      buf += d.toString('latin1')
      let i: number
      while ((i = buf.indexOf('\r\n\r\n')) >= 0) {
        const head = buf.slice(0, i)
        const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0)
        if (buf.length < i + 4 + length) break
        buf = buf.slice(i + 4 + length)
        onRequest(socket, ++n, head, id)
      }
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  closers.push(() => new Promise<void>(resolve => { for (const s of sockets) s.destroy(); server.close(() => resolve()) }))
  return { port: (server.address() as AddressInfo).port, connections: () => connections }
}

describe('HttpConnection', () => {
  it('sends method, path, headers and body; reuses one keep-alive connection', async () => {
    const s = await startServer((req, res) => {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ method: req.method, url: req.url, host: req.headers.host, x: req.headers['x-user'], body: req.body.toString(), length: req.headers['content-length'] ?? null }))
    })
    closers.push(() => s.close())
    let sockets = 0
    s.server.on('connection', () => { sockets++ })
    const c = connection(s.port)
    const a = await send(c, { method: 'POST', path: '/items?q=1', headers: { 'x-user': 'u1', 'content-type': 'application/json' }, body: JSON.stringify({ word: 'ahoj' }) })
    expect(a.error).toBe(null)
    expect(a.status).toBe(200)
    expect(a.headers['content-type']).toBe('application/json')
    expect(JSON.parse(a.body)).toEqual({ method: 'POST', url: '/items?q=1', host: `127.0.0.1:${s.port}`, x: 'u1', body: '{"word":"ahoj"}', length: '15' })
    // a POST without a body says so; a GET sends no content-length
    expect(JSON.parse((await send(c, { method: 'POST', path: '/empty' })).body).length).toBe('0')
    expect(JSON.parse((await send(c, { path: '/get' })).body).length).toBe(null)
    // four requests, one connection
    await send(c, { path: '/again' })
    expect(s.seen.length).toBe(4)
    expect(sockets).toBe(1)
    // one headers object changed between requests (a token set after logging in) is sent as it is now
    const headers: Record<string, string> = { 'x-user': 'u1' }
    await send(c, { path: '/h1', headers })
    headers['x-user'] = 'u2'
    expect(JSON.parse((await send(c, { path: '/h2', headers })).body).x).toBe('u2')
  })

  it('queues requests sent together and answers each in order', async () => {
    const s = await startServer((req, res) => { setTimeout(() => res.end(req.url), 5) })
    closers.push(() => s.close())
    const c = connection(s.port)
    const got = await Promise.all([1, 2, 3, 4].map(i => send(c, { path: `/n${i}` })))
    expect(got.map(g => g.body)).toEqual(['/n1', '/n2', '/n3', '/n4'])
  })

  it('reads bodies split across reads, chunked bodies and bodies that run until close', async () => {
    const big = 'x'.repeat(200_000)
    const srv = await rawServer((socket, _n, head) => {
      if (head.startsWith('GET /split')) {
        // headers in one write, the body in three, with pauses
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\nabc')
        setTimeout(() => socket.write('def'), 20)
        setTimeout(() => socket.write('ghi'), 40)
      } else if (head.startsWith('GET /chunked')) {
        socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4\r\nWiki\r\n')
        setTimeout(() => socket.write('5\r\npedia\r\n0\r\nx-trailer: 1\r\n\r\n'), 20)
      } else if (head.startsWith('GET /until-close')) {
        socket.write('HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nall of ')
        setTimeout(() => socket.end('this'), 20)
      } else if (head.startsWith('GET /big')) {
        socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${big.length}\r\n\r\n${big}`)
      } else if (head.startsWith('GET /folded')) {
        socket.write('HTTP/1.1 200 OK\r\nx-a: one\r\n  two\r\ncontent-length: 2\r\n\r\nok')
      } else {
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok')
      }
    })
    const c = connection(srv.port)
    expect((await send(c, { path: '/split' })).body).toBe('abcdefghi')
    const chunked = await send(c, { path: '/chunked' })
    expect(chunked.body).toBe('Wikipedia')
    expect((await send(c, { path: '/big' })).body.length).toBe(big.length)
    expect((await send(c, { path: '/folded' })).body).toBe('ok')
    const close = await send(c, { path: '/until-close' })
    expect(close.error).toBe(null)
    expect(close.body).toBe('all of this')
    // the server closed it: the next request opens a new connection
    expect((await send(c, { path: '/after' })).body).toBe('ok')
    expect(srv.connections()).toBe(2)
  })

  it('HEAD, 204, 304 and a 1xx before the response have no body to wait for', async () => {
    const srv = await rawServer((socket, _n, head) => {
      if (head.startsWith('HEAD')) socket.write('HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n')
      else if (head.startsWith('GET /204')) socket.write('HTTP/1.1 204 No Content\r\n\r\n')
      else if (head.startsWith('GET /304')) socket.write('HTTP/1.1 304 Not Modified\r\ncontent-length: 50\r\n\r\n')
      else if (head.startsWith('GET /103')) socket.write('HTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 4\r\n\r\ndone')
    })
    const c = connection(srv.port)
    const h = await send(c, { method: 'HEAD', path: '/h' })
    expect([h.status, h.body, h.headers['content-length']]).toEqual([200, '', '1000'])
    expect((await send(c, { path: '/204' })).status).toBe(204)
    expect((await send(c, { path: '/304' })).status).toBe(304)
    const early = await send(c, { path: '/103' })
    expect([early.status, early.body]).toEqual([201, 'done'])
    expect(srv.connections()).toBe(1)
  })

  it('a GET that meets a keep-alive connection the server dropped is sent again; a POST fails', async () => {
    // the server answers the first request of each connection and drops it at the second
    const srv = await rawServer((socket, n) => {
      if (n === 1) socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok')
      else socket.destroy()
    })
    const c = connection(srv.port)
    expect((await send(c, { path: '/1' })).body).toBe('ok')
    const again = await send(c, { path: '/2' })
    expect(again.error).toBe(null)
    expect(again.body).toBe('ok')
    expect(srv.connections()).toBe(2)
    const post = await send(c, { method: 'POST', path: '/3', body: 'x' })
    expect(post.status).toBe(0)
    expect(classifyError(post.error!, 2000).kind).toBe('reset')
  })

  it('a response with connection: close ends the connection; the next request opens another', async () => {
    const srv = await rawServer((socket) => { socket.end('HTTP/1.1 200 OK\r\nConnection: close\r\ncontent-length: 2\r\n\r\nok') })
    const c = connection(srv.port)
    expect((await send(c, { path: '/1' })).body).toBe('ok')
    const second = await send(c, { method: 'POST', path: '/2', body: 'x' })
    // a POST is never sent twice: it went out on a new connection, not the closed one
    expect([second.error, second.body]).toEqual([null, 'ok'])
    expect(srv.connections()).toBe(2)
  })

  it('honours Keep-Alive: timeout from the server and closes idle connections itself', async () => {
    const srv = await rawServer((socket) => { socket.write('HTTP/1.1 200 OK\r\nkeep-alive: timeout=1\r\ncontent-length: 2\r\n\r\nok') })
    const c = connection(srv.port)
    await send(c, { path: '/1' })
    // timeout=1: the client closes a second before the server would, i.e. at once
    await sleep(250)
    await send(c, { path: '/2' })
    expect(srv.connections()).toBe(2)
  })

  it('times out waiting for headers and on a stalled body; refused and garbage fail cleanly', async () => {
    const srv = await rawServer((socket, _n, head) => {
      if (head.startsWith('GET /stall-body')) socket.write('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc')
      else if (head.startsWith('GET /garbage')) socket.end('HTTP/1.1 abc\r\n\r\n')
      // /silent: never answers
    })
    const c = connection(srv.port)
    const t0 = performance.now()
    const silent = await send(c, { path: '/silent', headersTimeout: 300 })
    const took = performance.now() - t0
    expect(silent.error?.code).toBe('UND_ERR_HEADERS_TIMEOUT')
    expect(classifyError(silent.error!, 300)).toEqual({ kind: 'timeout', message: 'timeout after 300 ms (no response headers)' })
    // the shared sweep runs every 100 ms
    expect(took).toBeGreaterThanOrEqual(290)
    expect(took).toBeLessThan(1000)
    const stalled = await send(c, { path: '/stall-body', bodyTimeout: 300 })
    expect(stalled.error?.code).toBe('UND_ERR_BODY_TIMEOUT')
    const garbage = await send(c, { path: '/garbage' })
    expect(garbage.status).toBe(0)
    expect(garbage.error!.message).toMatch(/not valid HTTP/)
    // after all that, the connection still works
    const ok = await rawServer((socket) => { socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok') })
    expect((await send(connection(ok.port), { path: '/' })).body).toBe('ok')

    const dead = await rawServer(() => {})
    closers.pop()!() // closes it: the port now refuses
    await sleep(50)
    const refused = await send(connection(dead.port), { path: '/' })
    expect(classifyError(refused.error!, 2000).kind).toBe('refused')
  })

  it('times out connecting to a listener whose accept queue is full', async () => {
    // a listening socket that never accepts, with a backlog of 0 (node's servers accept at
    // once): Linux queues one connection, then drops the SYNs of the next ones, which hang
    // in connect as they would against a host that does not answer, all on loopback
    const listener = spawn(PYTHON, ['-c', 'import socket, sys, time\ns = socket.socket()\ns.bind(("127.0.0.1", 0))\ns.listen(0)\nprint(s.getsockname()[1], flush=True)\ntime.sleep(60)'], { stdio: ['ignore', 'pipe', 'inherit'] })
    closers.push(() => { listener.kill() })
    const port = await new Promise<number>((resolve, reject) => {
      listener.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())))
      listener.once('exit', (code) => reject(new Error(`listener exited ${code}`)))
    })
    // fill the accept queue: connections the kernel completes but nobody accepts
    const fillers: net.Socket[] = []
    closers.push(() => { for (const f of fillers) f.destroy() })
    for (let i = 0; i < 2; i++) {
      const f = net.connect(port, '127.0.0.1')
      f.on('error', () => {})
      fillers.push(f)
    }
    await sleep(200)
    const c = new HttpConnection(new URL(`http://127.0.0.1:${port}`), { connectTimeoutMs: 400, keepAliveMs: 4000 })
    closers.push(() => c.destroy())
    const t0 = performance.now()
    const got = await send(c, { path: '/', headersTimeout: 5000 })
    const took = performance.now() - t0
    expect(got.error?.code).toBe('UND_ERR_CONNECT_TIMEOUT')
    expect(classifyError(got.error!, 5000).kind).toBe('timeout')
    // the shared sweep runs every 100 ms; the headers timeout (5 s) did not start
    expect(took).toBeGreaterThanOrEqual(390)
    expect(took).toBeLessThan(1500)
  })

  it('refuses header values and paths that would break the request, and keeps going', async () => {
    const s = await startServer((_req, res) => res.end('fine'))
    closers.push(() => s.close())
    const c = connection(s.port)
    const bad = await send(c, { path: '/', headers: { 'x-a': 'one\r\nx-injected: 1' } })
    expect(bad.error!.message).toMatch(/invalid value of header x-a/)
    const badPath = await send(c, { path: '/a b' })
    expect(badPath.error!.message).toMatch(/invalid request path/)
    expect((await send(c, { path: '/' })).body).toBe('fine')
    expect(s.seen.length).toBe(1)
  })

  it('close() waits for queued requests; destroy() fails them at once', async () => {
    const s = await startServer((_req, res) => { setTimeout(() => res.end('done'), 100) })
    closers.push(() => s.close())
    const c = connection(s.port)
    const a = send(c, { path: '/a' })
    const closed = c.close()
    expect((await a).body).toBe('done')
    await closed
    expect((await send(c, { path: '/late' })).error!.message).toMatch(/closed/)
    const d = connection(s.port)
    const pending = send(d, { path: '/b' })
    await sleep(20)
    await d.destroy()
    expect((await pending).error!.message).toMatch(/destroyed/)
  })
})
