/**
 * Expectations written on the command line (`--expect p95=500,p99=1000,failures=1%`) or in a
 * config file, k6-threshold style, for runs whose scenario is not TypeScript (a locustfile) or
 * should not be edited. They merge over the profile's own `expect`, key by key.
 *
 *   p50 p90 p95 p99          latency limits of the whole run, ms ("500", "500ms", "1.5s")
 *   failures                 largest failure ratio: "1%" or "0.01"; "0" allows none
 *   db-connections-max       the target's PostgreSQL connections stay under this count
 *   db-connections-stable    they do not grow through the steady state (no value, or true/false)
 *   cache-hit-rate-min       Redis hit rate over the steady state: "90%" or "0.9"
 *   no-memory-leak           the target's memory does not grow (no value, or true/false)
 *   db-query-mean            mean query time, ms (pg_stat_statements)
 *   find-max-users           a stress run: the most users held within the limits
 *   NAME:p95=200             a limit for one request name ("GET /api/users/[id]:p95=200")
 */
import { SettingError } from '../shared/errors.js'
import { nearestWord } from '../shared/nearest.js'
import type { Expectations, LatencyLimits } from '../shared/types.js'

const LATENCY = ['p50', 'p90', 'p95', 'p99'] as const
const FLAGS: Record<string, keyof Expectations> = {
  'db-connections-stable': 'dbConnectionsStable',
  'no-memory-leak': 'noMemoryLeak',
  'find-max-users': 'findMaxUsers'
}

export const EXPECT_KEYS = [...LATENCY, 'failures', 'db-connections-max', 'db-connections-stable', 'cache-hit-rate-min', 'no-memory-leak', 'db-query-mean', 'find-max-users']

function ms (value: string, where: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s)?$/.exec(value.trim())
  if (!m) throw new SettingError(`${where}: expected milliseconds like 500, 500ms or 1.5s, got "${value}"`)
  return m[2] === 's' ? Number(m[1]) * 1000 : Number(m[1])
}

function ratio (value: string, where: string): number {
  const v = value.trim()
  const pct = /^(\d+(?:\.\d+)?)\s*%$/.exec(v)
  const n = pct ? Number(pct[1]) / 100 : /^\d+(?:\.\d+)?$/.test(v) ? Number(v) : NaN
  if (!(n >= 0 && n <= 1)) throw new SettingError(`${where}: expected a percentage like 1% or a ratio from 0 to 1, got "${value}"`)
  return n
}

function bool (value: string | undefined, where: string): boolean {
  if (value === undefined || value === 'true') return true
  if (value === 'false') return false
  throw new SettingError(`${where}: expected no value, true or false, got "${value}"`)
}

function count (value: string, where: string): number {
  if (!/^\d+$/.test(value.trim())) throw new SettingError(`${where}: expected a whole number, got "${value}"`)
  return Number(value)
}

function nearest (key: string): string {
  const hit = nearestWord(key, EXPECT_KEYS)
  return hit ? ` (did you mean ${hit}?)` : ''
}

/** splits on commas that are not inside a request name ("GET /a,b:p95=1" keeps its comma only when quoted) */
function items (text: string): string[] {
  const out: string[] = []
  let cur = ''
  let quote: string | null = null
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = null
      else cur += ch
    } else if (ch === '"' || ch === "'") quote = ch
    else if (ch === ',') { out.push(cur); cur = '' } else cur += ch
  }
  out.push(cur)
  return out.map(s => s.trim()).filter(Boolean)
}

/**
 * Parses "p95=500,p99=1000,failures=1%" into expectations. `where` names the flag or file in
 * errors ("--expect", "loadlens.json: expect").
 */
export function parseExpect (text: string, where = '--expect'): Expectations {
  const out: Expectations = {}
  const parts = items(text)
  if (!parts.length) throw new SettingError(`${where}: expected limits like p95=500,p99=1000,failures=1%, got "${text}"`)
  for (const part of parts) {
    const eq = part.lastIndexOf('=')
    let key = (eq < 0 ? part : part.slice(0, eq)).trim()
    const value = eq < 0 ? undefined : part.slice(eq + 1).trim()
    const at = `${where} "${part}"`
    // NAME:p95=200: a limit for one request name (the last colon before the key)
    const colon = key.lastIndexOf(':')
    let limits: LatencyLimits = out
    if (colon > 0) {
      const name = key.slice(0, colon).trim()
      key = key.slice(colon + 1).trim()
      out.byName ??= {}
      limits = out.byName[name] ??= {}
      if (!(LATENCY as readonly string[]).includes(key) && key !== 'failures') throw new SettingError(`${at}: a request name's limit is one of ${LATENCY.join(', ')}, failures; got "${key}"`)
    }
    key = key.toLowerCase().replace(/_/g, '-')
    if ((LATENCY as readonly string[]).includes(key)) {
      if (value === undefined) throw new SettingError(`${at}: ${key} needs a value in ms, e.g. ${key}=500`)
      limits[key as typeof LATENCY[number]] = ms(value, at)
    } else if (key === 'failures') {
      if (value === undefined) throw new SettingError(`${at}: failures needs a value, e.g. failures=1%`)
      limits.failureRatio = ratio(value, at)
    } else if (key === 'db-connections-max') {
      if (value === undefined) throw new SettingError(`${at}: db-connections-max needs a count, e.g. db-connections-max=50`)
      out.dbConnectionsMax = count(value, at)
    } else if (key === 'cache-hit-rate-min') {
      if (value === undefined) throw new SettingError(`${at}: cache-hit-rate-min needs a value, e.g. cache-hit-rate-min=90%`)
      out.cacheHitRateMin = ratio(value, at)
    } else if (key === 'db-query-mean') {
      if (value === undefined) throw new SettingError(`${at}: db-query-mean needs a value in ms, e.g. db-query-mean=50`)
      out.dbQueryMeanMs = ms(value, at)
    } else if (FLAGS[key]) {
      (out as Record<string, unknown>)[FLAGS[key]!] = bool(value, at)
    } else {
      throw new SettingError(`${at}: unknown limit "${key}"${nearest(key)}; expected one of: ${EXPECT_KEYS.join(', ')}, or NAME:p95=...`)
    }
  }
  return out
}

/** The profile's expectations with those given on top, key by key (byName merged by name). */
export function mergeExpectations (base: Expectations | undefined, over: Expectations | undefined): Expectations | undefined {
  if (!over) return base
  if (!base) return over
  const byName = base.byName || over.byName ? { ...base.byName } : undefined
  for (const [name, limits] of Object.entries(over.byName ?? {})) byName![name] = { ...byName![name], ...limits }
  return { ...base, ...over, ...(byName ? { byName } : {}) }
}
