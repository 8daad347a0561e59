import { SettingError } from './errors.js'

const UNIT_S: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy

/** A duration in seconds: a number, a numeric string, or "500ms", "30s", "2m", "1h30m". */
export type Duration = number | string

/**
 * Parses a duration to seconds. `where` names the flag or field for the error message,
 * e.g. parseDuration('5x', '--run-time') -> UsageError '--run-time: expected a duration ...'.
 */
export function parseDuration (value: Duration, where: string): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value
    throw new SettingError(`${where}: expected a duration of 0 or more seconds, got ${value}`)
  }
  const text = String(value).trim()
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text)
  let total = 0
  let pos = 0
  PART.lastIndex = 0
  while (pos < text.length) {
    PART.lastIndex = pos
    const m = PART.exec(text)
    if (!m) break
    total += Number(m[1]) * UNIT_S[m[2]!]!
    pos = PART.lastIndex
  }
  if (text.length === 0 || pos !== text.length) {
    throw new SettingError(`${where}: expected a duration like 30s, 2m, 1h30m or 500ms, got "${text}"`)
  }
  return total
}

/** 90 -> "1m30s", 7200 -> "2h", 0.5 -> "500ms" */
export function formatDuration (seconds: number): string {
  if (seconds < 1 && seconds > 0) return `${Math.round(seconds * 1000)}ms`
  let s = Math.round(seconds)
  const h = Math.floor(s / 3600); s -= h * 3600
  const m = Math.floor(s / 60); s -= m * 60
  const out = `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s || (!h && !m) ? `${s}s` : ''}`
  return out
}

/** 75 -> "01:15", 3700 -> "1:01:40" */
export function formatClock (seconds: number): string {
  const s = Math.max(0, Math.floor(seconds))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const ss = String(s % 60).padStart(2, '0')
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${String(m).padStart(2, '0')}:${ss}`
}
