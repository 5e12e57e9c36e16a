/**
 * A receiver's work per loop turn (see `inbound.ts`): once envelopes were handed over for {@link SLICE_MS} in one
 * turn (the turn's clock opened only once {@link CLOCK_AFTER} envelopes were handed over: not for every ask and
 * reply), what is left waits for the next turns (`setImmediate`), in the order it came, so that timers (heartbeats,
 * the failure detector) and other sockets are served between slices.
 */
import type * as Frame from "../Frame.ts"
import type { PeerEvent } from "../Peer.ts"
import type { Connection } from "./connection.ts"
import type { Wide } from "./jsonValues.ts"
import type { Link } from "./link.ts"

/**
 * The time one loop turn may spend handing envelopes to the receiver (its clock opened, then checked, every
 * {@link CLOCK_AFTER} envelopes): a burst of sessions' replies (each ending a session in its receiver's call) kept
 * the starter's loop from turning for 100 ms and more in one socket read.
 */
export const SLICE_MS = 5

/**
 * Envelopes handed over between two looks at the turn's clock (a power of two); the first look opens the clock.
 */
export const CLOCK_AFTER = 16

/** What is left of a data frame for the receiver: its envelopes from `next`. */
export class Part {
  readonly connection: Connection
  readonly link: Link
  readonly envelopes: ReadonlyArray<unknown>
  readonly first: number
  readonly valid: number
  readonly wide: ReadonlyArray<Wide> | undefined
  next: number
  constructor(
    connection: Connection,
    link: Link,
    frame: Frame.Data,
    valid: number,
    wide: ReadonlyArray<Wide> | undefined,
    next: number
  ) {
    this.connection = connection
    this.link = link
    this.envelopes = frame.envelopes
    this.first = frame.first
    this.valid = valid
    this.wide = wide
    this.next = next
  }
}

/**
 * The turn's clock and the parts and peer events waiting for the next turns. `run` takes one waiting item at the
 * start of a turn: true once it is done with, false when the turn's time ran out in it (it stays first in line).
 *
 * @example
 * ```ts
 * const slices = new Slices((item) => handOverOrTell(item))
 * for (const envelope of envelopes) if (slices.spent()) slices.wait(rest)
 * ```
 */
export class Slices {
  /** The parts and peer events waiting for the next turns, in the order they came (from `head`). */
  private waiting: Array<Part | PeerEvent> = []
  private head = 0
  /** When this loop turn began handing envelopes over (0: not yet), and how many it handed over. */
  private turnStart = 0
  private turnCount = 0
  private readonly run: (item: Part | PeerEvent) => boolean

  constructor(run: (item: Part | PeerEvent) => boolean) {
    this.run = run
  }

  /** Whether anything waits (what comes next waits behind it). */
  get busy(): boolean {
    return this.head < this.waiting.length
  }

  /**
   * Whether this loop turn's time for the receiver is spent, checked every {@link CLOCK_AFTER} envelopes. The turn's
   * clock is opened lazily, at the first check with none open: a node that hands over one envelope a turn (an ask,
   * its reply) reads no clock and schedules no `setImmediate` per envelope (an immediate makes the loop poll again
   * before it sleeps: a system call per ask). The count runs on across turns until a clock opens, so a turn hands
   * over at most {@link CLOCK_AFTER} envelopes before its clock, then {@link SLICE_MS} and up to one more check's.
   */
  spent(): boolean {
    if ((++this.turnCount & (CLOCK_AFTER - 1)) !== 0) return false
    const now = performance.now()
    if (this.turnStart === 0) {
      this.turnStart = now
      setImmediate(this.turnEnded)
      return false
    }
    return now - this.turnStart > SLICE_MS
  }

  /** Puts `item` in line for the next turns. */
  wait(item: Part | PeerEvent): void {
    this.waiting.push(item)
    if (this.turnStart === 0) {
      this.turnStart = performance.now()
      setImmediate(this.turnEnded)
    }
  }

  /** A turn ended (or the receiver left): the next one runs what waits, from where the last one stopped. */
  readonly turnEnded = (): void => {
    this.turnStart = 0
    this.turnCount = 0
    const waiting = this.waiting
    while (this.head < waiting.length) {
      if (!this.run(waiting[this.head]!)) return // the rest in the next turn (spent() scheduled it)
      waiting[this.head++] = undefined as never
    }
    this.waiting = []
    this.head = 0
  }
}
