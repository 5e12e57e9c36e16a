/**
 * Sending to a cell: its bounded mailbox (user lane and system lane), the senders waiting for room, the dead
 * letters, and requests with their deadlines.
 */
import { Context, Effect, Exit, type Fiber, Tracer } from "effect"
import { RecipientTerminated } from "../../ActorRef.ts"
import { MailboxFull } from "../../Mailbox.ts"
import * as SystemEvent from "../../SystemEvent.ts"
import { type ActorCell, CurrentActor } from "../cell.ts"
import { Deque } from "../deque.ts"
import { Lanes } from "../lanes.ts"
import { drainNow, schedule } from "./drain.ts"
import { Envelope, PendingReply, type ReplyTo } from "./envelope.ts"
import { RUNNING, TERMINATED_STATUS } from "./status.ts"

/** A sender suspended on a full mailbox (or a parked delivery from another node). */
export interface Waiter {
  readonly envelope: Envelope
  readonly resume: (effect: Effect.Effect<void>) => void
  cancelled: boolean
}

const noop = () => {}

/**
 * Puts an envelope in the mailbox. Returns false when the mailbox is full and the policy is to suspend the
 * sender or fail the send (the caller does either); dropping policies and dead recipients are handled here.
 */
export function offer(cell: ActorCell, envelope: Envelope, inline = false): boolean {
  if (cell.status === TERMINATED_STATUS) {
    bounce(cell, envelope, "terminated")
    return true
  }
  if (inline && isIdle(cell)) {
    // handled at once, as `schedule` would after queueing it, without a mailbox for one message
    cell.draining = true
    cell.system.running++
    cell.system.sampleDepth(1)
    drainNow(cell, envelope)
    return true
  }
  if (hasRoom(cell)) {
    ;(cell.mailbox ??= new Lanes()).push(envelope)
    schedule(cell, inline)
    return true
  }
  const { capacity, overflow } = cell.options.mailbox
  // For `suspend`, report the start of a backpressure episode, not every sender that waits in it.
  if (overflow !== "suspend" || cell.waiters === undefined || cell.waiters.length === 0) {
    cell.system.publish(new SystemEvent.Overflow({ path: cell.path, policy: overflow, capacity }))
  }
  switch (overflow) {
    case "suspend":
    case "fail":
      return false
    case "drop-newest":
      bounce(cell, envelope, "overflow")
      return true
    case "drop-oldest": {
      const mailbox = (cell.mailbox ??= new Lanes())
      const oldest = mailbox.shiftUser()
      if (oldest !== undefined) bounce(cell, oldest, "overflow")
      mailbox.push(envelope)
      schedule(cell, inline)
      return true
    }
  }
}

/** Whether a message goes into the mailbox now: there is room, and no sender waits for it before. */
const hasRoom = (cell: ActorCell): boolean =>
  (cell.mailbox?.userLength ?? 0) < cell.options.mailbox.capacity &&
  (cell.waiters === undefined || cell.waiters.length === 0)

/** Running, not draining, nothing queued, no control message: a message for it is handled at once. */
const isIdle = (cell: ActorCell): boolean =>
  !cell.draining &&
  cell.status === RUNNING &&
  (cell.mailbox === undefined || cell.mailbox.length === 0) &&
  (cell.control === undefined || cell.control.length === 0) &&
  (cell.waiters === undefined || cell.waiters.length === 0) &&
  cell.options.mailbox.capacity > 0

/** The `MailboxFull` error for an envelope this cell could not take. */
export function mailboxFull(cell: ActorCell, envelope: Envelope): MailboxFull {
  return new MailboxFull({
    recipient: cell.path,
    capacity: cell.options.mailbox.capacity,
    tag: envelope.message._tag
  })
}

/** Waits for room in a full mailbox; the envelope goes in, in order, when there is. */
export function addWaiter(cell: ActorCell, envelope: Envelope, resume: (effect: Effect.Effect<void>) => void): Waiter {
  const waiter: Waiter = { envelope, resume, cancelled: false }
  ;(cell.waiters ??= new Deque()).push(waiter)
  return waiter
}

/**
 * Senders suspended on a full mailbox get their messages in, in order, once it is half empty: letting them
 * in one by one would suspend the sender again on every message.
 */
export function admitWaiters(cell: ActorCell): void {
  const waiters = cell.waiters
  if (waiters === undefined || waiters.length === 0) return
  const mailbox = (cell.mailbox ??= new Lanes())
  const capacity = cell.options.mailbox.capacity
  if (mailbox.userLength > capacity >> 1) return
  while (waiters.length > 0 && mailbox.userLength < capacity) {
    const waiter = waiters.shift()!
    if (waiter.cancelled) continue
    mailbox.push(waiter.envelope)
    waiter.resume(Effect.void)
  }
}

/**
 * Enqueues a system message (a death-watch notice, a timer message) in the mailbox's system lane: never
 * refused, never dropped, not counted against the capacity, handled after the user messages queued before it.
 */
export function enqueueSystem(cell: ActorCell, envelope: Envelope): void {
  if (cell.status === TERMINATED_STATUS) {
    bounce(cell, envelope, "terminated")
    return
  }
  ;(cell.mailbox ??= new Lanes()).pushSystem(envelope)
  schedule(cell)
}

/** A message that will not be handled: requests fail at once, everything becomes a dead letter. */
export function bounce(cell: ActorCell, envelope: Envelope, reason: SystemEvent.DeadLetterReason): void {
  const tag = envelope.message._tag
  if (envelope.reply !== undefined && !envelope.reply.done) {
    cell.system.runDetached(
      envelope.reply.complete(
        reason === "overflow"
          ? Exit.fail(mailboxFull(cell, envelope))
          : Exit.fail(new RecipientTerminated({ recipient: cell.path, tag }))
      )
    )
  }
  cell.system.deadLetter(cell.path, envelope.message, reason)
}

/**
 * Sends a message: in the mailbox now, or (full, `suspend`) once there is room; `MailboxFull` for `fail`.
 * With `inline`, an idle actor handles it in this call (see `schedule`): for deliveries from outside.
 */
export function tell(
  cell: ActorCell,
  message: { readonly _tag: string },
  fiber: Fiber.Fiber<unknown, unknown>,
  inline = false
): Effect.Effect<void, MailboxFull> {
  const envelope = envelopeFrom(cell, message, fiber, undefined)
  if (offer(cell, envelope, inline)) return Effect.void
  if (cell.options.mailbox.overflow === "fail") return Effect.fail(mailboxFull(cell, envelope))
  // The sender waits only if the mailbox is still full when this effect runs: it may run later than it was made (in
  // another fiber, or after its fiber yielded), and a waiter added to a mailbox that emptied meanwhile would never be
  // let in (nothing is left to take), nor would anything sent after it.
  return Effect.callback<void>((resume) => {
    if (takenLate(cell, envelope)) {
      resume(Effect.void)
      return
    }
    const waiter = addWaiter(cell, envelope, resume)
    return Effect.sync(() => {
      waiter.cancelled = true
    })
  })
}

/**
 * A send that found the mailbox full when it was made, as it runs: whether the message went in (there is room now) or
 * to dead letters (the actor terminated meanwhile), instead of waiting for room.
 */
function takenLate(cell: ActorCell, envelope: Envelope): boolean {
  if (cell.status === TERMINATED_STATUS) {
    bounce(cell, envelope, "terminated")
    return true
  }
  if (!hasRoom(cell)) return false
  ;(cell.mailbox ??= new Lanes()).push(envelope)
  schedule(cell)
  return true
}

/**
 * Sends an envelope without waiting: into the mailbox now, or (full, `suspend`) with the senders waiting for room, to
 * go in, in order, once there is; a full `fail` mailbox answers `MailboxFull`. For senders that must not wait and
 * would otherwise fork a fiber per message (a coordinator telling its session's roles to begin).
 */
export function sendNow(cell: ActorCell, envelope: Envelope): Effect.Effect<void, MailboxFull> {
  if (offer(cell, envelope)) return Effect.void
  if (cell.options.mailbox.overflow === "fail") return Effect.fail(mailboxFull(cell, envelope))
  addWaiter(cell, envelope, noop)
  return Effect.void
}

/** Sends a request and waits for its reply (see `askNow`). */
export function ask(
  cell: ActorCell,
  message: { readonly _tag: string },
  fiber: Fiber.Fiber<unknown, unknown>,
  timeoutMillis: number
): Effect.Effect<unknown, unknown> {
  return Effect.callback<unknown, unknown>((resume) => askNow(cell, message, fiber, timeoutMillis, resume))
}

/** Puts a request in the mailbox now; `resume` gets the reply. Returns what to run if the caller goes away. */
export function askNow(
  cell: ActorCell,
  message: { readonly _tag: string },
  fiber: Fiber.Fiber<unknown, unknown>,
  timeoutMillis: number,
  resume: (effect: Effect.Effect<unknown, unknown>) => void,
  inline = false
): Effect.Effect<void> {
  const pending = new PendingReply(cell, resume, timeoutMillis)
  const envelope = (pending.envelope = envelopeFrom(cell, message, fiber, pending))
  const deadlines = cell.system.deadlines
  pending.at = deadlines.now() + timeoutMillis
  deadlines.add(pending)
  if (!offer(cell, envelope, inline)) {
    if (cell.options.mailbox.overflow === "fail") pending.complete(Exit.fail(mailboxFull(cell, envelope)))
    else addWaiter(cell, envelope, noop)
  }
  return Effect.sync(() => pending.interrupted())
}

/** An envelope from the actor running on `fiber` (if any), with its span when tracing. */
export function envelopeFrom(
  cell: ActorCell,
  message: { readonly _tag: string },
  fiber: Fiber.Fiber<unknown, unknown>,
  reply: ReplyTo | undefined
): Envelope {
  const envelope = new Envelope(message, fiber.getRef(CurrentActor)?.ref, reply)
  if (cell.system.tracing) envelope.span = Context.getOrUndefined(fiber.context, Tracer.ParentSpan)
  return envelope
}

/**
 * Delivers an envelope that came from another node: like a tell, except that a `"fail"` mailbox bounces it
 * (a request is answered with `MailboxFull`). Returns false when a full `"suspend"` mailbox could not take it:
 * the caller parks it with the senders waiting for room (`addWaiter`) or refuses it.
 */
export function deliver(cell: ActorCell, envelope: Envelope): boolean {
  if (offer(cell, envelope, true)) return true
  if (cell.options.mailbox.overflow === "fail") {
    bounce(cell, envelope, "overflow")
    return true
  }
  return false
}

/** The caller of cell request is gone: if the handler is working on it, interrupt that work. */
export function cancel(cell: ActorCell, envelope: Envelope): void {
  if (cell.current === envelope && cell.fiber !== undefined) {
    cell.cancelledCurrent = true
    cell.fiber.interruptUnsafe()
  }
}

/** Puts the stashed messages back at the front of the mailbox, in the order they were stashed. */
export function unstashAll(cell: ActorCell): void {
  const stashed = cell.stashed
  if (stashed === undefined) return
  cell.stashed = undefined
  const mailbox = (cell.mailbox ??= new Lanes())
  for (let i = stashed.length - 1; i >= 0; i--) mailbox.unshift(stashed[i]!)
}
