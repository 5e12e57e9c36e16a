/** A message in a mailbox, where its reply goes, and who is told when a cell terminates. */
import type { Effect, Exit, Tracer } from "effect"
import type { ActorRef } from "../../ActorRef.ts"
import type * as Protocol from "../../Protocol.ts"
import type * as Terminated from "../../Terminated.ts"
import { AskDeadline } from "../askDeadline.ts"
import type { ActorCell } from "../cell.ts"

/** Where the reply to a request goes: a local caller, or (later) a remote one. */
export interface ReplyTo {
  /** The caller is gone (timed out or interrupted): the request need not be handled. */
  readonly done: boolean
  /** Answers the caller; returns an effect when answering takes work (a remote reply to send). */
  complete(exit: Exit.Exit<unknown, unknown>): Effect.Effect<void> | undefined
}

/** A user message (of the actor's protocol). */
export const USER = 0
/** A death-watch notice for `onTerminated` (`ctx.watch`). */
export const TERMINATED = 1
/** A timer's message (`ctx.timers`). */
export const TIMER = 2
/** A death-watch notice as a message of the watcher's protocol (`ctx.watchWith`). */
export const NOTICE = 3

/** A message in a mailbox with its sender and, for requests, where the reply goes. */
export class Envelope {
  // declared, set in the constructor: no field initializer function per message (see `AskDeadline`)
  /** Set again only while the envelope is lent (see {@link lend}). */
  declare message: { readonly _tag: string }
  declare sender: ActorRef<Protocol.Any> | undefined
  declare readonly reply: ReplyTo | undefined
  declare readonly kind: number
  /**
   * For system messages, until they are handled: the timer that sent it, or the watch it notifies (see
   * `SystemImpl.watchKey`). A timer cancelled, or a watch undone, meanwhile: the message is not handled.
   */
  declare source: unknown
  /** When tracing: the span the message was sent from, the parent of the span that handles it. */
  declare span: Tracer.AnySpan | undefined
  constructor(
    message: { readonly _tag: string },
    sender: ActorRef<Protocol.Any> | undefined,
    reply: ReplyTo | undefined,
    kind: number = USER,
    source: unknown = undefined
  ) {
    this.message = message
    this.sender = sender
    this.reply = reply
    this.kind = kind
    this.source = source
    this.span = undefined
  }
}

const nothing = { _tag: "" }

/** The envelope lent for the next tell from another node, and whether it is lent now. */
let reusable = new Envelope(nothing, undefined, undefined)
let lent = false

/**
 * An envelope for a tell from another node. A tell that an idle actor handles at once (the usual case) is
 * done with its envelope before the delivery returns, so one envelope is lent again and again instead of one
 * made per message: `handBack` once handled, `settle` once the delivery returned (an envelope still lent then
 * is kept, by a mailbox, a stash or a running handler: it is theirs, and another is lent next time).
 *
 * @example
 * const envelope = lend(message, sender)
 * cell.deliver(envelope) // handled at once: afterHandle hands it back
 * settle(envelope)
 */
export function lend(message: { readonly _tag: string }, sender: ActorRef<Protocol.Any> | undefined): Envelope {
  if (lent) return new Envelope(message, sender, undefined) // a delivery made while one is being handled
  lent = true
  reusable.message = message
  reusable.sender = sender
  return reusable
}

/** The tell in `envelope` was handled and nothing keeps it: if lent, it may be lent again. */
export function handBack(envelope: Envelope): void {
  if (envelope !== reusable || !lent) return
  lent = false
  envelope.message = nothing
  envelope.sender = undefined
  envelope.span = undefined
}

/** The delivery of `envelope` returned: if it is still lent, whoever holds it keeps it. */
export function settle(envelope: Envelope): void {
  if (envelope !== reusable || !lent) return
  reusable = new Envelope(nothing, undefined, undefined)
  lent = false
}

/** A local caller waiting for a reply; it is its own deadline (one object per ask, not three). */
export class PendingReply extends AskDeadline implements ReplyTo {
  // declared, set in the constructor (no field initializer function per ask: see `AskDeadline`)
  declare envelope: Envelope | undefined
  declare private readonly cell: ActorCell
  declare private readonly resume: (effect: Effect.Effect<unknown, unknown>) => void
  constructor(cell: ActorCell, resume: (effect: Effect.Effect<unknown, unknown>) => void, timeoutMillis: number) {
    super(timeoutMillis)
    this.envelope = undefined
    this.cell = cell
    this.resume = resume
  }
  complete(exit: Exit.Exit<unknown, unknown>): undefined {
    if (this.settle(this.cell.system.deadlines)) this.resume(exit)
  }
  /** The deadline passed: the caller gets `AskTimeout`, and the work done for it stops. */
  fire(): void {
    const envelope = this.envelope!
    this.complete(this.timedOut(this.cell.path, envelope.message._tag))
    this.cell.cancel(envelope)
  }
  /** The caller was interrupted: drop the reply path and stop the work done for it. */
  interrupted(): void {
    if (this.settle(this.cell.system.deadlines)) this.cell.cancel(this.envelope!)
  }
}

/** Told once when a watched cell terminates: a local actor, or another node that watches it. */
export interface Watcher {
  notifyTerminated(terminated: Terminated.Terminated, message: { readonly _tag: string } | undefined): void
}
