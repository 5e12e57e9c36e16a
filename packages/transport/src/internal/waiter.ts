/**
 * User sends waiting for room in a link's window (see `Admission.wait` in admission.ts): each what it will put in the resend buffer and
 * who hears once it is there or failed, in a line in the order they came.
 */
import type * as Envelope from "../Envelope.ts"
import type { Waiting } from "../Transport.ts"
import type { SendError } from "../TransportError.ts"

/**
 * A send waiting for room in the window: `done` is called once it is in the resend buffer, or failed.
 *
 * @example
 * ```ts
 * const waiter = new Waiter(json, bytes, undefined, (error) => console.log(error ?? "in the buffer"))
 * waiter.done(undefined)
 * ```
 */
export class Waiter {
  readonly json: string
  readonly bytes: number
  readonly template: Envelope.Template | undefined
  private listener: ((error: SendError | undefined) => void) | undefined
  /** How it ended, while no listener heard it (null: not yet). */
  private outcome: SendError | undefined | null = null
  cancelled = false
  constructor(
    json: string,
    bytes: number,
    template: Envelope.Template | undefined,
    listener: ((error: SendError | undefined) => void) | undefined
  ) {
    this.json = json
    this.bytes = bytes
    this.template = template
    this.listener = listener
  }
  done(error: SendError | undefined): void {
    if (this.listener === undefined) this.outcome = error
    else this.listener(error)
  }
  onDone(listener: (error: SendError | undefined) => void): void {
    if (this.outcome === null) this.listener = listener
    else listener(this.outcome)
  }
}

/**
 * A link's user sends waiting for room, in the order they came: added at the back, let in from the front
 * (dropped in batches, not shifted one by one).
 *
 * @example
 * ```ts
 * const line = new WaitLine()
 * const withdraw = line.add(json, bytes, undefined, (error) => console.log(error ?? "in the buffer"))
 * line.next()?.done(undefined) // the first that was not withdrawn
 * ```
 */
export class WaitLine {
  private waiters: Array<Waiter> = []
  /** Where the first waiter not yet let in is. */
  private head = 0
  /**
   * How many were added (`waiters.length`, kept as a number: every send asks for `length`, and reading it off the
   * array would make that code depend on the array's shape, which changes when the first waiter comes; V8 would
   * throw away the send path's optimized code then).
   */
  private tail = 0

  /** Whether `later` has a turn scheduled: the rest of the line is let in there, not before. */
  scheduled = false

  /** How many wait. */
  get length(): number {
    return this.tail - this.head
  }

  /**
   * Runs `turn` on the next loop turn (`setImmediate`), once however often asked before it runs: the link lets the
   * rest of the line in there, after the sockets were read (see `Admission.admit`).
   */
  later(turn: () => void): void {
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      turn()
    })
  }

  /** A send waits at the back of the line; returns what withdraws it. */
  add(
    json: string,
    bytes: number,
    template: Envelope.Template | undefined,
    done: ((error: SendError | undefined) => void) | undefined
  ): Waiting {
    const waiter = new Waiter(json, bytes, template, done)
    this.waiters.push(waiter)
    this.tail++
    const withdraw = () => {
      waiter.cancelled = true
    }
    return Object.assign(withdraw, { onDone: (listener: Parameters<Waiter["onDone"]>[0]) => waiter.onDone(listener) })
  }

  /** Takes the first waiter off the line (it may have been withdrawn), or undefined if none waits. */
  next(): Waiter | undefined {
    if (this.head === this.tail) return undefined
    const waiter = this.waiters[this.head]!
    this.waiters[this.head++] = undefined as unknown as Waiter
    if (this.head === this.tail) {
      this.waiters = []
      this.head = 0
      this.tail = 0
    } else if (this.head > 1024 && this.head * 2 > this.tail) {
      this.waiters = this.waiters.slice(this.head)
      this.tail -= this.head
      this.head = 0
    }
    return waiter
  }

  /** Empties the line, telling each waiter not withdrawn that it failed with `error`. */
  fail(error: SendError): void {
    const waiters = this.waiters
    const head = this.head
    this.waiters = []
    this.head = 0
    this.tail = 0
    for (let i = head; i < waiters.length; i++) if (!waiters[i]!.cancelled) waiters[i]!.done(error)
  }
}
