/**
 * Which local process owns a TCP connection, read from /proc (Linux): a process's sockets are
 * the `socket:[inode]` links under /proc/<pid>/fd, and /proc/<pid>/net/tcp{,6} lists every
 * connection of its network namespace with its local port, remote port and inode. The pg
 * probe uses this to tell the target's PostgreSQL sessions (their client_port) from the
 * workers', a cron job's or an admin's, without being told an application_name.
 *
 * Every read is asynchronous and bounded by the processes asked about; a process or a
 * descriptor that goes away meanwhile is skipped.
 */
import { readdir, readFile, readlink } from 'node:fs/promises'

export const PROC_AVAILABLE = process.platform === 'linux'

/** socket inodes of a process's open descriptors */
export async function socketInodes (pid: number): Promise<Set<string>> {
  const out = new Set<string>()
  let fds: string[]
  try {
    fds = await readdir(`/proc/${pid}/fd`)
  } catch {
    return out
  }
  await Promise.all(fds.map(async (fd) => {
    try {
      const link = await readlink(`/proc/${pid}/fd/${fd}`)
      if (link.startsWith('socket:[')) out.add(link.slice(8, -1))
    } catch {
      // the descriptor closed meanwhile
    }
  }))
  return out
}

export interface TcpEntry {
  localPort: number
  remotePort: number
}

/** TCP connections by socket inode, as the network namespace of `pid` sees them (own namespace when omitted) */
export async function tcpTable (pid?: number): Promise<Map<string, TcpEntry>> {
  const out = new Map<string, TcpEntry>()
  const base = pid === undefined ? '/proc/net' : `/proc/${pid}/net`
  for (const file of ['tcp', 'tcp6']) {
    let text: string
    try {
      text = await readFile(`${base}/${file}`, 'utf8')
    } catch {
      continue
    }
    const lines = text.split('\n')
    for (let i = 1; i < lines.length; i++) {
      const f = lines[i]!.trim().split(/\s+/)
      if (f.length < 10) continue
      const local = f[1]!.split(':')
      const remote = f[2]!.split(':')
      out.set(f[9]!, { localPort: parseInt(local[local.length - 1]!, 16), remotePort: parseInt(remote[remote.length - 1]!, 16) })
    }
  }
  return out
}

/**
 * The client ports of the TCP connections that `pids` hold to `serverPort`, each with the pid
 * holding it. `serverPort` undefined: connections to any port.
 */
export async function clientPorts (pids: number[], serverPort?: number): Promise<Map<number, number>> {
  const out = new Map<number, number>()
  if (!PROC_AVAILABLE || pids.length === 0) return out
  const table = await tcpTable(pids[0])
  const inodes = await Promise.all(pids.map(socketInodes))
  pids.forEach((pid, i) => {
    for (const inode of inodes[i]!) {
      const c = table.get(inode)
      if (c && (serverPort === undefined || c.remotePort === serverPort)) out.set(c.localPort, pid)
    }
  })
  return out
}

/** every process id on the machine (that this process may see) */
export async function allPids (): Promise<number[]> {
  try {
    return (await readdir('/proc')).filter(n => /^\d+$/.test(n)).map(Number)
  } catch {
    return []
  }
}

/** "python3 -m celery -A app worker ..." (the first 120 characters), or the command name, or "" */
export async function commandLine (pid: number): Promise<string> {
  try {
    const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ').trim()
    if (cmd) return cmd.length > 120 ? `${cmd.slice(0, 119)}…` : cmd
    return (await readFile(`/proc/${pid}/comm`, 'utf8')).trim()
  } catch {
    return ''
  }
}
