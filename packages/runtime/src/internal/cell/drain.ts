/**
 * The handler loop: a cell with messages is woken on the system's dispatch turn, handles what completes at once
 * there, and hands the rest to a drain fiber that handles control messages first, then one message at a time.
 */
import { Cause, Context, Effect, Exit, type Fiber, Schema } from "effect"
import { RecipientTerminated } from "../../ActorRef.ts"
import { StashOverflow } from "../../Behavior.ts"
import * as Protocol from "../../Protocol.ts"
import * as Terminated from "../../Terminated.ts"
import { callHandler } from "../callHandler.ts"
import { type ActorCell, CurrentActor } from "../cell.ts"
import { type Envelope, handBack, TERMINATED, TIMER } from "./envelope.ts"
import { requestStop } from "./lifecycle.ts"
import { admitWaiters, bounce, unstashAll } from "./mailbox.ts"
import { FROZEN, RUNNING, TERMINATED_STATUS } from "./status.ts"
import { fail, handleControl } from "./supervision.ts"
import { deleteTimer, type TimerEntry } from "./timers.ts"

type AnyHandler = (state: unknown, message: unknown, ctx: unknown) => Effect.Effect<unknown, unknown, unknown>

/** Ends a handler that stashed its message. */
export class StashSignal {
  readonly _tag = "StashSignal"
}
/** The one `StashSignal` (`ctx.stash` fails with it). */
export const stashSignal = new StashSignal()

/** Messages an actor handles in a row before the others get a turn. */
export const THROUGHPUT = 64

/** Control messages to handle (unless frozen), or user and system messages (when running). */
export function hasWork(cell: ActorCell): boolean {
  if (cell.control !== undefined && cell.control.length > 0) return cell.status !== FROZEN
  return cell.status === RUNNING && cell.mailbox !== undefined && cell.mailbox.length > 0
}

/**
 * Starts draining if there is work and no drain runs: on the system's next dispatch turn, shared by every
 * actor woken before it, or, with `inline` (a delivery from another node, whose dispatcher is not a sender
 * that must go on first), at once.
 */
export function schedule(cell: ActorCell, inline = false): void {
  if (cell.draining || !hasWork(cell)) return
  cell.draining = true
  cell.system.running++
  cell.system.sampleDepth(cell.mailbox?.length ?? 0)
  if (inline) drainNow(cell)
  else cell.system.wake(cell)
}

/**
 * Handles messages in the caller's call (the system's dispatch turn) for as long as handlers complete at
 * once (they returned `Effect.succeed`, say): no fiber is made for them. The first handler that needs a
 * fiber, a reply that takes work, a failure or a control message hands the rest to a drain fiber; after
 * `THROUGHPUT` messages the actor waits for the next turn, so that others go on. `first`, if given, is handled
 * first, before anything in the mailbox (an envelope delivered to an idle actor, never queued: see `offer`).
 */
export function drainNow(cell: ActorCell, first?: Envelope): void {
  let handled = 0
  let envelope = first
  for (;;) {
    if (envelope === undefined) {
      const control = cell.control
      if (control !== undefined && control.length > 0 && cell.status !== FROZEN) {
        startDrain(cell, undefined)
        return
      }
      envelope = cell.status === RUNNING ? shiftOrRelease(cell) : undefined
      if (envelope === undefined) {
        cell.draining = false
        cell.system.running--
        return
      }
      admitWaiters(cell)
    }
    const current = envelope
    envelope = undefined
    const effect = handle(cell, current)
    if (effect === undefined) continue
    if (!isExit(effect)) {
      startDrain(
        cell,
        Effect.flatMap(Effect.exit(effect), (exit) => afterHandle(cell, current, exit) ?? Effect.void)
      )
      return
    }
    const after = afterHandle(cell, current, effect)
    if (after !== undefined) {
      startDrain(cell, after)
      return
    }
    if (++handled >= THROUGHPUT) {
      cell.system.wake(cell)
      return
    }
  }
}

/** Hands draining to a fiber: it runs `first` (if any), then handles messages until the mailbox is empty. */
export function startDrain(cell: ActorCell, first: Effect.Effect<void> | undefined): void {
  const all = Effect.suspend(() => loop(cell, 0))
  const drain = Effect.onExit(first === undefined ? all : Effect.andThen(first, all), (exit) =>
    Effect.sync(() => drained(cell, exit))
  )
  // The fiber starts at once: it must be known before its first step, which may resume a caller that
  // cancels its request at once.
  Effect.runForkWith(Context.add(cell.context, CurrentActor, cell))(
    Effect.withFiber((fiber) => {
      cell.fiber = fiber as Fiber.Fiber<void, unknown>
      return drain
    })
  )
}

/** The next message, or undefined with the mailbox released: an idle actor keeps no ring buffer. */
export function shiftOrRelease(cell: ActorCell): Envelope | undefined {
  const mailbox = cell.mailbox
  if (mailbox === undefined) return undefined
  const envelope = mailbox.shift()
  if (envelope === undefined) cell.mailbox = undefined
  return envelope
}

/** A defect thrown while draining in the dispatch turn (a bug of the runtime): as if a drain fiber died. */
export function drainDefect(cell: ActorCell, defect: unknown): void {
  drained(cell, Exit.die(defect))
}

/** The drain fiber ended: a failure is an interruption (see `drainInterrupted`); more work starts a new drain. */
export function drained(cell: ActorCell, exit: Exit.Exit<void>): void {
  cell.draining = false
  cell.fiber = undefined
  cell.system.running--
  if (Exit.isFailure(exit)) drainInterrupted(cell, exit.cause)
  schedule(cell)
}

/** The drain fiber's loop: control messages first, then one message at a time, yielding every `THROUGHPUT`. */
export function loop(cell: ActorCell, handled: number): Effect.Effect<void> {
  for (;;) {
    const control = cell.control
    if (control !== undefined && control.length > 0 && cell.status !== FROZEN) {
      return Effect.andThen(
        handleControl(cell, control.shift()!),
        Effect.suspend(() => loop(cell, handled))
      )
    }
    if (cell.status !== RUNNING) return Effect.void
    const envelope = shiftOrRelease(cell)
    if (envelope === undefined) return Effect.void
    admitWaiters(cell)
    const effect = handle(cell, envelope)
    if (effect === undefined) continue
    if (++handled >= THROUGHPUT) handled = 0
    if (isExit(effect)) {
      // A handler that returned `Effect.succeed`/`Effect.fail` is done already: no fiber step needed.
      const after = afterHandle(cell, envelope, effect)
      if (after !== undefined)
        return Effect.andThen(
          after,
          Effect.suspend(() => loop(cell, handled))
        )
      if (handled === 0)
        return Effect.andThen(
          Effect.yieldNow,
          Effect.suspend(() => loop(cell, 0))
        )
      continue
    }
    return Effect.flatMap(Effect.exit(effect), (exit) => {
      const after = afterHandle(cell, envelope, exit)
      const next = Effect.suspend(() => loop(cell, handled))
      return after === undefined
        ? handled === 0
          ? Effect.andThen(Effect.yieldNow, next)
          : next
        : Effect.andThen(after, next)
    })
  }
}

/** The drain fiber was interrupted: an ask's caller gave up, or a parent froze cell cell. */
export function drainInterrupted(cell: ActorCell, cause: Cause.Cause<unknown>): void {
  const envelope = cell.current
  cell.current = undefined
  if (cell.cancelledCurrent) {
    cell.cancelledCurrent = false
    return
  }
  if (envelope !== undefined) {
    if (envelope.reply !== undefined && !envelope.reply.done) {
      cell.system.runDetached(
        envelope.reply.complete(
          Exit.fail(new RecipientTerminated({ recipient: cell.path, tag: envelope.message._tag }))
        )
      )
    }
    cell.system.deadLetter(cell.path, envelope.message, "interrupted")
  }
  if (!Cause.hasInterruptsOnly(cause)) cell.system.logDefect(cell.path, cause)
}

/** Starts handling one envelope: returns the handler's effect, or undefined when it was skipped. */
export function handle(cell: ActorCell, envelope: Envelope): Effect.Effect<unknown, unknown> | undefined {
  if (envelope.reply?.done) {
    cell.system.deadLetter(cell.path, envelope.message, "expired")
    return undefined
  }
  const message = envelope.message
  if (envelope.source !== undefined) {
    // The first time a system message is handled (not when it comes back from the stash): is it still due?
    const source = envelope.source
    envelope.source = undefined
    if (envelope.kind === TIMER) {
      const timer = source as TimerEntry
      if (cell.timers?.get(timer.key) !== timer) return undefined
      if (timer.intervalMillis === undefined) deleteTimer(cell, timer.key)
    } else if (cell.watching?.delete(source) !== true) {
      return undefined
    }
  }
  let effect: Effect.Effect<unknown, unknown, unknown>
  let tag = message._tag
  cell.current = envelope
  if (envelope.kind === TERMINATED) {
    const onTerminated = cell.behavior.onTerminated
    const terminated = message as unknown as Terminated.Terminated
    effect =
      onTerminated !== undefined
        ? callHandler(onTerminated, cell.state, terminated, cell.context_())
        : Effect.fail(new Terminated.DeathPact({ watcher: cell.path, terminated: terminated.ref.path }))
  } else {
    const handler = (cell.behavior.receive as unknown as Record<string, AnyHandler | undefined>)[tag]
    if (handler === undefined) {
      cell.current = undefined
      bounce(cell, envelope, "unhandled")
      return undefined
    }
    effect = callHandler(handler, cell.state, message, cell.context_())
  }
  if (cell.system.tracing) {
    tag = envelope.kind === TERMINATED ? "Terminated" : tag
    const attributes = { "actor.path": cell.path, "actor.protocol": cell.protocol.name, "message.tag": tag }
    const name = `${cell.name}.${tag}`
    effect =
      envelope.span === undefined
        ? Effect.withSpan(effect, name, { kind: "consumer", attributes, root: true })
        : Effect.withSpan(effect, name, { kind: "consumer", attributes, parent: envelope.span })
  }
  return effect as Effect.Effect<unknown, unknown>
}

/** Applies a handler's outcome; returns an effect only when there is more to do (a reply to send, a failure to report). */
export function afterHandle(
  cell: ActorCell,
  envelope: Envelope,
  exit: Exit.Exit<unknown, unknown>
): Effect.Effect<void> | undefined {
  // A handler that outlived its actor's stop (see `abandon`): its outcome goes nowhere.
  if (cell.status === TERMINATED_STATUS) return undefined
  cell.current = undefined
  cell.system.countHandled()
  const reply = envelope.reply
  if (Exit.isSuccess(exit)) {
    if (reply !== undefined) {
      const { state, reply: value } = exit.value as { state: unknown; reply: unknown }
      cell.state = state
      afterMessage(cell)
      return reply.complete(Exit.succeed(value))
    }
    cell.state = exit.value
    afterMessage(cell)
    handBack(envelope)
    return undefined
  }
  const cause = exit.cause
  const failure = cause.reasons.find(Cause.isFailReason)
  if (failure !== undefined && failure.error === stashSignal) {
    const stashed = (cell.stashed ??= [])
    if (stashed.length >= cell.options.mailbox.capacity) {
      return fail(
        cell,
        Cause.fail(new StashOverflow({ path: cell.path, capacity: cell.options.mailbox.capacity })),
        envelope
      )
    }
    stashed.push(envelope)
    afterMessage(cell)
    return undefined
  }
  if (reply !== undefined && failure !== undefined && cause.reasons.length === 1) {
    const def = Protocol.requestDef(cell.protocol, envelope.message._tag)
    if (def !== undefined && isDeclared(def.failure, failure.error)) {
      afterMessage(cell)
      return reply.complete(Exit.fail(failure.error))
    }
  }
  return fail(cell, cause, envelope)
}

/** What the handler asked for once its message is done: unstash, stop. */
export function afterMessage(cell: ActorCell): void {
  if (cell.unstashAfterCurrent) {
    cell.unstashAfterCurrent = false
    unstashAll(cell)
  }
  if (cell.stopAfterCurrent) {
    cell.stopAfterCurrent = false
    requestStop(cell, true)
  }
}

const successProto = Object.getPrototypeOf(Exit.void)
const failureProto = Object.getPrototypeOf(Exit.fail(undefined))

/** `Exit.isExit`, first by prototype: a handler's `Effect.succeed` is an `Exit`, and this runs on every message. */
const isExit = (effect: Effect.Effect<unknown, unknown>): effect is Exit.Exit<unknown, unknown> => {
  const proto = Object.getPrototypeOf(effect)
  return proto === successProto || proto === failureProto || Exit.isExit(effect)
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
