/**
 * Whose PostgreSQL session is it? A database is shared: the app's pool, Celery workers, cron
 * jobs, migrations, an admin's psql. The pg probe tells them apart without being told, by the
 * client port PostgreSQL shows for each session (pg_stat_activity.client_port) and the local
 * ports of the sockets each process holds (/proc, see sockets.ts):
 *   app      a socket of the target's process tree (--target-pid / --target-process)
 *   workers  a socket of a Celery worker process (its pid from the Celery probe's stats
 *            replies), or of any process whose command line names celery
 *   other    any other local process (named by its command line), a Unix-socket session, or a
 *            client on another host
 * A session is classified once, when first seen (its key is backend pid + backend start).
 * Looking up processes other than the target's and the workers' scans every process's
 * descriptors, so it runs at most every OTHER_SCAN_MS, and only for sessions still unknown.
 */
import type { ProcessRoles } from './process-roles.js'
import { allPids, clientPorts, commandLine, PROC_AVAILABLE } from './sockets.js'

export type SessionOwner = 'app' | 'workers' | 'other'

export interface OwnerInfo {
  owner: SessionOwner
  pid?: number
  /** the client process's command line, or why it is not known */
  process: string
}

export interface BackendRef {
  /** backend pid + backend start: one session's identity */
  key: string
  /** client_port (null or -1: a Unix socket) */
  port: number | null
}

const OTHER_SCAN_MS = 5000
/** sessions kept classified; more (a churning app without a pool) forgets the oldest */
const MAX_KNOWN = 5000
const WORKER_COMMAND = /celery/i

export class SessionOwners {
  private readonly known = new Map<string, OwnerInfo>()
  private lastOtherScan = -Infinity
  private readonly names = new Map<number, string>()
  private rolesVersion = -1

  constructor (private readonly roles: ProcessRoles, private readonly serverPort?: number) {}

  /** the target's pids are known (or were never going to be) */
  ready (): boolean {
    return PROC_AVAILABLE && this.roles.targetPids().length > 0
  }

  owner (key: string): OwnerInfo | undefined {
    return this.known.get(key)
  }

  /** Classifies the sessions not seen before. */
  async classify (backends: BackendRef[], now = Date.now()): Promise<void> {
    if (!this.ready()) return
    // processes joined the target or the workers (a server's workers start after it): look again at the rest
    if (this.roles.version !== this.rolesVersion) {
      this.rolesVersion = this.roles.version
      for (const [key, info] of this.known) if (info.owner !== 'app') this.known.delete(key)
    }
    const pending = backends.filter(b => !this.known.has(b.key))
    if (!pending.length) return
    for (const b of pending) {
      if (b.port === null || b.port <= 0) this.set(b.key, { owner: 'other', process: 'a Unix-socket session (its process cannot be told from its port)' })
    }
    let left = pending.filter(b => !this.known.has(b.key))
    if (!left.length) return
    const target = this.roles.targetPids()
    const workers = this.roles.workerPids()
    const mine = await clientPorts([...target, ...workers], this.serverPort)
    const targetSet = new Set(target)
    for (const b of left) {
      const pid = mine.get(b.port!)
      if (pid === undefined) continue
      this.set(b.key, { owner: targetSet.has(pid) ? 'app' : 'workers', pid, process: await this.name(pid) })
    }
    left = left.filter(b => !this.known.has(b.key))
    if (!left.length || now - this.lastOtherScan < OTHER_SCAN_MS) return
    this.lastOtherScan = now
    const skip = new Set([...target, ...workers])
    const others = await clientPorts((await allPids()).filter(p => !skip.has(p)), this.serverPort)
    for (const b of left) {
      const pid = others.get(b.port!)
      if (pid === undefined) {
        this.set(b.key, { owner: 'other', process: 'not a process of this host that loadlens may read (another host, or another user\'s process)' })
        continue
      }
      const cmd = await this.name(pid)
      this.set(b.key, { owner: WORKER_COMMAND.test(cmd) ? 'workers' : 'other', pid, process: cmd })
    }
  }

  /** forgets sessions that are gone */
  keepOnly (alive: Set<string>): void {
    for (const key of this.known.keys()) if (!alive.has(key)) this.known.delete(key)
  }

  private set (key: string, info: OwnerInfo): void {
    if (this.known.size >= MAX_KNOWN) this.known.delete(this.known.keys().next().value!)
    this.known.set(key, info)
  }

  private async name (pid: number): Promise<string> {
    let n = this.names.get(pid)
    if (n === undefined) {
      n = (await commandLine(pid)) || `pid ${pid}`
      if (this.names.size > 1000) this.names.clear()
      this.names.set(pid, n)
    }
    return n
  }
}
