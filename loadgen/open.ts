/**
 * The open model (k6's constant- and ramping-arrival-rate): iterations start on a schedule
 * whatever the server does. Each iteration is one task run by a free virtual user; its first
 * request is timed from the iteration's intended start, so time spent waiting for a stalled
 * server or a busy generator shows in the latency (no coordinated omission). An iteration
 * that finds no free virtual user and no room for a new one is dropped and counted.
 */
import type { OpenModel, Share } from '../shared/types.js'
import type { ScenarioPlan } from '../scenarios/validate.js'
import { ClassSequence, owns, portion } from './share.js'
import { RateShape } from './shape.js'
import { VirtualUser } from './user.js'
import type { UserRuntime } from './user.js'
import type { Executor } from './executor.js'

const MAX_SLEEP_MS = 250

export class OpenExecutor implements Executor {
  private readonly shape: RateShape
  private readonly classes: ClassSequence
  private readonly idle: VirtualUser[][]
  private readonly all: VirtualUser[] = []
  private readonly inflight = new Set<Promise<void>>()
  private readonly maxVUs: number
  private readonly preAllocated: number
  private readonly vuBase: number
  private k = 0
  private t0 = 0
  private timer: NodeJS.Timeout | null = null
  private stopping = false
  private busy = 0
  private peak = 0
  private dropped = 0
  private iterations = 0

  constructor (
    private readonly runtime: UserRuntime,
    private readonly plan: ScenarioPlan,
    model: OpenModel,
    private readonly share: Share
  ) {
    this.shape = new RateShape(model.startRate, model.stages)
    this.classes = new ClassSequence(plan.classes.map(c => c.weight))
    this.idle = plan.classes.map(() => [])
    this.maxVUs = Math.max(1, portion(share, model.maxVUs))
    this.preAllocated = Math.min(this.maxVUs, portion(share, model.preAllocatedVUs))
    this.vuBase = Math.round(share.from * 1_000_000)
  }

  private newUser (classIndex: number): VirtualUser {
    const n = this.all.length
    const u = new VirtualUser(this.runtime, this.plan.classes[classIndex]!, this.vuBase + n, this.vuBase + n)
    this.all.push(u)
    return u
  }

  /** Creates the pre-allocated virtual users and runs their onStart before the clock starts. */
  async prepare (): Promise<void> {
    const made: VirtualUser[] = []
    for (let i = 0; i < this.preAllocated; i++) {
      const c = this.classes.classOf(i)
      made.push(this.newUser(c))
    }
    await Promise.all(made.map(u => u.prepare()))
    for (const u of made) this.idle[this.plan.classes.indexOf(u.cls)]!.push(u)
  }

  start (t0: number): void {
    this.t0 = t0
    this.loop()
  }

  private loop (): void {
    this.timer = null
    if (this.stopping) return
    const now = performance.now()
    const elapsed = (now - this.t0) / 1000
    let due = this.shape.timeOf(this.k)
    while (due <= elapsed) {
      if (owns(this.share, this.k)) this.launch(this.k, this.t0 + due * 1000)
      this.k++
      due = this.shape.timeOf(this.k)
    }
    const wait = due === Infinity ? MAX_SLEEP_MS : Math.min(MAX_SLEEP_MS, Math.max(1, (due - elapsed) * 1000))
    this.timer = setTimeout(() => this.loop(), wait)
  }

  private launch (k: number, intended: number): void {
    this.iterations++
    const c = this.classes.classOf(k)
    let user = this.idle[c]!.pop()
    let fresh = false
    if (!user) {
      if (this.all.length >= this.maxVUs) {
        this.dropped++
        return
      }
      user = this.newUser(c)
      fresh = true
    }
    this.busy++
    if (this.busy > this.peak) this.peak = this.busy
    const u = user
    const p = (async () => {
      if (fresh) await u.prepare()
      await u.iterate(intended)
    })().catch(() => {}).finally(() => {
      this.busy--
      this.inflight.delete(p)
      if (!u.stopping) this.idle[c]!.push(u)
    })
    this.inflight.add(p)
  }

  active (): number {
    return this.busy
  }

  peakUsers (): number {
    return this.peak
  }

  counters (): { dropped: number; iterations: number; vus: number } {
    const out = { dropped: this.dropped, iterations: this.iterations, vus: this.all.length }
    this.dropped = 0
    this.iterations = 0
    return out
  }

  beginStop (): void {
    this.stopping = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    for (const u of this.all) u.stop()
  }

  async done (): Promise<void> {
    await Promise.all([...this.inflight])
    await Promise.all(this.all.map(u => u.retire()))
  }

  hardStop (): number {
    let aborted = 0
    for (const u of this.all) aborted += u.hardStop()
    return aborted
  }
}
