/**
 * The probes' facts, typed. A stored result may come from another loadlens version or be
 * edited by hand, so every field is checked: what is not of the expected type is left out
 * rather than trusted.
 */
import type { PgActiveStatement, PgAttribution, PgFacts, PgTableActivity, PgTopQuery, ProbeStatus, RedisFacts, SeenActive, TargetFacts } from '../shared/types.js'

type Raw = Record<string, unknown> | undefined

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : undefined)
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
const obj = (v: unknown): Record<string, unknown> | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : undefined)
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : [])
const counts = (v: unknown): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const [k, x] of Object.entries(obj(v) ?? {})) { const n = num(x); if (n !== undefined) out[k] = n }
  return out
}

function seenActive (v: unknown): SeenActive | undefined {
  const o = obj(v)
  const samples = num(o?.samples)
  if (!o || samples === undefined) return undefined
  return { samples, onCpu: num(o.onCpu) ?? 0, waits: counts(o.waits) }
}

function topQuery (v: unknown): PgTopQuery | undefined {
  const o = obj(v)
  const query = str(o?.query) ?? str(o?.text)
  const calls = num(o?.calls)
  if (!o || !query || !calls) return undefined
  return {
    query,
    calls,
    meanMs: num(o.meanMs) ?? num(o.mean_ms) ?? 0,
    totalMs: num(o.totalMs) ?? num(o.total_ms) ?? 0,
    blocksPerCall: num(o.blocksPerCall),
    seenActive: seenActive(o.seenActive)
  }
}

function activeStatement (v: unknown): PgActiveStatement | undefined {
  const o = obj(v)
  const id = str(o?.id)
  const query = str(o?.query)
  if (!o || !id || !query) return undefined
  const nul = (x: unknown): number | null => num(x) ?? null
  return { id, query, samples: num(o.samples) ?? 0, instances: num(o.instances) ?? 0, ageMedianMs: nul(o.ageMedianMs), ageP90Ms: nul(o.ageP90Ms), ageMaxMs: nul(o.ageMaxMs), onCpu: num(o.onCpu) ?? 0, waits: counts(o.waits) }
}

function table (v: unknown): PgTableActivity | undefined {
  const o = obj(v)
  const name = str(o?.table)
  if (!o || !name) return undefined
  return { table: name, seqScans: num(o.seqScans) ?? 0, seqTupRead: num(o.seqTupRead) ?? 0, idxScans: num(o.idxScans) ?? 0, idxTupFetch: num(o.idxTupFetch) ?? 0, liveTuples: num(o.liveTuples) ?? 0, seconds: num(o.seconds) ?? 0 }
}

function attribution (v: unknown): PgAttribution | undefined {
  const o = obj(v)
  const method = str(o?.method)
  if (!o || (method !== 'processes' && method !== 'application_name' && method !== 'database')) return undefined
  const owners: PgAttribution['owners'] = {}
  for (const [k, x] of Object.entries(obj(o.owners) ?? {})) {
    const e = obj(x)
    if ((k === 'app' || k === 'workers' || k === 'other') && e) owners[k] = { peakSessions: num(e.peakSessions) ?? 0, processes: list(e.processes).filter((p): p is string => typeof p === 'string') }
  }
  return { method, detail: str(o.detail) ?? '', since: num(o.since), owners }
}

const defined = <T>(x: T | undefined): x is T => x !== undefined

export function pgFacts (raw: Raw): PgFacts | undefined {
  if (!raw) return undefined
  return {
    database: str(raw.database) ?? '',
    maxConnections: num(raw.maxConnections) ?? num(raw.max_connections) ?? null,
    serverConnectionsPeak: num(raw.serverConnectionsPeak) ?? 0,
    connectionsPeak: num(raw.connectionsPeak) ?? 0,
    pgStatStatements: raw.pgStatStatements === 'available' ? 'available' : 'missing',
    application: str(raw.application),
    attribution: attribution(raw.attribution),
    topQueries: list(raw.topQueries).map(topQuery).filter(defined),
    activeStatements: list(raw.activeStatements).map(activeStatement).filter(defined),
    activitySamples: num(raw.activitySamples),
    tables: list(raw.tables).map(table).filter(defined),
    parallelWorkersPeak: num(raw.parallelWorkersPeak)
  }
}

export function redisFacts (raw: Raw): RedisFacts | undefined {
  if (!raw) return undefined
  return {
    maxmemory: num(raw.maxmemory),
    uptimeAtStartS: num(raw.uptimeAtStartS),
    restartedDuringRun: raw.restartedDuringRun === true,
    sharedWithBroker: raw.sharedWithBroker === true,
    keyMisses: typeof raw.keyMisses === 'string' ? raw.keyMisses : undefined,
    celeryMissesLeftOut: num(raw.celeryMissesLeftOut)
  }
}

export function targetFacts (raw: Raw): TargetFacts | undefined {
  if (!raw) return undefined
  return { pids: list(raw.pids).map(num).filter(defined), peakRss: num(raw.peakRss) ?? 0, peakProcesses: num(raw.peakProcesses) ?? 0 }
}

/** Facts of every probe, typed, from the result's probe status. */
export interface ProbeFacts {
  pg?: PgFacts
  redis?: RedisFacts
  target?: TargetFacts
}

export function probeFacts (status: ProbeStatus[]): ProbeFacts {
  const by = (name: string): Raw => status.find(s => s.probe === name)?.facts
  return { pg: pgFacts(by('pg')), redis: redisFacts(by('redis')), target: targetFacts(by('target')) }
}
