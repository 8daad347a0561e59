/**
 * Whose processes are whose, shared by the probes of one session (like the LookupLedger): the
 * target probe records the target's process tree (--target-pid / --target-process), the
 * Celery probe the workers' processes (from their `stats` replies: the worker's pid and its
 * pool's processes). The pg probe reads both to tell the app's PostgreSQL sessions from the
 * workers' and everyone else's by the client ports of their sockets.
 */

export class ProcessRoles {
  private target: number[] = []
  private readonly workers = new Set<number>()
  /** bumped whenever a set changes, so readers know when to look again */
  version = 0

  /** @param targetExpected a target probe was configured: its pids will come */
  constructor (readonly targetExpected = false) {}

  setTarget (pids: number[]): void {
    const next = [...new Set(pids)].sort((a, b) => a - b)
    if (next.join() === this.target.join()) return
    this.target = next
    this.version++
  }

  addWorkers (pids: number[]): void {
    let added = false
    for (const p of pids) {
      if (Number.isInteger(p) && p > 0 && !this.workers.has(p)) { this.workers.add(p); added = true }
    }
    if (added) this.version++
  }

  targetPids (): number[] {
    return this.target
  }

  workerPids (): number[] {
    return [...this.workers]
  }
}
