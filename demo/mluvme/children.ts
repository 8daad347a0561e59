/** Child processes of the demo, each the leader of its own process group: stopping them, reading their logs. */
import { readFileSync } from 'node:fs'
import type { ChildProcess } from 'node:child_process'

/** Signals the child's whole process group (the child alone where there is none). */
export function killGroup (child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return
  try { process.kill(-child.pid, sig) } catch { try { child.kill(sig) } catch {} }
}

/** Resolves true once the child has exited, false after `timeoutMs`. */
function exited (child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true)
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs)
    child.once('exit', () => { clearTimeout(timer); resolve(true) })
  })
}

/** SIGTERM to the group, SIGKILL after `graceMs`. */
export async function stopChild (child: ChildProcess | undefined, graceMs: number): Promise<void> {
  if (!child) return
  killGroup(child, 'SIGTERM')
  if (await exited(child, graceMs)) return
  killGroup(child, 'SIGKILL')
  await exited(child, 2000)
}

/** The last lines of a log file on one line, for an error message ('' when unreadable). */
export function tail (file: string, lines = 5): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join(' | ')
  } catch {
    return ''
  }
}
