/**
 * Mailboxes: every actor's mailbox is bounded. Its capacity and what happens when it is full (the overflow
 * policy) are chosen per actor when it is spawned.
 *
 * - `"suspend"`: the sender waits until there is room (backpressure). The default.
 * - `"fail"`: the send fails at once with a typed {@link MailboxFull}.
 * - `"drop-newest"`: the new message is dropped to dead letters.
 * - `"drop-oldest"`: the oldest waiting message is dropped to dead letters to make room.
 *
 * @example
 * ```ts
 * ActorSystem.spawn(worker, { mailbox: Mailbox.bounded(100, "drop-oldest") })
 * ```
 */
import { Schema } from "effect"

/** What a full mailbox does with a new message. */
export type OverflowPolicy = "suspend" | "fail" | "drop-newest" | "drop-oldest"

/** The configuration of a mailbox: its capacity and overflow policy. */
export interface Config {
  readonly capacity: number
  readonly overflow: OverflowPolicy
}

/** The default mailbox: 1024 messages, senders suspend when it is full. */
export const defaultConfig: Config = { capacity: 1024, overflow: "suspend" }

/** A bounded mailbox of `capacity` messages with the given overflow policy (default `"suspend"`). */
export const bounded = (capacity: number, overflow: OverflowPolicy = "suspend"): Config => {
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new RangeError(`Mailbox capacity must be a positive integer, got ${capacity}`)
  }
  return { capacity, overflow }
}

/** A send failed because the recipient's mailbox is full and its policy is `"fail"`. */
export class MailboxFull extends Schema.TaggedError<MailboxFull>()("MailboxFull", {
  recipient: Schema.String,
  capacity: Schema.Number,
  tag: Schema.String
}) {
  override get message() {
    return `Mailbox of ${this.recipient} is full (capacity ${this.capacity}); message ${this.tag} was refused`
  }
}
