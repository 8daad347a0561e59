/**
 * Every detector, in the order that breaks ties in the ranking (the more specific causes
 * first). Adding a detector: its own file in this folder, its test, a line here and a row in
 * the README's table of what each detector needs.
 */
import type { Detector } from '../context.js'
import { idleInTransaction } from './idle-in-transaction.js'
import { slowQuery } from './slow-query.js'
import { lockWaits } from './lock-waits.js'
import { poolSaturation } from './pool-saturation.js'
import { dbConnectionLimit } from './db-connection-limit.js'
import { dbConnectionsOverLimit } from './db-connections-over-limit.js'
import { dbConnectionsGrowing } from './db-connections-growing.js'
import { celeryBacklog } from './celery-backlog.js'
import { celeryWorkersMissing } from './celery-workers-missing.js'
import { cacheHitRate } from './cache-hit-rate.js'
import { memoryLeak } from './memory-leak.js'
import { targetCpu } from './target-cpu.js'
import { hostCpu } from './host-cpu.js'
import { errorBursts } from './error-burst.js'
import { latencyLimits } from './latency-limit.js'

export const DETECTORS: Detector[] = [
  idleInTransaction,
  slowQuery,
  lockWaits,
  poolSaturation,
  dbConnectionLimit,
  dbConnectionsOverLimit,
  dbConnectionsGrowing,
  celeryBacklog,
  celeryWorkersMissing,
  cacheHitRate,
  memoryLeak,
  targetCpu,
  hostCpu,
  errorBursts,
  latencyLimits
]
