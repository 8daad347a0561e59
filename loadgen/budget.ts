/**
 * A run's budgets shared by its load threads: the request count and each thread's cost in one
 * SharedArrayBuffer. Its own module, so that the main thread sets it up without loading the
 * engine (which runs in the load threads).
 */
export interface Budget {
  /** unit cost of a row; 0 if none */
  unitCost?: (type: string, name: string) => number
  /** counters shared by the worker threads of one run, so that the budget holds for the run */
  shared?: SharedBudget
}

/** The run's request count (an Int32 added to atomically) and each thread's cost (a Float64
 *  per thread, written only by that thread), in one SharedArrayBuffer. */
export interface SharedBudget {
  requests: Int32Array
  cost: Float64Array
  /** this thread's cost slot */
  slot: number
}

export function sharedBudgetBuffer (threads: number): SharedArrayBuffer {
  return new SharedArrayBuffer(8 + 8 * threads)
}

export function sharedBudget (buffer: SharedArrayBuffer, threads: number, slot: number): SharedBudget {
  return { requests: new Int32Array(buffer, 0, 1), cost: new Float64Array(buffer, 8, threads), slot }
}
