/**
 * What the demo-target tests look at, read the way a probe would: a process's RSS and CPU from
 * /proc, the PostgreSQL sessions that belong to one process (matched by the client ports of
 * its own sockets, so other demo targets running at the same time do not count), and the
 * bundled scenario's task weights.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs'
import type pg from 'pg'

/** the bundled Mluv.Me user's tasks and their weights (the seed's) */
export const MLUVME_WEIGHTS: Record<string, number> = {
  process_voice_message: 10,
  get_user_stats: 3,
  get_user_profile: 2,
  get_saved_words: 2,
  get_streak_calendar: 1
}

/** Resident set size of a process, bytes (VmRSS of /proc/<pid>/status). */
export function rssBytes (pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (!m) throw new Error(`no VmRSS for process ${pid}`)
  return Number(m[1]) * 1024
}

/** CPU seconds (user + system) a process has used (/proc/<pid>/stat, clock ticks of 1/100 s). */
export function cpuSeconds (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/** Seconds the process's main thread ran on a CPU and waited for one (/proc/<pid>/schedstat): run + wait over
 *  wall time is how much of a core it wanted, whatever share of a busy machine it got. */
export function schedSeconds (pid: number): { run: number; wait: number } {
  const [run, wait] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number)
  return { run: run! / 1e9, wait: wait! / 1e9 }
}

/** The local ports of a process's TCP connections to `remotePort` (its PostgreSQL sessions' client ports). */
export function clientPorts (pid: number, remotePort = 5432): number[] {
  const inodes = new Set<string>()
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))
      if (m) inodes.add(m[1]!)
    } catch {
      // the descriptor closed meanwhile
    }
  }
  const ports: number[] = []
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = ''
    try { text = readFileSync(table, 'utf8') } catch { continue }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      if (f.length < 10) continue
      const local = parseInt(f[1]!.split(':')[1]!, 16)
      const remote = parseInt(f[2]!.split(':')[1]!, 16)
      if (remote === remotePort && inodes.has(f[9]!)) ports.push(local)
    }
  }
  return ports
}

export interface SessionRow {
  state: string
  application_name: string
  query: string
  /** seconds since the query started */
  query_age: number
  /** seconds since the transaction started (null outside one) */
  xact_age: number | null
}

/** The PostgreSQL sessions of one process, from pg_stat_activity. */
export async function sessionsOf (db: pg.Client, pid: number): Promise<SessionRow[]> {
  const ports = clientPorts(pid)
  if (ports.length === 0) return []
  const r = await db.query<SessionRow>(
    `SELECT state, application_name, query, extract(epoch FROM now() - query_start)::float AS query_age,
            extract(epoch FROM now() - xact_start)::float AS xact_age
     FROM pg_stat_activity WHERE backend_type = 'client backend' AND client_port = ANY($1::int[])`, [ports])
  return r.rows
}

/** Whether a process with this PID exists (signal 0 probes without touching it). */
export function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
