import { type Clock, Duration, Effect, type Fiber } from "effect"

/** A scheduled deadline; cancel it with {@link Deadlines.cancel}. */
export interface Deadline {
  at: number
  /** Its place in the heap; -1 when not scheduled. */
  index: number
  fire(): void
}

/**
 * Many deadlines served by one fiber: a binary min-heap ordered by time and a single sleeper that wakes at
 * the earliest one. Scheduling and cancelling are O(log n) and allocate no fiber, so an `ask` costs no timer
 * fiber of its own. Time comes from the given `Clock`, so `TestClock` drives it in tests.
 *
 * A deadline is judged only after the I/O already waiting has been read. The sleeper wakes in Node's timers
 * phase, which after a long turn (a synchronous handler, 10,000 sessions started at once) runs before the poll
 * phase reads the sockets: firing there would fail an ask whose reply already waits unread. So a wake that finds
 * deadlines due fires them from `setImmediate` (the check phase, after the poll), if still due: one hop, only
 * for deadlines that expire.
 *
 * With `stopWhenIdle`, cancelling the last deadline stops the sleeper at once (its timer with it), so a process
 * with nothing else to do exits: for a table not closed with a scope (sharded asks'); the system's keeps its sleeper
 * until the earliest deadline it slept for, so asks in a row do not fork a sleeper each.
 *
 * @example
 * const deadlines = new Deadlines(clock, Effect.runFork)
 * const deadline = deadlines.schedule(deadlines.now() + 5_000, () => console.log("no answer within 5 s"))
 * deadlines.cancel(deadline) // answered in time
 */
export class Deadlines {
  private readonly heap: Array<Deadline> = []
  private sleeper: Fiber.Fiber<void> | undefined
  private wakeAt = Number.POSITIVE_INFINITY
  private generation = 0
  private closed = false

  private readonly clock: Clock.Clock
  private readonly fork: (effect: Effect.Effect<void>) => Fiber.Fiber<void>
  private readonly stopWhenIdle: boolean

  constructor(clock: Clock.Clock, fork: (effect: Effect.Effect<void>) => Fiber.Fiber<void>, stopWhenIdle = false) {
    this.clock = clock
    this.fork = fork
    this.stopWhenIdle = stopWhenIdle
  }

  now(): number {
    return this.clock.currentTimeMillisUnsafe()
  }

  /** Calls `fire` once, at `at` (epoch ms of the clock), unless cancelled first. */
  schedule(at: number, fire: () => void): Deadline {
    const deadline: Deadline = { at, index: -1, fire }
    this.add(deadline)
    return deadline
  }

  /** Schedules an object that is its own deadline (it saves the caller an object and a closure). */
  add(deadline: Deadline): void {
    deadline.index = this.heap.length
    this.heap.push(deadline)
    this.up(deadline.index)
    if (deadline.at < this.wakeAt && !this.closed) this.restartSleeper()
  }

  cancel(deadline: Deadline): void {
    const i = deadline.index
    if (i < 0 || this.heap[i] !== deadline) return
    deadline.index = -1
    const last = this.heap.pop()!
    if (last !== deadline) {
      this.heap[i] = last
      last.index = i
      this.down(i)
      this.up(last.index)
    }
    if (this.stopWhenIdle && this.heap.length === 0 && this.sleeper !== undefined) {
      this.generation++
      this.wakeAt = Number.POSITIVE_INFINITY
      this.sleeper.interruptUnsafe()
      this.sleeper = undefined
    }
  }

  /** Stops the sleeper; pending deadlines never fire. */
  close(): void {
    this.closed = true
    this.sleeper?.interruptUnsafe()
    this.sleeper = undefined
  }

  private restartSleeper(): void {
    this.sleeper?.interruptUnsafe()
    this.wakeAt = this.heap[0]!.at
    this.sleeper = this.fork(this.loop(++this.generation))
  }

  private loop(generation: number): Effect.Effect<void> {
    return Effect.suspend(() => this.tick(generation, false))
  }

  /** The sleeper's step: fires what is due (once the waiting I/O was read: `afterIo`), then sleeps until the next. */
  private tick(generation: number, afterIo: boolean): Effect.Effect<void> {
    if (generation !== this.generation || this.closed) return Effect.void
    const now = this.clock.currentTimeMillisUnsafe()
    if (!afterIo && this.heap.length > 0 && this.heap[0]!.at <= now) return this.afterIo(generation)
    while (this.heap.length > 0 && this.heap[0]!.at <= now) {
      const due = this.heap[0]!
      this.cancel(due)
      due.fire()
    }
    if (generation !== this.generation) return Effect.void
    if (this.heap.length === 0) {
      this.wakeAt = Number.POSITIVE_INFINITY
      this.sleeper = undefined
      return Effect.void
    }
    this.wakeAt = this.heap[0]!.at
    return Effect.andThen(this.clock.sleep(Duration.millis(this.wakeAt - now)), this.loop(generation))
  }

  /** Looks again from the check phase, after the poll phase has read the sockets that are ready. */
  private afterIo(generation: number): Effect.Effect<void> {
    return Effect.callback<void>((resume) => {
      const immediate = setImmediate(() => resume(Effect.suspend(() => this.tick(generation, true))))
      return Effect.sync(() => clearImmediate(immediate))
    })
  }

  private up(i: number): void {
    const heap = this.heap
    const item = heap[i]!
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (heap[parent]!.at <= item.at) break
      heap[i] = heap[parent]!
      heap[i]!.index = i
      i = parent
    }
    heap[i] = item
    item.index = i
  }

  private down(i: number): void {
    const heap = this.heap
    const item = heap[i]!
    const n = heap.length
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      const child = r < n && heap[r]!.at < heap[l]!.at ? r : l
      if (heap[child]!.at >= item.at) break
      heap[i] = heap[child]!
      heap[i]!.index = i
      i = child
    }
    heap[i] = item
    item.index = i
  }
}
