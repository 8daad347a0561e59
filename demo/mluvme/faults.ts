/**
 * The demo target's fault toggles: each one turns a healthy Mluv.Me-like API into one with a
 * single, real bottleneck that a probe can see. Written `NAME` or `NAME=VALUE`
 * (`--fault pool`, `--fault leak=256`, `--fault cache-off,cpu=40`).
 */
import { SettingError } from '../../shared/errors.js'

export interface FaultSpec {
  /** what VALUE means, when the fault takes one */
  param?: { name: string; unit: string; default: number; min: number; max: number }
  /** one line for the help and the start banner; {n} is the value */
  text: string
}

export const FAULTS = {
  pool: {
    param: { name: 'size', unit: 'connections', default: 2, min: 1, max: 20 },
    text: 'the API\'s PostgreSQL pool holds {n} connections instead of 20: requests queue for a connection'
  },
  'cache-off': {
    text: 'the Redis cache stores nothing: every lookup misses and falls through to PostgreSQL'
  },
  'cache-ttl': {
    param: { name: 'ttl', unit: 's', default: 1, min: 1, max: 60 },
    text: 'cache entries expire after {n} s instead of 300 s: most lookups miss'
  },
  leak: {
    param: { name: 'size', unit: 'KB', default: 64, min: 1, max: 4096 },
    text: 'the API process keeps {n} KB per request it serves and never frees it (up to 1 GB)'
  },
  'slow-query': {
    text: 'no index on messages(user_id): the upload\'s daily-allowance check, stats and streak calendar scan the whole messages table (1,000,000 rows)'
  },
  'idle-tx': {
    param: { name: 'hold', unit: 'ms', default: 200, min: 10, max: 5000 },
    text: 'transactions stay open (idle in transaction) across a simulated external call of ~{n} ms'
  },
  backlog: {
    param: { name: 'task time', unit: 's', default: 3, min: 1, max: 60 },
    text: 'one Celery worker process with concurrency 1, and each voice task takes ~{n} s: the queue grows'
  },
  cpu: {
    param: { name: 'burn', unit: 'ms', default: 100, min: 1, max: 1000 },
    text: 'each request burns {n} ms of CPU on the API\'s event loop'
  },
  errors: {
    param: { name: 'share', unit: '%', default: 5, min: 1, max: 100 },
    text: '{n}% of requests fail with HTTP 500 and the API logs ERROR lines with a traceback'
  }
} satisfies Record<string, FaultSpec>

export type FaultName = keyof typeof FAULTS

/** The faults switched on, with their values (a fault without a value maps to true). */
export type Faults = Partial<Record<FaultName, number | true>>

export const FAULT_NAMES = Object.keys(FAULTS) as FaultName[]

export function isFaultName (name: string): name is FaultName {
  return Object.prototype.hasOwnProperty.call(FAULTS, name)
}

/** The value of a fault that is on (its default when none was given), or undefined when it is off. */
export function faultValue (faults: Faults, name: FaultName): number | undefined {
  const v = faults[name]
  if (v === undefined) return undefined
  const spec: FaultSpec = FAULTS[name]
  return typeof v === 'number' ? v : spec.param?.default ?? 1
}

/** Parses `--fault` values: each may hold several comma-separated `NAME[=VALUE]`. */
export function parseFaults (values: string | string[] | undefined, flag = '--fault'): Faults {
  const out: Faults = {}
  const list = (Array.isArray(values) ? values : values === undefined ? [] : [values])
    .flatMap(v => v.split(','))
    .map(v => v.trim())
    .filter(Boolean)
  for (const item of list) {
    const [rawName, rawValue, extra] = item.split('=')
    const name = rawName!.trim()
    if (!isFaultName(name)) {
      throw new SettingError(`${flag}: unknown fault "${name}"; expected one of: ${FAULT_NAMES.join(', ')}`)
    }
    const spec: FaultSpec = FAULTS[name]
    if (rawValue === undefined) { out[name] = true; continue }
    if (extra !== undefined || !spec.param) {
      throw new SettingError(`${flag}: "${item}": ${spec.param ? `expected ${name}=<${spec.param.name} in ${spec.param.unit}>` : `the fault ${name} takes no value`}`)
    }
    const n = Number(rawValue)
    const p = spec.param
    if (rawValue.trim() === '' || !Number.isFinite(n) || n < p.min || n > p.max) {
      throw new SettingError(`${flag}: "${item}": expected ${p.name} in ${p.unit} from ${p.min} to ${p.max}, got "${rawValue}"`)
    }
    out[name] = n
  }
  return out
}

/** One line per fault that is on: "pool=2: the API's PostgreSQL pool holds 2 connections ...". */
export function describeFaults (faults: Faults): string[] {
  return FAULT_NAMES.filter(n => faults[n] !== undefined).map((name) => {
    const spec: FaultSpec = FAULTS[name]
    const v = faultValue(faults, name)
    return `${spec.param ? `${name}=${v}` : name}: ${spec.text.replace('{n}', String(v))}`
  })
}

/** The help text of `--fault`: every name, its value and what it does. */
export function faultHelp (): string {
  return FAULT_NAMES.map((name) => {
    const spec: FaultSpec = FAULTS[name]
    const head = spec.param ? `${name}[=${spec.param.unit}]` : name
    return `${head}: ${spec.text.replace('{n}', String(spec.param?.default ?? ''))}`
  }).join('; ')
}
