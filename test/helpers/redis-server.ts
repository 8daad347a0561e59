/**
 * A private redis-server on a free loopback port, for tests that assert on server-wide INFO
 * counters or stop the server mid-run (never the shared one on 6379). No persistence.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createConnection } from 'node:net'
import { freePort } from '../../shared/ports.js'

export interface PrivateRedis {
  port: number
  url: string
  /** kills the server (SIGKILL: an abrupt outage) */
  kill (): Promise<void>
  /** starts it again on the same port (empty: no persistence) */
  restart (): Promise<void>
  stop (): Promise<void>
}

function waitForPort (port: number, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const sock = createConnection({ port, host: '127.0.0.1' })
      sock.once('connect', () => { sock.destroy(); resolve() })
      sock.once('error', () => {
        sock.destroy()
        if (Date.now() > until) reject(new Error(`redis-server did not listen on ${port}`))
        else setTimeout(attempt, 50)
      })
    }
    attempt()
  })
}

/** @param extra more redis-server arguments, e.g. ['--requirepass', 'secret'] */
export async function startRedis (port?: number, extra: string[] = []): Promise<PrivateRedis> {
  const p = port ?? await freePort()
  let child: ChildProcess | null = null
  const launch = async (): Promise<void> => {
    child = spawn('redis-server', ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning', ...extra], { stdio: 'ignore' })
    await waitForPort(p)
  }
  const kill = async (): Promise<void> => {
    const c = child as ChildProcess | null
    child = null
    if (!c || c.exitCode !== null) return
    await new Promise<void>((resolve) => { c.once('exit', () => resolve()); c.kill('SIGKILL') })
  }
  await launch()
  return { port: p, url: `redis://127.0.0.1:${p}/0`, kill, restart: launch, stop: kill }
}
