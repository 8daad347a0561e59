/**
 * Per-request bookkeeping on the hot path, for one thread. Each request lands in the
 * current second's histogram of its row; every second `closeSlice` adds the rows up into the
 * overall one (histograms added: exact), encodes them into a SliceReport and resets. Totals are built from slices by the
 * Aggregator, so one thread and many threads (or machines) are measured the same way.
 */
import { createHistogram, encodeHistogram, recordUs, slicePercentiles } from '../shared/hist.js'
import type { Histogram } from '../shared/hist.js'
import type { FailureKind, SliceEntry, TimelineSlice } from '../shared/types.js'
import { LOAD_DEFAULTS } from '../shared/settings.js'

/** How a failed request is grouped: by row, kind, status and message. */
export interface FailureInfo {
  kind: FailureKind
  status?: number
  message: string
}

export interface ExceptionReport {
  userClass: string
  task: string
  message: string
  stack?: string
  count: number
}

/** What a recorder hands over every second. Error groups travel as signatures, so reports
 *  from many threads can be merged; the Aggregator gives them their ids. */
export interface SliceReport {
  slice: Omit<TimelineSlice, 'errors'>
  /** error signature -> failures in this second */
  errors: Record<string, number>
  exceptions: ExceptionReport[]
  /** request names past the bound on distinct names, seen in this second (counted under "(other)") */
  overflow?: NameOverflow
}

/** Request names past the bound on distinct rows. */
export interface NameOverflow {
  /** distinct names that went to "(other)" (counting stops at MAX_TRACKED) */
  names: number
  requests: number
  /** the first few, to show */
  examples: string[]
}

/** distinct exception messages a second keeps (per load thread); later ones are counted under OTHER_EXCEPTIONS */
export const MAX_EXCEPTION_GROUPS = 200
/** the message of the group that counts the exceptions past the bound */
export const OTHER_EXCEPTIONS = '(other exception messages, not told apart: too many distinct ones)'
/** overflowed names remembered to count them apart; past this the count is a lower bound */
const MAX_TRACKED = 10_000
const MAX_EXAMPLES = 10
export const OTHER_NAME = '(other)'

const SEP = '\u001f'
/** at most this many distinct error messages per row are kept apart */
const MAX_MESSAGES_PER_ROW = 50

export function errorSignature (type: string, name: string, f: FailureInfo): string {
  return [type, name, f.kind, f.status ?? '', f.message].join(SEP)
}

export function parseErrorSignature (sig: string): { type: string; name: string; kind: FailureKind; status?: number; message: string } {
  const [type, name, kind, status, ...message] = sig.split(SEP)
  return { type: type!, name: name!, kind: kind as FailureKind, status: status ? Number(status) : undefined, message: message.join(SEP) }
}

export function entryKey (type: string, name: string): string {
  return `${type} ${name}`
}

class Row {
  requests = 0
  failures = 0
  bytes = 0
  sumUs = 0
  maxUs = 0
  readonly hist: Histogram = createHistogram()
  messages = 0
  constructor (readonly type: string, readonly name: string) {}

  add (us: number, bytes: number, failed: boolean): void {
    this.requests++
    if (failed) this.failures++
    this.bytes += bytes
    this.sumUs += us
    if (us > this.maxUs) this.maxUs = us
    recordUs(this.hist, us)
  }

  /** adds another row's second (the overall row is the sum of the request rows) */
  addRow (r: Row): void {
    this.requests += r.requests
    this.failures += r.failures
    this.bytes += r.bytes
    this.sumUs += r.sumUs
    if (r.maxUs > this.maxUs) this.maxUs = r.maxUs
    this.hist.add(r.hist)
  }

  take (): SliceEntry {
    const h = this.hist
    const e: SliceEntry = {
      requests: this.requests,
      failures: this.failures,
      bytes: this.bytes,
      sumUs: Math.round(this.sumUs),
      maxUs: Math.round(this.maxUs),
      hist: encodeHistogram(h),
      ...slicePercentiles(h)
    }
    this.requests = this.failures = this.bytes = this.sumUs = this.maxUs = 0
    h.reset()
    return e
  }
}

export class Recorder {
  private readonly rows = new Map<string, Row>()
  /** rows of requests (not flows) made so far, against the bound */
  private requestRows = 0
  private readonly overflowSeen = new Set<string>()
  private overflow: NameOverflow | null = null

  /** @param maxNames distinct request names kept as rows of their own; later names share one "(other)" row per method */
  constructor (private readonly maxNames = LOAD_DEFAULTS.maxNames) {}
  /** type -> name -> row: no string building on the hot path */
  private readonly byType = new Map<string, Map<string, Row>>()
  private readonly overall = new Row('', 'Aggregated')
  /** the row of the previous request: a user often repeats it */
  private last: Row | null = null
  private errors: Record<string, number> = {}
  private exceptions = new Map<string, ExceptionReport>()
  private tasks: Record<string, number> = {}
  private anyTasks = false
  /** running totals for cheap live checks (max-requests) */
  totalRequests = 0
  totalFailures = 0

  /**
   * Records one request. `type` is the HTTP method, or FLOW for a measured flow (flows are
   * kept out of the overall row so requests are not counted twice).
   */
  record (type: string, name: string, us: number, bytes: number, failure?: FailureInfo): void {
    let row = this.last
    if (row === null || row.name !== name || row.type !== type) {
      let names = this.byType.get(type)
      if (names === undefined) {
        names = new Map()
        this.byType.set(type, names)
      }
      row = names.get(name) ?? null
      if (row === null) {
        if (type !== 'FLOW' && this.requestRows >= this.maxNames) {
          // a name per URL (ids in the path, no `name`) would grow one row each: they share one
          row = this.overflowRow(type, name, names)
        } else {
          row = new Row(type, name)
          names.set(name, row)
          this.rows.set(entryKey(type, name), row)
          if (type !== 'FLOW') this.requestRows++
        }
      }
      this.last = row
    }
    const failed = failure !== undefined
    row.add(us, bytes, failed)
    if (type !== 'FLOW') {
      this.totalRequests++
      if (failed) this.totalFailures++
    }
    if (failed) {
      let f = failure
      if (row.messages >= MAX_MESSAGES_PER_ROW) f = { ...failure, message: '(other messages)' }
      const sig = errorSignature(type, name, f)
      const n = this.errors[sig]
      if (n === undefined) row.messages++
      this.errors[sig] = (n ?? 0) + 1
    }
  }

  private overflowRow (type: string, name: string, names: Map<string, Row>): Row {
    const o = this.overflow ??= { names: 0, requests: 0, examples: [] }
    o.requests++
    const key = `${type} ${name}`
    if (this.overflowSeen.size < MAX_TRACKED && !this.overflowSeen.has(key)) {
      this.overflowSeen.add(key)
      o.names++
      if (o.examples.length < MAX_EXAMPLES) o.examples.push(key)
    }
    let row = names.get(OTHER_NAME)
    if (!row) {
      row = new Row(type, OTHER_NAME)
      names.set(OTHER_NAME, row)
      this.rows.set(entryKey(type, OTHER_NAME), row)
    }
    // later requests of the same name find the shared row at once (and are not counted again)
    return row
  }

  /** counts a finished run of a task; `key` is "UserClass.task" */
  countTask (key: string): void {
    this.tasks[key] = (this.tasks[key] ?? 0) + 1
    this.anyTasks = true
  }

  recordException (userClass: string, task: string, err: unknown): void {
    // an Error thrown in a scenario, or the text of one from another tool (Locust's "ValueError: ...")
    const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
    const key = [userClass, task, message].join(SEP)
    const known = this.exceptions.get(key)
    if (known) {
      known.count++
      return
    }
    if (this.exceptions.size >= MAX_EXCEPTION_GROUPS) {
      // past the bound the messages are no longer told apart, but every throw still counts
      const otherKey = [userClass, task, OTHER_EXCEPTIONS].join(SEP)
      const other = this.exceptions.get(otherKey)
      if (other) other.count++
      else this.exceptions.set(otherKey, { userClass, task, message: OTHER_EXCEPTIONS, count: 1 })
      return
    }
    const stack = err instanceof Error && err.stack ? err.stack.split('\n').slice(1, 6).join('\n') : undefined
    this.exceptions.set(key, { userClass, task, message, stack, count: 1 })
  }

  /** Ends the second `t` and hands over its data. */
  closeSlice (t: number, users: number, extra: Partial<TimelineSlice> = {}): SliceReport {
    const entries: Record<string, SliceEntry> = {}
    const overall = this.overall
    for (const [key, row] of this.rows) {
      if (row.requests === 0) continue
      if (row.type !== 'FLOW') overall.addRow(row)
      entries[key] = row.take()
    }
    const report: SliceReport = {
      slice: { t, users, ...extra, overall: overall.take(), entries, ...(this.anyTasks ? { tasks: this.tasks } : {}) },
      errors: this.errors,
      exceptions: [...this.exceptions.values()],
      ...(this.overflow ? { overflow: this.overflow } : {})
    }
    this.overflow = null
    this.errors = {}
    this.exceptions = new Map()
    if (this.anyTasks) { this.tasks = {}; this.anyTasks = false }
    return report
  }
}
