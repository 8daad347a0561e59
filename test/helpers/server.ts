/** Throw-away HTTP servers on a free loopback port, for tests. */
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse, Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface TestServer {
  url: string
  port: number
  server: Server
  /** every request seen: method, url, headers, body */
  seen: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: Buffer; at: number }>
  close (): Promise<void>
}

export type Handler = (req: IncomingMessage & { body: Buffer }, res: ServerResponse) => unknown

export async function startServer (handler: Handler, options: { record?: boolean } = {}): Promise<TestServer> {
  const seen: TestServer['seen'] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      if (options.record !== false) seen.push({ method: req.method!, url: req.url!, headers: req.headers, body, at: Date.now() })
      Promise.resolve(handler(Object.assign(req, { body }), res)).catch((err) => {
        res.statusCode = 500
        res.end(String(err))
      })
    })
  })
  server.keepAliveTimeout = 5000
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    seen,
    close: () => new Promise<void>(resolve => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  }
}

export const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms))

export function json (res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status
  res.setHeader('content-type', 'application/json')
  res.end(JSON.stringify(body))
}
