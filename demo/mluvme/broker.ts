/**
 * The demo's own Celery broker: a private redis-server on a free loopback port (no
 * persistence), so that the cache's Redis server sees only cache traffic, as in a deployment
 * with a dedicated broker. Redis counts keyspace hits and misses for the whole server: a
 * broker on the cache's server would add the worker's and the probes' lookups to the cache's
 * hit rate.
 *
 * redis-server runs under a small sh that is the leader of its own process group (the
 * launcher stops the group like the API's and the worker's) and stops redis-server when the
 * launcher is gone (its parent changes), so a launcher that dies leaves no server behind.
 */
import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { Redis } from 'ioredis'
import { DemoStartError } from '../../shared/errors.js'
import { freePort } from '../../shared/ports.js'
import { killGroup, tail } from './children.js'

/** The db of the private broker (the server is the demo's alone). */
export const PRIVATE_BROKER_DB = 0

export interface PrivateBroker {
  /** redis://127.0.0.1:<port>/0 */
  url: string
  port: number
  /** the redis-server's pid */
  pid: number
  /** the sh that runs it, leader of the process group to stop */
  child: ChildProcess
}

export interface PrivateBrokerOptions {
  /** environment of the server (its PATH finds redis-server) */
  env?: NodeJS.ProcessEnv
  /** where the server's output goes */
  logFile: string
  /** the server stops when this process is gone (default: this process) */
  parentPid?: number
  signal?: AbortSignal
  /** how long the server may take to answer PING (default 10 s) */
  readyTimeoutMs?: number
  /** what the server is for, in messages (default "the demo's Celery broker") */
  what?: string
}

/**
 * Runs redis-server "$@" and waits; stops it when this sh's parent is no longer
 * $LOADLENS_PARENT_PID (read from /proc, or whether that pid is alive where there is no /proc).
 */
const WATCH = `
parent_alive() {
  if [ -r /proc/$$/stat ]; then set -- $(cat /proc/$$/stat); [ "$4" = "$LOADLENS_PARENT_PID" ]
  else kill -0 "$LOADLENS_PARENT_PID" 2>/dev/null; fi
}
redis-server "$@" &
server=$!
trap 'kill -TERM $server 2>/dev/null' TERM INT HUP
while parent_alive && kill -0 $server 2>/dev/null; do sleep 1; done
kill -TERM $server 2>/dev/null
wait $server
`

/** Is redis-server on the PATH of `env`? */
export function redisServerAvailable (env: NodeJS.ProcessEnv = process.env): boolean {
  const r = spawnSync('redis-server', ['--version'], { env, encoding: 'utf8', timeout: 10_000 })
  return !r.error && r.status === 0
}

/** Waits until the server answers PING; resolves with its pid, or null when the sh exited first (e.g. the port was taken). */
async function ready (child: ChildProcess, port: number, timeoutMs: number, what: string, signal?: AbortSignal): Promise<number | null> {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) return null
    if (signal?.aborted) throw new DemoStartError('the demo target start was interrupted')
    const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false })
    r.on('error', () => {})
    try {
      await r.connect()
      const pid = /process_id:(\d+)/.exec(await r.info('server'))?.[1]
      if (pid) return Number(pid)
    } catch {
      // not listening yet
    } finally {
      r.disconnect()
    }
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  throw new DemoStartError(`${what} (redis-server on 127.0.0.1:${port}) did not answer within ${timeoutMs / 1000} s`)
}

/** Starts a private redis-server for the broker; throws HarnessError when it cannot (the sh is stopped). */
export async function startPrivateBroker (o: PrivateBrokerOptions): Promise<PrivateBroker> {
  let lastLog = ''
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort()
    const fd = openSync(o.logFile, 'a')
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning']
    const child = spawn('/bin/sh', ['-c', WATCH, 'loadlens-demo-broker', ...args], {
      env: { ...(o.env ?? process.env), LOADLENS_PARENT_PID: String(o.parentPid ?? process.pid) },
      stdio: ['ignore', fd, fd],
      detached: true
    })
    closeSync(fd)
    child.on('error', () => {})
    let pid: number | null
    try {
      pid = await ready(child, port, o.readyTimeoutMs ?? 10_000, o.what ?? 'the demo\'s Celery broker', o.signal)
    } catch (err) {
      killGroup(child, 'SIGKILL')
      throw err
    }
    if (pid !== null) return { url: `redis://127.0.0.1:${port}/${PRIVATE_BROKER_DB}`, port, pid, child }
    // the port was taken meanwhile (or the server failed): another port
    lastLog = tail(o.logFile, 3)
  }
  throw new DemoStartError(`${o.what ?? 'the demo\'s Celery broker'} (a private redis-server) could not start: ${lastLog || 'no output'} (log: ${o.logFile})`)
}
