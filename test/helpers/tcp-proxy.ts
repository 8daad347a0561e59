/**
 * A TCP proxy on a free loopback port (node:net) in front of a real service, so a test can
 * cut the connection mid-run (and restore it) without stopping the shared service.
 */
import { createConnection, createServer } from 'node:net'
import type { Server, Socket } from 'node:net'

export interface TcpProxy {
  port: number
  /** drops every connection and refuses new ones */
  cut (): Promise<void>
  /** accepts connections again on the same port */
  restore (): Promise<void>
  close (): Promise<void>
}

export async function startTcpProxy (targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  let server: Server
  let port = 0
  const listen = (): Promise<void> => new Promise((resolve, reject) => {
    server = createServer((client) => {
      const upstream = createConnection({ port: targetPort, host: targetHost })
      sockets.add(client)
      sockets.add(upstream)
      client.pipe(upstream).pipe(client)
      const drop = (): void => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream) }
      client.on('error', drop).on('close', drop)
      upstream.on('error', drop).on('close', drop)
    })
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => {
      port = (server.address() as { port: number }).port
      resolve()
    })
  })
  const cut = (): Promise<void> => new Promise((resolve) => {
    for (const s of sockets) s.destroy()
    sockets.clear()
    server.close(() => resolve())
  })
  await listen()
  return { get port () { return port }, cut, restore: listen, close: cut }
}
