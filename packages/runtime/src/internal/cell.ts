/**
 * The actor cell: one actor's state, mailbox and lifecycle.
 *
 * Scheduling: a cell has no fiber while idle. Enqueuing into an idle cell forks one drain fiber, which
 * handles control messages (from children) first, then user messages one at a time, and ends when the
 * mailbox is empty.
 *
 * Lifecycle operations on a cell (restart, stop) are done by its parent, in the parent's drain fiber, after
 * freezing the cell (it handles nothing while frozen and its drain fiber has ended). Stop requests from
 * anywhere else go to the parent as control messages, so a cell's children are only ever changed by one
 * fiber at a time.
 */
import { Cause, Clock, Context, Duration, Effect, Exit, Fiber, Option, Schema, Scope, Tracer } from "effect"
import type { ActorRef } from "../ActorRef.ts"
import { AskTimeout, RecipientTerminated, RequestFailed } from "../ActorRef.ts"
import { type Behavior, StashOverflow } from "../Behavior.ts"
import type * as Mailbox from "../Mailbox.ts"
import { MailboxFull } from "../Mailbox.ts"
import * as Protocol from "../Protocol.ts"
import * as Supervisor from "../Supervisor.ts"
import * as SystemEvent from "../SystemEvent.ts"
import * as Terminated from "../Terminated.ts"
import { ContextImpl } from "./context.ts"
import type { Deadline } from "./deadlines.ts"
import { Deque } from "./deque.ts"
import { Lanes } from "./lanes.ts"
import { LocalActorRef } from "./localRef.ts"
import type { SystemImpl } from "./system.ts"

/** The actor whose handler is running on the current fiber, if any (used as the sender of messages). */
export const CurrentActor = Context.Reference<ActorCell | undefined>("@troupe/runtime/CurrentActor", {
  defaultValue: () => undefined
})

// ---------------------------------------------------------------------------------------------------------
// Envelopes and replies
// ---------------------------------------------------------------------------------------------------------

/** Where the reply to a request goes: a local caller, or (later) a remote one. */
export interface ReplyTo {
  /** The caller is gone (timed out or interrupted): the request need not be handled. */
  readonly done: boolean
  /** Answers the caller; returns an effect when answering takes work (a remote reply to send). */
  complete(exit: Exit.Exit<unknown, unknown>): Effect.Effect<void> | undefined
}

const USER = 0
/** A death-watch notice for `onTerminated` (`ctx.watch`). */
const TERMINATED = 1
const TIMER = 2
/** A death-watch notice as a message of the watcher's protocol (`ctx.watchWith`). */
const NOTICE = 3

/** A message in a mailbox with its sender and, for requests, where the reply goes. */
export class Envelope {
  readonly message: { readonly _tag: string }
  readonly sender: ActorRef<Protocol.Any> | undefined
  readonly reply: ReplyTo | undefined
  readonly kind: number
  /**
   * For system messages, until they are handled: the timer that sent it, or the watch it notifies (see
   * `SystemImpl.watchKey`). A timer cancelled, or a watch undone, meanwhile: the message is not handled.
   */
  source: unknown
  /** When tracing: the span the message was sent from, the parent of the span that handles it. */
  span: Tracer.AnySpan | undefined = undefined
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
  }
}

/** A local caller waiting for a reply; it is its own deadline (one object per ask, not three). */
class PendingReply implements ReplyTo, Deadline {
  done = false
  at = 0
  index = -1
  envelope: Envelope | undefined = undefined
  private readonly cell: ActorCell
  private readonly resume: (effect: Effect.Effect<unknown, unknown>) => void
  private readonly timeoutMillis: number
  constructor(cell: ActorCell, resume: (effect: Effect.Effect<unknown, unknown>) => void, timeoutMillis: number) {
    this.cell = cell
    this.resume = resume
    this.timeoutMillis = timeoutMillis
  }
  complete(exit: Exit.Exit<unknown, unknown>): undefined {
    if (this.done) return
    this.done = true
    this.cell.system.deadlines.cancel(this)
    this.resume(exit)
  }
  /** The deadline passed: the caller gets `AskTimeout`, and the work done for it stops. */
  fire(): void {
    const envelope = this.envelope!
    const tag = envelope.message._tag
    this.complete(Exit.fail(new AskTimeout({ recipient: this.cell.path, tag, timeoutMillis: this.timeoutMillis })))
    this.cell.cancel(envelope)
  }
  /** The caller was interrupted: drop the reply path and stop the work done for it. */
  interrupted(): void {
    if (this.done) return
    this.done = true
    this.cell.system.deadlines.cancel(this)
    this.cell.cancel(this.envelope!)
  }
}

/** Told once when a watched cell terminates: a local actor, or another node that watches it. */
export interface Watcher {
  notifyTerminated(terminated: Terminated.Terminated, message: { readonly _tag: string } | undefined): void
}

interface Waiter {
  readonly envelope: Envelope
  readonly resume: (effect: Effect.Effect<void>) => void
  cancelled: boolean
}

interface TimerEntry {
  readonly key: string
  readonly message: { readonly _tag: string }
  readonly intervalMillis: number | undefined
  deadline: Deadline | undefined
}

// ---------------------------------------------------------------------------------------------------------
// Control messages (to a parent, about its children)
// ---------------------------------------------------------------------------------------------------------

type Control =
  | { readonly _tag: "ChildFailed"; readonly child: ActorCell; readonly cause: Cause.Cause<unknown> }
  | {
      readonly _tag: "StopChild"
      readonly child: ActorCell
      /** The child asked to stop itself (a permanent child is then restarted, as in OTP). */
      readonly self: boolean
    }
  | { readonly _tag: "RestartChildren"; readonly children: ReadonlyArray<ActorCell>; readonly failed: ActorCell }

/** Handled messages: a cell accepts user messages and control messages. */
const RUNNING = 0
/** Failed, waiting for its parent's decision: handles control messages only. */
const SUSPENDED = 1
/** Its parent is restarting or stopping it: handles nothing. */
const FROZEN = 2
const TERMINATED_STATUS = 3

/** Ends a handler that stashed its message. */
class StashSignal {
  readonly _tag = "StashSignal"
}
const stashSignal = new StashSignal()

const THROUGHPUT = 64

/**
 * Shutdown deadlines run on the real clock: they bound how long stopping takes, so a test that drives the
 * actors' time with `TestClock` still shuts its system down.
 */
const liveClock = Clock.Clock.defaultValue()

// ---------------------------------------------------------------------------------------------------------
// The cell
// ---------------------------------------------------------------------------------------------------------

/** Options a cell is spawned with. */
export interface CellOptions {
  readonly mailbox: Mailbox.Config
  readonly restart: Supervisor.RestartPolicy
  readonly shutdownTimeoutMillis: number
}

type AnyBehavior = Behavior<Protocol.Any, unknown, unknown>
type AnyHandler = (state: unknown, message: unknown, ctx: unknown) => Effect.Effect<unknown, unknown, unknown>

export class ActorCell {
  status = FROZEN
  state: unknown = undefined
  private mailbox: Lanes<Envelope> | undefined
  private waiters: Deque<Waiter> | undefined
  private control: Array<Control> | undefined
  private fiber: Fiber.Fiber<void, unknown> | undefined
  /** A drain fiber runs (or is about to). */
  private draining = false
  private current: Envelope | undefined
  private cancelledCurrent = false
  private stopAfterCurrent = false
  private unstashAfterCurrent = false
  private stashed: Array<Envelope> | undefined
  children: Map<string, ActorCell> | undefined
  private watchers: Map<Watcher, { readonly message: { readonly _tag: string } | undefined }> | undefined
  /** What this actor watches and has not been told of yet, by `SystemImpl.watchKey`. */
  private watching: Set<unknown> | undefined
  private listeners: Array<(terminated: Terminated.Terminated) => void> | undefined
  private scope: Scope.Closeable | undefined
  private timers: Map<string, TimerEntry> | undefined
  private anonymousCount = 0
  /** As a child: consecutive restarts and when the last one happened. */
  private consecutiveRestarts = 0
  private lastRestartAt = 0
  /** The backoff waited before the restart in progress. */
  private restartDelayMillis = 0
  /** As a supervisor: when recent restarts of children happened. */
  private restartTimes: Array<number> | undefined
  /** For inspectors: restarts since it was spawned, its last failure, whether a restart is in progress. */
  private restartsTotal = 0
  private lastFailure: { readonly cause: Cause.Cause<unknown>; readonly at: number } | undefined
  private restarting = false
  /** Its init failed during a restart: it has no state to resume with (its resources were released). */
  private initFailed = false
  termination: Terminated.Reason | undefined
  readonly ref: LocalActorRef<Protocol.Any>
  readonly system: SystemImpl
  readonly parent: ActorCell | undefined
  readonly name: string
  readonly path: string
  readonly behavior: AnyBehavior
  readonly options: CellOptions
  /** The services the actor runs with: those of whoever spawned it. */
  readonly context: Context.Context<never>

  constructor(
    system: SystemImpl,
    parent: ActorCell | undefined,
    name: string,
    path: string,
    behavior: AnyBehavior,
    options: CellOptions,
    context: Context.Context<never>
  ) {
    this.system = system
    this.parent = parent
    this.name = name
    this.path = path
    this.behavior = behavior
    this.options = options
    this.context = context
    this.ref = new LocalActorRef(this)
  }

  /** The root guardian (`/user`): no messages of its own; it supervises the top-level actors. */
  static guardian(system: SystemImpl, protocol: Protocol.Any): ActorCell {
    const { guardian, mailbox, shutdownTimeoutMillis } = system.settings
    const options = { mailbox, restart: "permanent" as const, shutdownTimeoutMillis }
    const cell = new ActorCell(system, undefined, "user", "/user", bare(protocol, guardian), options, system.context)
    cell.status = RUNNING
    return cell
  }

  /** A cell for an actor that is not there: already terminated, so messages to it are dead letters. */
  static ghost(system: SystemImpl, path: string, protocol: Protocol.Any): ActorCell {
    const options = { mailbox: system.settings.mailbox, restart: "temporary" as const, shutdownTimeoutMillis: 0 }
    const name = path.slice(path.lastIndexOf("/") + 1)
    const cell = new ActorCell(system, undefined, name, path, bare(protocol, undefined), options, system.context)
    cell.status = TERMINATED_STATUS
    cell.termination = Terminated.stopped
    return cell
  }

  get protocol(): Protocol.Any {
    return this.behavior.protocol
  }

  get strategy(): Supervisor.Strategy {
    return this.behavior.supervision ?? this.system.defaultStrategy
  }

  get isTerminated(): boolean {
    return this.status === TERMINATED_STATUS
  }

  /** Nothing to handle and nothing being handled (for passivation of idle entities). */
  get isQuiet(): boolean {
    return !this.draining && (this.mailbox === undefined || this.mailbox.length === 0)
  }

  // ------------------------------------------------------------------------------------------------------
  // Sending
  // ------------------------------------------------------------------------------------------------------

  /**
   * Puts an envelope in the mailbox. Returns false when the mailbox is full and the policy is to suspend the
   * sender or fail the send (the caller does either); dropping policies and dead recipients are handled here.
   */
  private offer(envelope: Envelope, inline = false): boolean {
    if (this.status === TERMINATED_STATUS) {
      this.bounce(envelope, "terminated")
      return true
    }
    const mailbox = (this.mailbox ??= new Lanes())
    const { capacity, overflow } = this.options.mailbox
    if (mailbox.userLength < capacity && (this.waiters === undefined || this.waiters.length === 0)) {
      mailbox.push(envelope)
      this.schedule(inline)
      return true
    }
    // For `suspend`, report the start of a backpressure episode, not every sender that waits in it.
    if (overflow !== "suspend" || this.waiters === undefined || this.waiters.length === 0) {
      this.system.publish(new SystemEvent.Overflow({ path: this.path, policy: overflow, capacity }))
    }
    switch (overflow) {
      case "suspend":
      case "fail":
        return false
      case "drop-newest":
        this.bounce(envelope, "overflow")
        return true
      case "drop-oldest": {
        const oldest = mailbox.shiftUser()
        if (oldest !== undefined) this.bounce(oldest, "overflow")
        mailbox.push(envelope)
        this.schedule(inline)
        return true
      }
    }
  }

  private mailboxFull(envelope: Envelope): MailboxFull {
    return new MailboxFull({
      recipient: this.path,
      capacity: this.options.mailbox.capacity,
      tag: envelope.message._tag
    })
  }

  /** Waits for room in a full mailbox; the envelope goes in, in order, when there is. */
  private addWaiter(envelope: Envelope, resume: (effect: Effect.Effect<void>) => void): Waiter {
    const waiter: Waiter = { envelope, resume, cancelled: false }
    ;(this.waiters ??= new Deque()).push(waiter)
    return waiter
  }

  /**
   * Enqueues a system message (a death-watch notice, a timer message) in the mailbox's system lane: never
   * refused, never dropped, not counted against the capacity, handled after the user messages queued before it.
   */
  enqueueSystem(envelope: Envelope): void {
    if (this.status === TERMINATED_STATUS) {
      this.bounce(envelope, "terminated")
      return
    }
    ;(this.mailbox ??= new Lanes()).pushSystem(envelope)
    this.schedule()
  }

  /** A message that will not be handled: requests fail at once, everything becomes a dead letter. */
  private bounce(envelope: Envelope, reason: SystemEvent.DeadLetterReason): void {
    const tag = envelope.message._tag
    if (envelope.reply !== undefined && !envelope.reply.done) {
      this.system.runDetached(
        envelope.reply.complete(
          reason === "overflow"
            ? Exit.fail(this.mailboxFull(envelope))
            : Exit.fail(new RecipientTerminated({ recipient: this.path, tag }))
        )
      )
    }
    this.system.deadLetter(this.path, envelope.message, reason)
  }

  /** With `inline`, an idle actor handles it in this call (see {@link schedule}): for deliveries from outside. */
  tell(
    message: { readonly _tag: string },
    fiber: Fiber.Fiber<unknown, unknown>,
    inline = false
  ): Effect.Effect<void, MailboxFull> {
    const envelope = this.envelope(message, fiber, undefined)
    if (this.offer(envelope, inline)) return Effect.void
    if (this.options.mailbox.overflow === "fail") return Effect.fail(this.mailboxFull(envelope))
    return Effect.callback<void>((resume) => {
      const waiter = this.addWaiter(envelope, resume)
      return Effect.sync(() => {
        waiter.cancelled = true
      })
    })
  }

  ask(
    message: { readonly _tag: string },
    fiber: Fiber.Fiber<unknown, unknown>,
    timeoutMillis: number
  ): Effect.Effect<unknown, unknown> {
    return Effect.callback<unknown, unknown>((resume) => this.askNow(message, fiber, timeoutMillis, resume))
  }

  /** Puts a request in the mailbox now; `resume` gets the reply. Returns what to run if the caller goes away. */
  askNow(
    message: { readonly _tag: string },
    fiber: Fiber.Fiber<unknown, unknown>,
    timeoutMillis: number,
    resume: (effect: Effect.Effect<unknown, unknown>) => void,
    inline = false
  ): Effect.Effect<void> {
    const pending = new PendingReply(this, resume, timeoutMillis)
    const envelope = (pending.envelope = this.envelope(message, fiber, pending))
    const deadlines = this.system.deadlines
    pending.at = deadlines.now() + timeoutMillis
    deadlines.add(pending)
    if (!this.offer(envelope, inline)) {
      if (this.options.mailbox.overflow === "fail") pending.complete(Exit.fail(this.mailboxFull(envelope)))
      else this.addWaiter(envelope, noop)
    }
    return Effect.sync(() => pending.interrupted())
  }

  /** An envelope from the actor running on `fiber` (if any), with its span when tracing. */
  private envelope(
    message: { readonly _tag: string },
    fiber: Fiber.Fiber<unknown, unknown>,
    reply: ReplyTo | undefined
  ): Envelope {
    const envelope = new Envelope(message, fiber.getRef(CurrentActor)?.ref, reply)
    if (this.system.tracing) envelope.span = Context.getOrUndefined(fiber.context, Tracer.ParentSpan)
    return envelope
  }

  /**
   * Delivers an envelope that came from another node: like a tell, except that a `"fail"` mailbox bounces it
   * (a request is answered with `MailboxFull`) and a full `"suspend"` mailbox parks it, in order, with the
   * senders waiting for room. Returns false when it was parked: `admitted` runs once it is in the mailbox (or
   * bounced because the actor terminated). Without `admitted`, a message that does not fit is not parked.
   */
  deliver(envelope: Envelope, admitted: (() => void) | undefined): boolean {
    if (this.offer(envelope, true)) return true
    if (this.options.mailbox.overflow === "fail") {
      this.bounce(envelope, "overflow")
      return true
    }
    if (admitted !== undefined) this.addWaiter(envelope, admitted)
    return false
  }

  /** The caller of this request is gone: if the handler is working on it, interrupt that work. */
  cancel(envelope: Envelope): void {
    if (this.current === envelope && this.fiber !== undefined) {
      this.cancelledCurrent = true
      this.fiber.interruptUnsafe()
    }
  }

  private sendControl(message: Control): void {
    if (this.status === TERMINATED_STATUS) return
    ;(this.control ??= []).push(message)
    this.schedule()
  }

  // ------------------------------------------------------------------------------------------------------
  // Scheduling and the drain loop
  // ------------------------------------------------------------------------------------------------------

  private hasWork(): boolean {
    if (this.control !== undefined && this.control.length > 0) return this.status !== FROZEN
    return this.status === RUNNING && this.mailbox !== undefined && this.mailbox.length > 0
  }

  /**
   * Starts draining if there is work and no drain runs: on the system's next dispatch turn, shared by every
   * actor woken before it, or, with `inline` (a delivery from another node, whose dispatcher is not a sender
   * that must go on first), at once.
   */
  schedule(inline = false): void {
    if (this.draining || !this.hasWork()) return
    this.draining = true
    this.system.running++
    this.system.sampleDepth(this.mailbox?.length ?? 0)
    if (inline) this.drainNow()
    else this.system.wake(this)
  }

  /**
   * Handles messages in the caller's call (the system's dispatch turn) for as long as handlers complete at
   * once (they returned `Effect.succeed`, say): no fiber is made for them. The first handler that needs a
   * fiber, a reply that takes work, a failure or a control message hands the rest to a drain fiber; after
   * `THROUGHPUT` messages the actor waits for the next turn, so that others go on.
   */
  drainNow(): void {
    let handled = 0
    for (;;) {
      const control = this.control
      if (control !== undefined && control.length > 0 && this.status !== FROZEN) {
        this.startDrain(undefined)
        return
      }
      const envelope = this.status === RUNNING ? this.shiftOrRelease() : undefined
      if (envelope === undefined) {
        this.draining = false
        this.system.running--
        return
      }
      this.admitWaiters()
      const effect = this.handle(envelope)
      if (effect === undefined) continue
      if (!Exit.isExit(effect)) {
        this.startDrain(Effect.flatMap(Effect.exit(effect), (exit) => this.afterHandle(envelope, exit) ?? Effect.void))
        return
      }
      const after = this.afterHandle(envelope, effect)
      if (after !== undefined) {
        this.startDrain(after)
        return
      }
      if (++handled >= THROUGHPUT) {
        this.system.wake(this)
        return
      }
    }
  }

  /** Hands draining to a fiber: it runs `first` (if any), then handles messages until the mailbox is empty. */
  private startDrain(first: Effect.Effect<void> | undefined): void {
    const loop = Effect.suspend(() => this.loop(0))
    const drain = Effect.onExit(first === undefined ? loop : Effect.andThen(first, loop), (exit) =>
      Effect.sync(() => this.drained(exit))
    )
    // The fiber starts at once: it must be known before its first step, which may resume a caller that
    // cancels its request at once.
    Effect.runForkWith(Context.add(this.context, CurrentActor, this))(
      Effect.withFiber((fiber) => {
        this.fiber = fiber as Fiber.Fiber<void, unknown>
        return drain
      })
    )
  }

  /** The next message, or undefined with the mailbox released: an idle actor keeps no ring buffer. */
  private shiftOrRelease(): Envelope | undefined {
    const mailbox = this.mailbox
    if (mailbox === undefined) return undefined
    const envelope = mailbox.shift()
    if (envelope === undefined) this.mailbox = undefined
    return envelope
  }

  /** A defect thrown while draining in the dispatch turn (a bug of the runtime): as if a drain fiber died. */
  drainDefect(defect: unknown): void {
    this.drained(Exit.die(defect))
  }

  private drained(exit: Exit.Exit<void>): void {
    this.draining = false
    this.fiber = undefined
    this.system.running--
    if (Exit.isFailure(exit)) this.drainInterrupted(exit.cause)
    this.schedule()
  }

  private loop(handled: number): Effect.Effect<void> {
    for (;;) {
      const control = this.control
      if (control !== undefined && control.length > 0 && this.status !== FROZEN) {
        return Effect.andThen(
          this.handleControl(control.shift()!),
          Effect.suspend(() => this.loop(handled))
        )
      }
      if (this.status !== RUNNING) return Effect.void
      const envelope = this.shiftOrRelease()
      if (envelope === undefined) return Effect.void
      this.admitWaiters()
      const effect = this.handle(envelope)
      if (effect === undefined) continue
      if (++handled >= THROUGHPUT) handled = 0
      if (Exit.isExit(effect)) {
        // A handler that returned `Effect.succeed`/`Effect.fail` is done already: no fiber step needed.
        const after = this.afterHandle(envelope, effect)
        if (after !== undefined)
          return Effect.andThen(
            after,
            Effect.suspend(() => this.loop(handled))
          )
        if (handled === 0)
          return Effect.andThen(
            Effect.yieldNow,
            Effect.suspend(() => this.loop(0))
          )
        continue
      }
      return Effect.flatMap(Effect.exit(effect), (exit) => {
        const after = this.afterHandle(envelope, exit)
        const next = Effect.suspend(() => this.loop(handled))
        return after === undefined
          ? handled === 0
            ? Effect.andThen(Effect.yieldNow, next)
            : next
          : Effect.andThen(after, next)
      })
    }
  }

  /** The drain fiber was interrupted: an ask's caller gave up, or a parent froze this cell. */
  private drainInterrupted(cause: Cause.Cause<unknown>): void {
    const envelope = this.current
    this.current = undefined
    if (this.cancelledCurrent) {
      this.cancelledCurrent = false
      return
    }
    if (envelope !== undefined) {
      if (envelope.reply !== undefined && !envelope.reply.done) {
        this.system.runDetached(
          envelope.reply.complete(
            Exit.fail(new RecipientTerminated({ recipient: this.path, tag: envelope.message._tag }))
          )
        )
      }
      this.system.deadLetter(this.path, envelope.message, "interrupted")
    }
    if (!Cause.hasInterruptsOnly(cause)) this.system.logDefect(this.path, cause)
  }

  /** A sender suspended on a full mailbox gets its message in, now that there is room. */
  /**
   * Senders suspended on a full mailbox get their messages in, in order, once it is half empty: letting them
   * in one by one would suspend the sender again on every message.
   */
  private admitWaiters(): void {
    const waiters = this.waiters
    if (waiters === undefined || waiters.length === 0) return
    const mailbox = (this.mailbox ??= new Lanes())
    const capacity = this.options.mailbox.capacity
    if (mailbox.userLength > capacity >> 1) return
    while (waiters.length > 0 && mailbox.userLength < capacity) {
      const waiter = waiters.shift()!
      if (waiter.cancelled) continue
      mailbox.push(waiter.envelope)
      waiter.resume(Effect.void)
    }
  }

  // ------------------------------------------------------------------------------------------------------
  // Handling one message
  // ------------------------------------------------------------------------------------------------------

  /** Starts handling one envelope: returns the handler's effect, or undefined when it was skipped. */
  private handle(envelope: Envelope): Effect.Effect<unknown, unknown> | undefined {
    if (envelope.reply?.done) {
      this.system.deadLetter(this.path, envelope.message, "expired")
      return undefined
    }
    const message = envelope.message
    if (envelope.source !== undefined) {
      // The first time a system message is handled (not when it comes back from the stash): is it still due?
      const source = envelope.source
      envelope.source = undefined
      if (envelope.kind === TIMER) {
        const timer = source as TimerEntry
        if (this.timers?.get(timer.key) !== timer) return undefined
        if (timer.intervalMillis === undefined) this.deleteTimer(timer.key)
      } else if (this.watching?.delete(source) !== true) {
        return undefined
      }
    }
    let effect: Effect.Effect<unknown, unknown, unknown>
    let tag = message._tag
    this.current = envelope
    if (envelope.kind === TERMINATED) {
      const onTerminated = this.behavior.onTerminated
      const terminated = message as unknown as Terminated.Terminated
      effect =
        onTerminated !== undefined
          ? call(onTerminated, this.state, terminated, this.context_())
          : Effect.fail(new Terminated.DeathPact({ watcher: this.path, terminated: terminated.ref.path }))
    } else {
      const handler = (this.behavior.receive as unknown as Record<string, AnyHandler | undefined>)[tag]
      if (handler === undefined) {
        this.current = undefined
        this.bounce(envelope, "unhandled")
        return undefined
      }
      effect = call(handler, this.state, message, this.context_())
    }
    if (this.system.tracing) {
      tag = envelope.kind === TERMINATED ? "Terminated" : tag
      const attributes = { "actor.path": this.path, "actor.protocol": this.protocol.name, "message.tag": tag }
      const name = `${this.name}.${tag}`
      effect =
        envelope.span === undefined
          ? Effect.withSpan(effect, name, { kind: "consumer", attributes, root: true })
          : Effect.withSpan(effect, name, { kind: "consumer", attributes, parent: envelope.span })
    }
    return effect as Effect.Effect<unknown, unknown>
  }

  /** Applies a handler's outcome; returns an effect only when there is more to do (a reply to send, a failure to report). */
  private afterHandle(envelope: Envelope, exit: Exit.Exit<unknown, unknown>): Effect.Effect<void> | undefined {
    // A handler that outlived its actor's stop (see `abandon`): its outcome goes nowhere.
    if (this.status === TERMINATED_STATUS) return undefined
    this.current = undefined
    this.system.countHandled()
    const reply = envelope.reply
    if (Exit.isSuccess(exit)) {
      if (reply !== undefined) {
        const { state, reply: value } = exit.value as { state: unknown; reply: unknown }
        this.state = state
        this.afterMessage()
        return reply.complete(Exit.succeed(value))
      }
      this.state = exit.value
      this.afterMessage()
      return undefined
    }
    const cause = exit.cause
    const failure = cause.reasons.find(Cause.isFailReason)
    if (failure !== undefined && failure.error === stashSignal) {
      const stashed = (this.stashed ??= [])
      if (stashed.length >= this.options.mailbox.capacity) {
        return this.fail(
          Cause.fail(new StashOverflow({ path: this.path, capacity: this.options.mailbox.capacity })),
          envelope
        )
      }
      stashed.push(envelope)
      this.afterMessage()
      return undefined
    }
    if (reply !== undefined && failure !== undefined && cause.reasons.length === 1) {
      const def = Protocol.requestDef(this.protocol, envelope.message._tag)
      if (def !== undefined && isDeclared(def.failure, failure.error)) {
        this.afterMessage()
        return reply.complete(Exit.fail(failure.error))
      }
    }
    return this.fail(cause, envelope)
  }

  private afterMessage(): void {
    if (this.unstashAfterCurrent) {
      this.unstashAfterCurrent = false
      const stashed = this.stashed
      if (stashed !== undefined) {
        this.stashed = undefined
        const mailbox = (this.mailbox ??= new Lanes())
        for (let i = stashed.length - 1; i >= 0; i--) mailbox.unshift(stashed[i]!)
      }
    }
    if (this.stopAfterCurrent) {
      this.stopAfterCurrent = false
      this.requestStop(true)
    }
  }

  /** The actor failed: answer the request it was handling, tell the world, and ask the parent what to do. */
  private fail(cause: Cause.Cause<unknown>, envelope: Envelope | undefined): Effect.Effect<void> {
    const tag = envelope?.message._tag
    this.system.runDetached(
      envelope?.reply?.complete(
        Exit.fail(new RequestFailed({ recipient: this.path, tag: tag!, cause: Cause.pretty(cause) }))
      )
    )
    this.status = SUSPENDED
    this.lastFailure = { cause, at: this.system.deadlines.now() }
    this.system.countFailure()
    this.system.publish(new SystemEvent.Failed({ path: this.path, tag, cause }))
    const parent = this.parent
    if (parent !== undefined) parent.sendControl({ _tag: "ChildFailed", child: this, cause })
    return Effect.logError("Actor failed", cause).pipe(
      Effect.annotateLogs({ actor: this.path, ...(tag === undefined ? {} : { message: tag }) })
    )
  }

  // ------------------------------------------------------------------------------------------------------
  // Supervision (this cell as the parent)
  // ------------------------------------------------------------------------------------------------------

  private isLiveChild(child: ActorCell): boolean {
    return child.parent === this && this.children?.get(child.name) === child && child.status !== TERMINATED_STATUS
  }

  private handleControl(message: Control): Effect.Effect<void> {
    if (this.status === TERMINATED_STATUS) return Effect.void
    switch (message._tag) {
      case "ChildFailed":
        return this.isLiveChild(message.child) ? this.supervise(message.child, message.cause) : Effect.void
      case "StopChild":
        if (!this.isLiveChild(message.child)) return Effect.void
        if (message.self && message.child.options.restart === "permanent") {
          return this.restart(message.child, Cause.fail(new Supervisor.StoppedItself({ path: message.child.path })))
        }
        return Effect.andThen(message.child.freeze(), message.child.stopTree(Terminated.stopped))
      case "RestartChildren":
        return this.reinitAll(
          message.children.filter((child) => this.isLiveChild(child)),
          message.failed
        )
    }
  }

  private supervise(child: ActorCell, cause: Cause.Cause<unknown>): Effect.Effect<void> {
    const strategy = this.strategy
    let directive: Supervisor.Directive
    try {
      directive = strategy.decider(cause)
    } catch (defect) {
      directive = "escalate"
      cause = Cause.combine(cause, Cause.die(defect))
    }
    if (directive === "resume" && child.initFailed) {
      // Its previous state's resources were released before the restart whose init failed: try again.
      return Effect.andThen(
        Effect.logWarning("Cannot resume an actor whose init failed during a restart; restarting it").pipe(
          Effect.annotateLogs({ actor: child.path })
        ),
        this.restart(child, cause)
      )
    }
    switch (directive) {
      case "resume":
        child.status = RUNNING
        this.system.publish(new SystemEvent.Resumed({ path: child.path }))
        child.schedule()
        return Effect.void
      case "stop":
        return Effect.andThen(child.freeze(), child.stopTree(new Terminated.Failed({ cause })))
      case "escalate":
        return this.escalate(
          child,
          cause,
          new Supervisor.ChildFailureEscalated({ supervisor: this.path, child: child.path, cause: Cause.pretty(cause) })
        )
      case "restart":
        return this.restart(child, cause)
    }
  }

  private restart(child: ActorCell, cause: Cause.Cause<unknown>): Effect.Effect<void> {
    if (child.options.restart === "temporary") {
      return Effect.andThen(child.freeze(), child.stopTree(new Terminated.Failed({ cause })))
    }
    const strategy = this.strategy
    const now = this.system.deadlines.now()
    const windowStart = now - Duration.toMillis(strategy.within)
    const times = (this.restartTimes = (this.restartTimes ?? []).filter((t) => t > windowStart))
    times.push(now)
    if (times.length > strategy.maxRestarts) {
      this.restartTimes = undefined
      return this.escalate(
        child,
        cause,
        new Supervisor.RestartBudgetExhausted({
          supervisor: this.path,
          child: child.path,
          maxRestarts: strategy.maxRestarts,
          withinMillis: Duration.toMillis(strategy.within),
          cause: Cause.pretty(cause)
        })
      )
    }
    const siblings = [...(this.children?.values() ?? [])]
    const affected =
      strategy.kind === "one-for-one"
        ? [child]
        : strategy.kind === "one-for-all"
          ? siblings
          : siblings.slice(siblings.indexOf(child))
    if (
      child.consecutiveRestarts > 0 &&
      now - child.lastRestartAt > Duration.toMillis(strategy.backoff?.resetAfter ?? 0)
    ) {
      child.consecutiveRestarts = 0
    }
    const delay = Supervisor.delayMillis(strategy.backoff, child.consecutiveRestarts, Math.random())
    const self = this
    return Effect.gen(function* () {
      const restarted: Array<ActorCell> = []
      for (const cell of affected.toReversed()) {
        yield* cell.freeze(false)
        if (cell !== child && cell.options.restart === "temporary") {
          yield* cell.stopTree(Terminated.stopped)
        } else {
          yield* cell.teardown()
          cell.restartDelayMillis = delay
          cell.restarting = true
          restarted.unshift(cell)
        }
      }
      if (delay > 0) {
        self.system.deadlines.schedule(now + delay, () =>
          self.sendControl({ _tag: "RestartChildren", children: restarted, failed: child })
        )
      } else {
        yield* self.reinitAll(restarted, child)
      }
    })
  }

  private reinitAll(cells: ReadonlyArray<ActorCell>, failed: ActorCell): Effect.Effect<void> {
    return Effect.forEach(cells, (cell) => cell.reinit(cell === failed), { discard: true })
  }

  /** This supervisor gives up on a child: it stops all its children and fails itself. */
  private escalate(child: ActorCell, cause: Cause.Cause<unknown>, error: unknown): Effect.Effect<void> {
    this.system.publish(new SystemEvent.Escalated({ path: this.path, child: child.path, cause }))
    const self = this
    return Effect.gen(function* () {
      if (self.parent === undefined) {
        // The root guardian has nobody to escalate to: it stops the failing subtree, and the other top-level
        // actors (independent services) go on.
        yield* child.freeze()
        yield* child.stopTree(new Terminated.Failed({ cause }))
        yield* Effect.logError("Failure escalated to the root guardian; the failing subtree was stopped", cause).pipe(
          Effect.annotateLogs({ actor: child.path })
        )
        return
      }
      yield* self.stopChildren()
      yield* self.fail(Cause.fail(error), undefined)
    })
  }

  // ------------------------------------------------------------------------------------------------------
  // Lifecycle (run by the parent, on a frozen cell)
  // ------------------------------------------------------------------------------------------------------

  /**
   * Stops handling messages and waits until the drain fiber has ended, interrupting it after the shutdown
   * deadline. Before a stop (`stopping`), the wait for the interruption is bounded too: a handler that does not
   * end by a second deadline (it is in an uninterruptible region) is left running, detached from the actor,
   * and reported. Before a restart the wait is not bounded: the next incarnation must not run beside it.
   */
  freeze(stopping = true): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.status === TERMINATED_STATUS) return Effect.void
      this.status = FROZEN
      const fiber = this.fiber
      if (fiber === undefined) return Effect.void
      const ended = Effect.timeoutOption(Fiber.await(fiber), Duration.millis(this.options.shutdownTimeoutMillis)).pipe(
        Effect.provideService(Clock.Clock, liveClock)
      )
      return Effect.flatMap(ended, (done) => {
        if (Option.isSome(done)) return Effect.void
        if (!stopping) return Effect.asVoid(Fiber.interrupt(fiber))
        fiber.interruptUnsafe()
        return Effect.flatMap(ended, (interrupted) => (Option.isSome(interrupted) ? Effect.void : this.abandon()))
      })
    })
  }

  /**
   * The handler did not stop in time: its caller is answered, the message is a dead letter, and the stop goes on
   * without it (whatever it does when it ends is ignored: see {@link afterHandle}).
   */
  private abandon(): Effect.Effect<void> {
    const envelope = this.current
    this.current = undefined
    const tag = envelope?.message._tag
    if (envelope !== undefined) this.bounce(envelope, "interrupted")
    const timeoutMillis = this.options.shutdownTimeoutMillis
    this.system.publish(new SystemEvent.StopTimedOut({ path: this.path, tag, timeoutMillis }))
    return Effect.logError("Actor did not stop within its shutdown deadline; its handler was left running").pipe(
      Effect.annotateLogs({ actor: this.path, timeoutMillis, ...(tag === undefined ? {} : { message: tag }) })
    )
  }

  /** Runs the behaviour's init in the actor's scope; sets the state and starts handling messages. */
  start(): Effect.Effect<void, unknown> {
    return Effect.suspend(() => {
      const { init, initial } = this.behavior
      this.initFailed = false
      if (init === undefined) {
        this.state = initial
        this.status = RUNNING
        this.schedule()
        return Effect.void
      }
      return init(this.context_()).pipe(
        Effect.provideService(Scope.Scope, this.scope_()),
        Effect.provideService(CurrentActor, this),
        Effect.provideContext(this.context),
        Effect.tap((state) =>
          Effect.sync(() => {
            this.state = state
            this.status = RUNNING
            this.schedule()
          })
        ),
        Effect.asVoid
      ) as Effect.Effect<void, unknown>
    })
  }

  /** Before a restart: stop the children, cancel timers, release the scope's resources. */
  private teardown(): Effect.Effect<void> {
    return Effect.andThen(this.stopChildren(), this.releaseResources(Exit.void))
  }

  private reinit(failed: boolean): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.status === TERMINATED_STATUS) return Effect.void
      const now = this.system.deadlines.now()
      if (failed) {
        this.consecutiveRestarts++
        this.lastRestartAt = now
      }
      const stashed = this.stashed
      if (stashed !== undefined) {
        this.stashed = undefined
        const mailbox = (this.mailbox ??= new Lanes())
        for (let i = stashed.length - 1; i >= 0; i--) mailbox.unshift(stashed[i]!)
      }
      this.restarting = false
      return Effect.matchCauseEffect(this.start(), {
        onSuccess: () => {
          this.restartsTotal++
          this.system.countRestart()
          this.system.publish(
            new SystemEvent.Restarted({
              path: this.path,
              restarts: this.consecutiveRestarts,
              delayMillis: this.restartDelayMillis
            })
          )
          return Effect.logWarning("Actor restarted").pipe(Effect.annotateLogs({ actor: this.path }))
        },
        onFailure: (cause) => {
          this.initFailed = true
          return this.fail(cause, undefined)
        }
      })
    })
  }

  /** Stops the children in reverse start order, each with its deadline. */
  private stopChildren(): Effect.Effect<void> {
    return Effect.suspend(() => {
      const children = [...(this.children?.values() ?? [])].toReversed()
      return Effect.forEach(children, (child) => Effect.andThen(child.freeze(), child.stopTree(Terminated.stopped)), {
        discard: true
      })
    })
  }

  /** Stops this (frozen) cell: its children first, then its resources; then tells whoever waits for it. */
  stopTree(reason: Terminated.Reason): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.status === TERMINATED_STATUS) return Effect.void
      return Effect.andThen(
        Effect.andThen(this.stopChildren(), this.releaseResources(Exit.void)),
        Effect.sync(() => this.terminate(reason))
      )
    })
  }

  private releaseResources(exit: Exit.Exit<unknown, unknown>): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.timers !== undefined) {
        for (const timer of this.timers.values()) {
          if (timer.deadline !== undefined) this.system.deadlines.cancel(timer.deadline)
        }
        this.timers = undefined
      }
      const scope = this.scope
      if (scope === undefined) return Effect.void
      this.scope = undefined
      return Scope.close(scope, exit)
    })
  }

  private terminate(reason: Terminated.Reason): void {
    this.status = TERMINATED_STATUS
    this.termination = reason
    this.state = undefined
    this.control = undefined
    if (this.stashed !== undefined) {
      for (const envelope of this.stashed) this.bounce(envelope, "terminated")
      this.stashed = undefined
    }
    if (this.mailbox !== undefined) {
      for (const envelope of this.mailbox.drain()) {
        if (envelope.kind !== TERMINATED) this.bounce(envelope, "terminated")
      }
      this.mailbox = undefined
    }
    if (this.waiters !== undefined) {
      for (const waiter of this.waiters.drain()) {
        if (waiter.cancelled) continue
        this.bounce(waiter.envelope, "terminated")
        waiter.resume(Effect.void)
      }
      this.waiters = undefined
    }
    this.parent?.children?.delete(this.name)
    this.system.unregister(this)
    if (this.watching !== undefined) {
      for (const key of this.watching) if (key instanceof ActorCell) key.watchers?.delete(this)
      this.watching = undefined
    }
    const terminated = new Terminated.Terminated({ ref: this.ref, reason })
    if (this.watchers !== undefined) {
      for (const [watcher, { message }] of this.watchers) watcher.notifyTerminated(terminated, message)
      this.watchers = undefined
    }
    this.system.cellTerminated(this)
    const listeners = this.listeners
    if (listeners !== undefined) {
      this.listeners = undefined
      for (const listener of [...listeners]) listener(terminated)
    }
    this.system.publish(new SystemEvent.Stopped({ path: this.path, reason }))
  }

  /** Asks the parent to stop this cell (it handles nothing more in the meantime). */
  requestStop(self: boolean): void {
    if (this.status === TERMINATED_STATUS) return
    if (this.parent === undefined) return
    if (self) this.status = SUSPENDED
    this.parent.sendControl({ _tag: "StopChild", child: this, self })
  }

  // ------------------------------------------------------------------------------------------------------
  // Death watch
  // ------------------------------------------------------------------------------------------------------

  /**
   * As a watcher: starts a watch of the actor with this key (`SystemImpl.watchKey`); false when it is watched
   * already (a watch gives one notification, however often it is made).
   */
  beginWatch(key: unknown): boolean {
    const watching = (this.watching ??= new Set())
    if (watching.has(key)) return false
    watching.add(key)
    return true
  }

  /** As a watcher: undoes a watch; a notice of it already queued is not handled. */
  endWatch(key: unknown): void {
    this.watching?.delete(key)
  }

  notifyTerminated(terminated: Terminated.Terminated, message: { readonly _tag: string } | undefined): void {
    const key = this.system.watchKey(terminated.ref)
    this.enqueueSystem(
      message === undefined
        ? new Envelope(terminated as unknown as { readonly _tag: string }, undefined, undefined, TERMINATED, key)
        : new Envelope(message, undefined, undefined, NOTICE, key)
    )
  }

  /**
   * A termination notice that comes from no watch of this cell's (a session's coordinator and the participants
   * of its node tell each other directly): handled as `notifyTerminated`'s, and never dropped as unwatched.
   */
  tellTerminated(terminated: Terminated.Terminated, message: { readonly _tag: string } | undefined): void {
    this.enqueueSystem(
      message === undefined
        ? new Envelope(terminated as unknown as { readonly _tag: string }, undefined, undefined, TERMINATED)
        : new Envelope(message, undefined, undefined, NOTICE)
    )
  }

  /** `watcher` will be told once when this cell terminates (at once if it already has). */
  addWatcher(watcher: Watcher, message: { readonly _tag: string } | undefined): void {
    if (this.status === TERMINATED_STATUS) {
      watcher.notifyTerminated(new Terminated.Terminated({ ref: this.ref, reason: this.termination! }), message)
      return
    }
    ;(this.watchers ??= new Map()).set(watcher, { message })
  }

  removeWatcher(watcher: Watcher): void {
    this.watchers?.delete(watcher)
  }

  /** Calls `listener` once when this cell terminates (at once if it already has); returns a canceller. */
  onTermination(listener: (terminated: Terminated.Terminated) => void): () => void {
    if (this.status === TERMINATED_STATUS) {
      listener(new Terminated.Terminated({ ref: this.ref, reason: this.termination! }))
      return () => {}
    }
    const listeners = (this.listeners ??= [])
    listeners.push(listener)
    return () => {
      const i = listeners.indexOf(listener)
      if (i >= 0) listeners.splice(i, 1)
    }
  }

  // ------------------------------------------------------------------------------------------------------
  // Context given to handlers
  // ------------------------------------------------------------------------------------------------------

  scope_(): Scope.Closeable {
    return (this.scope ??= Scope.makeUnsafe())
  }

  context_(): ContextImpl {
    return new ContextImpl(this)
  }

  get currentSender(): ActorRef<Protocol.Any> | undefined {
    return this.current?.sender
  }

  nextChildName(): string {
    return `$${++this.anonymousCount}`
  }

  requestStash(): Effect.Effect<never> {
    return Effect.fail(stashSignal) as unknown as Effect.Effect<never>
  }

  requestUnstash(): void {
    this.unstashAfterCurrent = true
  }

  requestStopAfterCurrent(): void {
    if (this.current === undefined) this.requestStop(true)
    else this.stopAfterCurrent = true
  }

  startTimer(key: string, message: { readonly _tag: string }, delayMillis: number, intervalMillis: number | undefined) {
    this.cancelTimer(key)
    if (this.status === TERMINATED_STATUS) return
    const timer: TimerEntry = { key, message, intervalMillis, deadline: undefined }
    ;(this.timers ??= new Map()).set(key, timer)
    const fire = () => {
      timer.deadline =
        intervalMillis === undefined
          ? undefined
          : this.system.deadlines.schedule(this.system.deadlines.now() + intervalMillis, fire)
      this.enqueueSystem(new Envelope(message, undefined, undefined, TIMER, timer))
    }
    timer.deadline = this.system.deadlines.schedule(this.system.deadlines.now() + delayMillis, fire)
  }

  cancelTimer(key: string): void {
    const timer = this.timers?.get(key)
    if (timer === undefined) return
    this.deleteTimer(key)
    if (timer.deadline !== undefined) this.system.deadlines.cancel(timer.deadline)
  }

  private deleteTimer(key: string): void {
    this.timers!.delete(key)
    if (this.timers!.size === 0) this.timers = undefined
  }

  hasTimer(key: string): boolean {
    return this.timers?.has(key) ?? false
  }

  /** What an inspector shows of this actor now (read-only). */
  inspect(): CellSnapshot {
    const status =
      this.status === TERMINATED_STATUS
        ? "stopped"
        : this.status === SUSPENDED
          ? "failed"
          : this.status === FROZEN
            ? this.restarting
              ? "restarting"
              : "stopping"
            : this.draining
              ? "running"
              : "idle"
    return {
      status,
      mailbox: (this.mailbox?.length ?? 0) + (this.waiters?.length ?? 0),
      capacity: this.options.mailbox.capacity,
      stashed: this.stashed?.length ?? 0,
      restarts: this.restartsTotal,
      lastFailure: this.lastFailure
    }
  }
}

/** See {@link ActorCell.inspect}. */
export interface CellSnapshot {
  readonly status: "running" | "idle" | "failed" | "restarting" | "stopping" | "stopped"
  /** Messages waiting, senders suspended on a full mailbox included. */
  readonly mailbox: number
  readonly capacity: number
  readonly stashed: number
  readonly restarts: number
  readonly lastFailure: { readonly cause: Cause.Cause<unknown>; readonly at: number } | undefined
}

const noop = () => {}

/** A behaviour that handles no message (for the guardian and for cells of actors that are not there). */
const bare = (protocol: Protocol.Any, supervision: Supervisor.Strategy | undefined): AnyBehavior => ({
  protocol,
  initial: undefined,
  init: undefined,
  receive: {} as AnyBehavior["receive"],
  onTerminated: undefined,
  supervision
})

/** Calls a handler; a handler that throws instead of returning an effect has a defect. */
const call = <A, B, C>(
  handler: (a: A, b: B, c: C) => Effect.Effect<unknown, unknown, unknown>,
  a: A,
  b: B,
  c: C
): Effect.Effect<unknown, unknown, unknown> => {
  try {
    return handler(a, b, c)
  } catch (defect) {
    return Effect.die(defect)
  }
}

const isCache = new WeakMap<object, (u: unknown) => boolean>()

/** Whether a request handler's failure is the request's declared failure (then it is a reply, not a crash). */
const isDeclared = (schema: Schema.Top, error: unknown): boolean => {
  if (schema === Schema.Never) return false
  let is = isCache.get(schema)
  if (is === undefined) {
    is = Schema.is(schema) as (u: unknown) => boolean
    isCache.set(schema, is)
  }
  return is(error)
}
