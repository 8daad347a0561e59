/**
 * The closed model (Locust's users, k6's ramping-vus): a number of users over time, each
 * looping over its tasks with its wait time. Users are started and stopped to follow the
 * UserShape; an executor with a share runs only the global user slots it owns.
 */
import type { ClosedModel, Share } from '../shared/types.js'
import type { ScenarioPlan } from '../scenarios/validate.js'
import { ClassSequence, owns, portion } from './share.js'
import { UserShape } from './shape.js'
import { VirtualUser } from './user.js'
import type { UserRuntime } from './user.js'
import type { Executor } from './executor.js'

interface Running {
  user: VirtualUser
  slot: number
  done: boolean
  promise: Promise<void>
}

const RAMP_TICK_MS = 10
const IDLE_TICK_MS = 500

export class ClosedExecutor implements Executor {
  private shape: UserShape
  private shapeOffsetS = 0
  private readonly running: Running[] = []
  private readonly finishing = new Set<Promise<void>>()
  private readonly ownedSlots: number[] = []
  private nextCandidate = 0
  private readonly generations = new Map<number, number>()
  private readonly classes: ClassSequence
  private timer: NodeJS.Timeout | null = null
  private t0 = 0
  private stopping = false
  private peak = 0

  constructor (
    private readonly runtime: UserRuntime,
    private readonly plan: ScenarioPlan,
    model: ClosedModel,
    private readonly share: Share
  ) {
    this.shape = new UserShape(model.stages)
    this.classes = new ClassSequence(plan.classes.map(c => c.weight))
  }

  start (t0: number): void {
    this.t0 = t0
    this.tick()
  }

  private slotAt (i: number): number {
    while (this.ownedSlots.length <= i) {
      const g = this.nextCandidate++
      if (owns(this.share, g)) this.ownedSlots.push(g)
    }
    return this.ownedSlots[i]!
  }

  private elapsedS (): number {
    return (performance.now() - this.t0) / 1000
  }

  private tick (): void {
    this.timer = null
    if (this.stopping) return
    const t = this.elapsedS() - this.shapeOffsetS
    const desired = portion(this.share, this.shape.usersAt(t))
    while (this.running.length < desired) this.spawn(this.slotAt(this.running.length))
    while (this.running.length > desired) this.retire(this.running.pop()!)
    const active = this.active()
    if (active > this.peak) this.peak = active
    let delay: number
    if (this.shape.isRamping(t)) delay = RAMP_TICK_MS
    else delay = Math.max(RAMP_TICK_MS, Math.min(IDLE_TICK_MS, (this.shape.nextRampAt(t) - t) * 1000))
    this.timer = setTimeout(() => this.tick(), delay)
  }

  private spawn (slot: number): void {
    const gen = this.generations.get(slot) ?? 0
    this.generations.set(slot, gen + 1)
    const cls = this.plan.classes[this.classes.classOf(slot)]!
    const user = new VirtualUser(this.runtime, cls, slot, slot * 10 + (gen % 10))
    const entry: Running = { user, slot, done: false, promise: Promise.resolve() }
    entry.promise = user.run().catch(() => {}).finally(() => { entry.done = true })
    this.running.push(entry)
  }

  private retire (entry: Running): void {
    entry.user.stop()
    if (!entry.done) {
      const p = entry.promise.finally(() => this.finishing.delete(p))
      this.finishing.add(p)
    }
  }

  /** users running now (a user that stopped itself no longer counts) */
  active (): number {
    let n = 0
    for (const r of this.running) if (!r.done) n++
    return n
  }

  peakUsers (): number {
    return this.peak
  }

  /** Replaces the shape from now on: move to `users` (global) at `spawnRate` and hold. */
  setUsers (users: number, spawnRate: number): void {
    const t = this.elapsedS()
    const current = this.shape.usersAt(t - this.shapeOffsetS)
    this.shape = new UserShape([{ durationS: 1e9, users, spawnRate }], current)
    this.shapeOffsetS = t
    if (this.timer) clearTimeout(this.timer)
    this.tick()
  }

  beginStop (): void {
    this.stopping = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    for (const r of this.running) r.user.stop()
  }

  async done (): Promise<void> {
    await Promise.all([...this.running.map(r => r.promise), ...this.finishing])
  }

  hardStop (): number {
    let aborted = 0
    for (const r of this.running) aborted += r.user.hardStop()
    return aborted
  }

  counters (): { dropped?: number; iterations?: number; vus?: number } {
    return {}
  }
}
