/**
 * An actor's queued messages, in two lanes: user messages, which the mailbox's capacity and overflow policy
 * apply to, and system messages (death-watch notices, timer messages), which are never refused, never
 * dropped and do not take a user message's place. The two lanes keep one order: a system message is taken
 * after the user messages queued before it, so a watcher handles what the watched actor sent before it
 * stopped, then the notice.
 *
 * @example
 * ```ts
 * const lanes = new Lanes<string>()
 * lanes.push("a")
 * lanes.pushSystem("terminated")
 * lanes.push("b")
 * lanes.shift() // "a", then "terminated", then "b"
 * ```
 */
import { Deque } from "./deque.ts"

interface SystemEntry<A> {
  readonly item: A
  /** How many user messages had been queued when it was: it is due once as many have been taken. */
  readonly mark: number
}

export class Lanes<A> {
  private readonly user = new Deque<A>()
  private system: Deque<SystemEntry<A>> | undefined
  /** User messages queued and taken (handled or dropped) so far: `added - taken` are in the user lane. */
  private added = 0
  private taken = 0

  /** User messages queued (what the capacity bounds). */
  get userLength(): number {
    return this.user.length
  }

  /** All messages queued. */
  get length(): number {
    return this.user.length + (this.system?.length ?? 0)
  }

  push(item: A): void {
    this.user.push(item)
    this.added++
  }

  pushSystem(item: A): void {
    ;(this.system ??= new Deque()).push({ item, mark: this.added })
  }

  /** Puts a user message back in front (unstashing): it is taken before anything queued. */
  unshift(item: A): void {
    this.user.unshift(item)
    this.taken--
  }

  /** The next message in queue order. */
  shift(): A | undefined {
    const first = this.system?.peek()
    if (first !== undefined && first.mark <= this.taken) {
      this.system!.shift()
      return first.item
    }
    return this.shiftUser()
  }

  /** The oldest user message (to drop it: system messages are never dropped). */
  shiftUser(): A | undefined {
    const item = this.user.shift()
    if (item !== undefined) this.taken++
    return item
  }

  /** Removes and returns every message, in queue order. */
  drain(): Array<A> {
    const out: Array<A> = []
    for (let item = this.shift(); item !== undefined; item = this.shift()) out.push(item)
    return out
  }
}
