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
 *
 * This module is the cell's state and its face to the rest of the runtime; what it does is in `cell/`:
 * `mailbox.ts` (sending), `drain.ts` (the handler loop), `supervision.ts` (failures and the parent's decision),
 * `lifecycle.ts` (start, restart, stop), `timers.ts` (`ctx.timers`), `snapshot.ts` (what inspectors see), with
 * `envelope.ts` (messages and replies) and `status.ts`.
 */
import { type Cause, Context, Effect, type Fiber, Scope } from "effect"
import type { ActorRef } from "../ActorRef.ts"
import type { Behavior } from "../Behavior.ts"
import type * as Mailbox from "../Mailbox.ts"
import type { MailboxFull } from "../Mailbox.ts"
import type * as Protocol from "../Protocol.ts"
import type * as Supervisor from "../Supervisor.ts"
import * as Terminated from "../Terminated.ts"
import { drainDefect, drainNow, stashSignal } from "./cell/drain.ts"
import { Envelope, NOTICE, TERMINATED, type Watcher } from "./cell/envelope.ts"
import { freeze, requestStop, start, stopTree } from "./cell/lifecycle.ts"
import { addWaiter, ask, askNow, cancel, deliver, enqueueSystem, tell, type Waiter } from "./cell/mailbox.ts"
import { FROZEN, RUNNING, TERMINATED_STATUS } from "./cell/status.ts"
import type { Control } from "./cell/supervision.ts"
import type { TimerEntry } from "./cell/timers.ts"
import { ContextImpl } from "./context.ts"
import type { Deque } from "./deque.ts"
import type { Lanes } from "./lanes.ts"
import { LocalActorRef } from "./localRef.ts"
import type { SystemImpl } from "./system.ts"

export { Envelope, type ReplyTo, type Watcher } from "./cell/envelope.ts"

/** The actor whose handler is running on the current fiber, if any (used as the sender of messages). */
export const CurrentActor = Context.Reference<ActorCell | undefined>("@troupe/runtime/CurrentActor", {
  defaultValue: () => undefined
})

/** Options a cell is spawned with. */
export interface CellOptions {
  readonly mailbox: Mailbox.Config
  readonly restart: Supervisor.RestartPolicy
  readonly shutdownTimeoutMillis: number
}

type AnyBehavior = Behavior<Protocol.Any, unknown, unknown>

/** One actor. Its fields are read and written by the modules of `cell/` (see the top of this file). */
export class ActorCell {
  status = FROZEN
  state: unknown = undefined
  mailbox: Lanes<Envelope> | undefined
  waiters: Deque<Waiter> | undefined
  control: Deque<Control> | undefined
  fiber: Fiber.Fiber<void, unknown> | undefined
  /** A drain fiber runs (or is about to). */
  draining = false
  current: Envelope | undefined
  cancelledCurrent = false
  stopAfterCurrent = false
  unstashAfterCurrent = false
  stashed: Array<Envelope> | undefined
  children: Map<string, ActorCell> | undefined
  watchers: Map<Watcher, { readonly message: { readonly _tag: string } | undefined }> | undefined
  /** What this actor watches and has not been told of yet, by `SystemImpl.watchKey`. */
  watching: Set<unknown> | undefined
  listeners: Array<(terminated: Terminated.Terminated) => void> | undefined
  scope: Scope.Closeable | undefined
  timers: Map<string, TimerEntry> | undefined
  anonymousCount = 0
  /** As a child: consecutive restarts and when the last one happened. */
  consecutiveRestarts = 0
  lastRestartAt = 0
  /** The backoff waited before the restart in progress. */
  restartDelayMillis = 0
  /** As a supervisor: when recent restarts of children happened. */
  restartTimes: Array<number> | undefined
  /** For inspectors: restarts since it was spawned, its last failure, whether a restart is in progress. */
  restartsTotal = 0
  lastFailure: { readonly cause: Cause.Cause<unknown>; readonly at: number } | undefined
  restarting = false
  /** Its init failed during a restart: it has no state to resume with (its resources were released). */
  initFailed = false
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
  // Sending (cell/mailbox.ts), the handler loop (cell/drain.ts), start and stop (cell/lifecycle.ts)
  // ------------------------------------------------------------------------------------------------------

  tell(
    message: { readonly _tag: string },
    fiber: Fiber.Fiber<unknown, unknown>,
    inline = false
  ): Effect.Effect<void, MailboxFull> {
    return tell(this, message, fiber, inline)
  }

  ask(
    message: { readonly _tag: string },
    fiber: Fiber.Fiber<unknown, unknown>,
    timeoutMillis: number
  ): Effect.Effect<unknown, unknown> {
    return ask(this, message, fiber, timeoutMillis)
  }

  /** See {@link askNow}. */
  askNow(
    message: { readonly _tag: string },
    fiber: Fiber.Fiber<unknown, unknown>,
    timeoutMillis: number,
    resume: (effect: Effect.Effect<unknown, unknown>) => void,
    inline = false
  ): Effect.Effect<void> {
    return askNow(this, message, fiber, timeoutMillis, resume, inline)
  }

  /** See {@link deliver}. */
  deliver(envelope: Envelope): boolean {
    return deliver(this, envelope)
  }

  /** Parks a delivery that did not fit with the senders waiting for room; `admitted` runs once it is in. */
  park(envelope: Envelope, admitted: () => void): void {
    addWaiter(this, envelope, admitted)
  }

  /** See {@link cancel}. */
  cancel(envelope: Envelope): void {
    cancel(this, envelope)
  }

  /** See {@link drainNow}. */
  drainNow(): void {
    drainNow(this)
  }

  /** See {@link drainDefect}. */
  drainDefect(defect: unknown): void {
    drainDefect(this, defect)
  }

  /** See {@link freeze}. */
  freeze(stopping = true): Effect.Effect<void> {
    return freeze(this, stopping)
  }

  /** See {@link start}. */
  start(): Effect.Effect<void, unknown> {
    return start(this)
  }

  /** See {@link stopTree}. */
  stopTree(reason: Terminated.Reason): Effect.Effect<void> {
    return stopTree(this, reason)
  }

  /** See {@link requestStop}. */
  requestStop(self: boolean): void {
    requestStop(this, self)
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
    enqueueSystem(
      this,
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
    enqueueSystem(
      this,
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

  /** The context given to this actor's handlers: one per actor (it holds nothing but the cell), not one per message. */
  private handlerContext: ContextImpl | undefined = undefined

  context_(): ContextImpl {
    return (this.handlerContext ??= new ContextImpl(this))
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
    if (this.current === undefined) requestStop(this, true)
    else this.stopAfterCurrent = true
  }
}

/** A behaviour that handles no message (for the guardian and for cells of actors that are not there). */
const bare = (protocol: Protocol.Any, supervision: Supervisor.Strategy | undefined): AnyBehavior => ({
  protocol,
  initial: undefined,
  init: undefined,
  receive: {} as AnyBehavior["receive"],
  onTerminated: undefined,
  supervision
})
