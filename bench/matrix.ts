/**
 * The case matrix: each fault and the healthy system, on both demo targets, at several loads,
 * with the deployment variations real backends have (a fixed or a growing pool,
 * pg_stat_statements present or absent with a pg_monitor-only probe role, Redis shared by the
 * cache and the Celery broker or separate). Each case is labelled with its expected top cause
 * (or none) and the findings allowed beside it; every other finding is wrong.
 *
 * The split into a tuning set and a held-out set is fixed here, by target and load:
 *   tuning    the express target at 10, 20 and 50 users, the FastAPI target at 20 users;
 *   held-out  the express target at 100 users, the FastAPI target at 10, 50 and 100 users
 *             and every FastAPI variation;
 *   seen      the sync target (written after the thresholds were chosen) and the fast-ramp
 *             cases: held out until their first run, after which two rules changed for
 *             blind spots they showed (their first-run figures are in the README).
 * Thresholds in correlate/ are chosen on the tuning set only; the held-out figures are the
 * ones the README reports as such.
 */
import type { FaultName } from '../demo/mluvme/faults.js'
import type { FastapiVariant } from '../demo/fastapi/launch.js'
import type { DemoTargetKind } from '../app/demo.js'
import { EXPECTED } from './accuracy-harness.js'

export interface CaseSpec {
  id: string
  target: DemoTargetKind
  fault: FaultName | 'healthy'
  users: number
  spawnRate: number
  runTime: string
  variant?: FastapiVariant
  /**
   * tuning: thresholds were chosen on it; held-out: never looked at while choosing one; seen:
   * held out until its first run, which showed a blind spot a rule was then changed for (its
   * first-run figures are reported apart, in the README)
   */
  set: 'tuning' | 'held-out' | 'seen'
  expected: string | null
  /** findings that may stand beside the expected one (a consequence the ranking did not fold) */
  allowed?: string[]
}

const FAULTS: FaultName[] = ['pool', 'cache-off', 'cache-ttl', 'leak', 'slow-query', 'idle-tx', 'backlog', 'cpu', 'errors']
const RUN_TIME = '50s'

function variantTag (v?: FastapiVariant): string {
  if (!v) return ''
  const parts: string[] = []
  if (v.pool === 'growing') parts.push('growing')
  if (v.pgStatStatements === false) parts.push('nopgss')
  if (v.redis === 'separate') parts.push('separate')
  return parts.length ? `-${parts.join('-')}` : ''
}

function setOf (target: DemoTargetKind, users: number, variant?: FastapiVariant): CaseSpec['set'] {
  // the sync target was written after every threshold was chosen and held out whole; its first
  // run showed two blind spots (a Celery result backend's misses counted as the cache's, and
  // no pool sign without a clean ramp), and the rules changed for them: it is seen now
  if (target === 'sync') return 'seen'
  if (variant && variantTag(variant)) return 'held-out'
  if (target === 'express') return users <= 50 ? 'tuning' : 'held-out'
  return users === 20 ? 'tuning' : 'held-out'
}

/** allowed companions: a backlog of slow flows may also show as an error burst of their timeouts, and so on */
const ALLOWED: Partial<Record<FaultName, string[]>> = {
  errors: [],
  backlog: []
}

/**
 * What the healthy configuration of a target really has at a load: the express target's pool
 * of 20 connections, each held ~120 ms after its response (the activity record and the
 * analytics call), saturates at 100 users (recorded: every request name +300 ms at the median
 * while the host's CPU stayed near 23 %); at that load its pool is the bottleneck.
 */
function healthyExpected (target: DemoTargetKind, users: number): string | null {
  return target === 'express' && users >= 100 ? 'pool-saturation' : null
}

/**
 * Faults that a load does not make a bottleneck: the FastAPI target's pool of 2 serves 10
 * users without a wait (recorded: every request name as fast as in the healthy 10-user case),
 * so nothing is expected, and a pool finding is allowed.
 */
function noSymptom (target: DemoTargetKind, fault: FaultName | 'healthy', users: number): boolean {
  return target === 'fastapi' && fault === 'pool' && users <= 10
}

/**
 * Findings a fault really causes beside its own at some loads: on the express target a Celery
 * backlog makes every waiting user poll its job four times a second, and each poll keeps its
 * connection ~120 ms after responding, so from 50 users the polls take all 20 connections
 * (recorded: polls 1.8 -> 45.6 ms at the median, the database at 0.04 ms a statement).
 */
function consequences (target: DemoTargetKind, fault: FaultName | 'healthy', users: number): string[] {
  return target === 'express' && fault === 'backlog' && users >= 50 ? ['pool-saturation'] : []
}

function spec (target: DemoTargetKind, fault: FaultName | 'healthy', users: number, variant?: FastapiVariant, fastRamp = false): CaseSpec {
  const saturated = healthyExpected(target, users)
  const quiet = noSymptom(target, fault, users)
  const expected = fault === 'healthy' ? saturated : quiet ? null : EXPECTED[fault]
  const allowed = [...(fault === 'healthy' ? [] : ALLOWED[fault] ?? []), ...consequences(target, fault, users), ...(saturated && fault !== 'healthy' ? [saturated] : []), ...(quiet && fault !== 'healthy' ? [EXPECTED[fault]!] : [])]
  return {
    id: `${target}-${fault}-${users}u${variantTag(variant)}${fastRamp ? '-fastramp' : ''}`,
    target,
    fault,
    users,
    // every user within 2 s (a fast ramp leaves each request name a request or two at low load), else within 10 s
    spawnRate: fastRamp ? users / 2 : Math.max(1, users / 10),
    runTime: RUN_TIME,
    ...(variant ? { variant } : {}),
    set: fastRamp ? 'seen' : setOf(target, users, variant),
    expected,
    allowed
  }
}

export const MATRIX: CaseSpec[] = [
  // healthy at every load, on both targets
  ...[10, 20, 50, 100].flatMap(u => [spec('express', 'healthy', u), spec('fastapi', 'healthy', u)]),
  // every fault at 20 and 50 users on both targets
  ...[20, 50].flatMap(u => FAULTS.flatMap(f => [spec('express', f, u), spec('fastapi', f, u)])),
  // some faults at the edges of the load range
  ...(['pool', 'slow-query', 'cache-ttl', 'idle-tx'] as FaultName[]).flatMap(f => [spec('express', f, 10), spec('fastapi', f, 10), spec('express', f, 100), spec('fastapi', f, 100)]),
  // the variations real deployments have (FastAPI target, 50 users)
  spec('fastapi', 'healthy', 50, { pool: 'growing' }),
  spec('fastapi', 'healthy', 50, { pgStatStatements: false }),
  spec('fastapi', 'healthy', 50, { redis: 'separate' }),
  spec('fastapi', 'healthy', 100, { pgStatStatements: false }),
  spec('fastapi', 'pool', 50, { pool: 'growing' }),
  spec('fastapi', 'slow-query', 50, { pgStatStatements: false }),
  spec('fastapi', 'slow-query', 20, { pgStatStatements: false }),
  spec('fastapi', 'idle-tx', 50, { pgStatStatements: false }),
  spec('fastapi', 'cache-ttl', 50, { redis: 'separate' }),
  spec('fastapi', 'cache-off', 50, { redis: 'separate' }),
  // a fast ramp (all 50 users within 2 s), healthy and with the pool fault, on every target
  ...(['express', 'fastapi', 'sync'] as DemoTargetKind[]).flatMap(t => [spec(t, 'healthy', 50, undefined, true), spec(t, 'pool', 50, undefined, true)]),
  // the third target: healthy at every load, every fault at 20 and 50 users
  ...[10, 20, 50, 100].map(u => spec('sync', 'healthy', u)),
  ...[20, 50].flatMap(u => FAULTS.map(f => spec('sync', f, u)))
]

/**
 * Cases by a filter: comma-separated alternatives, each a "+"-joined list of terms that must
 * all match (a target, a fault, a load like 50u, a set, or part of an id):
 * "fastapi+pool", "held-out", "express-healthy-20u,fastapi+50u".
 */
export function selectCases (filter: string | undefined): CaseSpec[] {
  if (!filter) return MATRIX
  const alternatives = filter.split(',').map(a => a.split('+').map(s => s.trim()).filter(Boolean)).filter(a => a.length)
  const matches = (c: CaseSpec, t: string): boolean => c.id === t || c.set === t || c.target === t || c.fault === t || `${c.users}u` === t || c.id.includes(t)
  return MATRIX.filter(c => alternatives.some(terms => terms.every(t => matches(c, t))))
}
