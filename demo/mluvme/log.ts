/**
 * The demo API's log: Python-logging-style lines on stdout (the launcher points stdout at the
 * log file), so a log probe reads them like the real backend's:
 *   2026-05-01 12:00:00,123 ERROR mluvme.api: unhandled exception in GET /api/v1/users/7/stats
 */
import { redactText } from '../../shared/redact.js'

export type Level = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR' | 'CRITICAL'

function stamp (d = new Date()): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())},${p(d.getMilliseconds(), 3)}`
}

export interface Logger {
  (level: Level, message: string): void
}

export function logger (name: string, out: NodeJS.WritableStream = process.stdout): Logger {
  return (level, message) => { out.write(`${stamp()} ${level} ${name}: ${redactText(message)}\n`) }
}

/** An error as a Python-style traceback block: header, one `File` line per stack frame, `Name: message`. */
export function traceback (err: Error): string {
  const frames = (err.stack ?? '').split('\n').slice(1)
    .map(l => /^at (?:async )?(?:(.+?) \()?(.+?):(\d+):\d+\)?$/.exec(l.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .slice(0, 6)
    .reverse()
    .map(m => `  File "${m[2]}", line ${m[3]}, in ${m[1] ?? '<anonymous>'}`)
  return ['Traceback (most recent call last):', ...frames, `${err.name}: ${err.message}`].join('\n')
}
