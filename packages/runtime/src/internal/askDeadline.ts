/** An ask waiting for its reply under a deadline: a local caller's (`PendingReply`) or a remote one's (`Outgoing`). */
import { Duration, Exit } from "effect"
import { AskTimeout, InvalidMessage } from "../ActorRef.ts"
import { durationOf, forms, show } from "../Durations.ts"
import type { Deadline, Deadlines } from "./deadlines.ts"

/**
 * The deadline of an ask, in milliseconds: its `timeout` option, else `fallback`. An option that is not a duration
 * (`"5 sec0"`, `NaN`, `-1` from plain JavaScript) is an `InvalidMessage` saying so, and the request is not sent.
 *
 * @example
 * askTimeoutMillis("2 seconds", 5_000, "/user/counter", "Get") // 2000
 * askTimeoutMillis("2 secs", 5_000, "/user/counter", "Get") // InvalidMessage: its option timeout is "2 secs": ...
 */
export const askTimeoutMillis = (
  timeout: Duration.Input | undefined,
  fallback: number,
  recipient: string,
  tag: string
): number | InvalidMessage => {
  if (timeout === undefined) return fallback
  if (typeof timeout === "number" && timeout >= 0) return timeout
  const duration = durationOf(timeout)
  if (duration !== undefined) return Duration.toMillis(duration)
  return new InvalidMessage({
    recipient,
    tag,
    issue: `the ask's option timeout is ${show(timeout)}: expected ${forms}`
  })
}

/**
 * An ask that is its own entry in the system's {@link Deadlines} heap (no timer, closure or fiber per ask): it ends
 * once, by its reply, its deadline or its caller giving up.
 *
 * @example
 * class Waiting extends AskDeadline {
 *   fire() {
 *     if (this.settle(deadlines)) resume(this.timedOut("/user/counter", "Get"))
 *   }
 * }
 * new Waiting(5_000).arm(deadlines)
 */
export abstract class AskDeadline implements Deadline {
  // fields declared and set in the constructor, not class fields: V8 runs a class's field initializers as a function
  // of their own (made and compiled apart), one more call per ask (so in `Outgoing`, `PendingReply`)
  /** Answered, timed out or given up: what comes later is ignored. */
  declare done: boolean
  declare at: number
  declare index: number
  declare readonly timeoutMillis: number

  constructor(timeoutMillis: number) {
    this.done = false
    this.at = 0
    this.index = -1
    this.timeoutMillis = timeoutMillis
  }

  /** Starts the clock: the deadline fires `timeoutMillis` from now. */
  arm(deadlines: Deadlines): void {
    this.stamp(deadlines)
    deadlines.add(this)
  }

  /** Sets when the deadline is (`timeoutMillis` from now) without scheduling it yet (`deadlines.add` does). */
  stamp(deadlines: Deadlines): void {
    this.at = deadlines.now() + this.timeoutMillis
  }

  /** Ends the wait: marks it done and cancels its deadline; `false` when it had ended already. */
  protected settle(deadlines: Deadlines): boolean {
    if (this.done) return false
    this.done = true
    deadlines.cancel(this)
    return true
  }

  /** What the caller gets when the deadline passes. */
  protected timedOut(recipient: string, tag: string): Exit.Exit<never, AskTimeout> {
    return Exit.fail(new AskTimeout({ recipient, tag, timeoutMillis: this.timeoutMillis }))
  }

  /** The deadline passed. */
  abstract fire(): void
}
