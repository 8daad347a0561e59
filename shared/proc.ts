/** CPU time read from /proc (Linux). */
import { readFileSync } from 'node:fs'

/**
 * CPU time (user + system, us) of a process or thread so far, from its /proc stat file
 * (`/proc/<pid>/stat`, `/proc/thread-self/stat`), in 10 ms ticks; undefined where there is none
 */
export function procCpuUs (statFile: string): number | undefined {
  try {
    const stat = readFileSync(statFile, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(f[11]) + Number(f[12])) * 10_000
  } catch {
    return undefined
  }
}
