/**
 * Every detector, in the order that breaks ties in the ranking (each detector's `order`: the
 * more specific causes first). Adding a detector: its own file in this folder, a line here, its
 * test, and a row in the README's table of what each detector needs; test/detectors/index.test.ts
 * fails while a file of this folder is missing from this list. (A static list rather than
 * reading the folder: a bundle, and a reader of the code, see every detector.)
 */
import type { Detector } from '../context.js'
import { cacheHitRate } from './cache-hit-rate.js'
import { celeryBacklog } from './celery-backlog.js'
import { celeryWorkersMissing } from './celery-workers-missing.js'
import { dbConnectionLimit } from './db-connection-limit.js'
import { dbConnectionsGrowing } from './db-connections-growing.js'
import { dbConnectionsOverLimit } from './db-connections-over-limit.js'
import { errorBursts } from './error-burst.js'
import { hostCpu } from './host-cpu.js'
import { idleInTransaction } from './idle-in-transaction.js'
import { latencyLimits } from './latency-limit.js'
import { lockWaits } from './lock-waits.js'
import { memoryLeak } from './memory-leak.js'
import { poolSaturation } from './pool-saturation.js'
import { slowQuery } from './slow-query.js'
import { targetCpu } from './target-cpu.js'

export const DETECTORS: Detector[] = [
  cacheHitRate,
  celeryBacklog,
  celeryWorkersMissing,
  dbConnectionLimit,
  dbConnectionsGrowing,
  dbConnectionsOverLimit,
  errorBursts,
  hostCpu,
  idleInTransaction,
  latencyLimits,
  lockWaits,
  memoryLeak,
  poolSaturation,
  slowQuery,
  targetCpu
].sort((a, b) => a.order - b.order || a.id.localeCompare(b.id))
