/**
 * Supervision: a failed cell reports to its parent, and the parent (in its own drain fiber) resumes, restarts,
 * stops or escalates, by its strategy, restart budget and backoff.
 */
import { Cause, Duration, Effect, Exit } from "effect"
import { RequestFailed } from "../../ActorRef.ts"
import * as Supervisor from "../../Supervisor.ts"
import * as SystemEvent from "../../SystemEvent.ts"
import * as Terminated from "../../Terminated.ts"
import type { ActorCell } from "../cell.ts"
import { Deque } from "../deque.ts"
import { schedule } from "./drain.ts"
import type { Envelope } from "./envelope.ts"
import { freeze, reinit, stopChildren, stopTree, teardown } from "./lifecycle.ts"
import { RUNNING, SUSPENDED, TERMINATED_STATUS } from "./status.ts"

/** Control messages, to a parent about its children. */
export type Control =
  | { readonly _tag: "ChildFailed"; readonly child: ActorCell; readonly cause: Cause.Cause<unknown> }
  | {
      readonly _tag: "StopChild"
      readonly child: ActorCell
      /** The child asked to stop itself (a permanent child is then restarted, as in OTP). */
      readonly self: boolean
    }
  | { readonly _tag: "RestartChildren"; readonly children: ReadonlyArray<ActorCell>; readonly failed: ActorCell }

/** Queues a control message for this cell (as a parent), handled before its own messages. */
export function sendControl(cell: ActorCell, message: Control): void {
  if (cell.status === TERMINATED_STATUS) return
  ;(cell.control ??= new Deque()).push(message)
  schedule(cell)
}

/** The actor failed: answer the request it was handling, tell the world, and ask the parent what to do. */
export function fail(
  cell: ActorCell,
  cause: Cause.Cause<unknown>,
  envelope: Envelope | undefined
): Effect.Effect<void> {
  const tag = envelope?.message._tag
  cell.system.runDetached(
    envelope?.reply?.complete(
      Exit.fail(new RequestFailed({ recipient: cell.path, tag: tag!, cause: Cause.pretty(cause) }))
    )
  )
  cell.status = SUSPENDED
  cell.lastFailure = { cause, at: cell.system.deadlines.now() }
  cell.system.countFailure()
  cell.system.publish(new SystemEvent.Failed({ path: cell.path, tag, cause }))
  const parent = cell.parent
  if (parent !== undefined) sendControl(parent, { _tag: "ChildFailed", child: cell, cause })
  return Effect.logError("Actor failed", cause).pipe(
    Effect.annotateLogs({ actor: cell.path, ...(tag === undefined ? {} : { message: tag }) })
  )
}

/** Whether `child` is still this cell's running child (a control message about an old one is ignored). */
export function isLiveChild(cell: ActorCell, child: ActorCell): boolean {
  return child.parent === cell && cell.children?.get(child.name) === child && child.status !== TERMINATED_STATUS
}

/** Handles a control message about a child. */
export function handleControl(cell: ActorCell, message: Control): Effect.Effect<void> {
  if (cell.status === TERMINATED_STATUS) return Effect.void
  switch (message._tag) {
    case "ChildFailed":
      return isLiveChild(cell, message.child) ? supervise(cell, message.child, message.cause) : Effect.void
    case "StopChild":
      if (!isLiveChild(cell, message.child)) return Effect.void
      if (message.self && message.child.options.restart === "permanent") {
        return restart(cell, message.child, Cause.fail(new Supervisor.StoppedItself({ path: message.child.path })))
      }
      return Effect.andThen(freeze(message.child), stopTree(message.child, Terminated.stopped))
    case "RestartChildren":
      return reinitAll(
        message.children.filter((child) => isLiveChild(cell, child)),
        message.failed
      )
  }
}

/** A child failed: the strategy's decider says resume, restart, stop or escalate. */
export function supervise(cell: ActorCell, child: ActorCell, cause: Cause.Cause<unknown>): Effect.Effect<void> {
  const strategy = cell.strategy
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
      restart(cell, child, cause)
    )
  }
  switch (directive) {
    case "resume":
      child.status = RUNNING
      cell.system.publish(new SystemEvent.Resumed({ path: child.path }))
      schedule(child)
      return Effect.void
    case "stop":
      return Effect.andThen(freeze(child), stopTree(child, new Terminated.Failed({ cause })))
    case "escalate":
      return escalate(
        cell,
        child,
        cause,
        new Supervisor.ChildFailureEscalated({ supervisor: cell.path, child: child.path, cause: Cause.pretty(cause) })
      )
    case "restart":
      return restart(cell, child, cause)
  }
}

/** Restarts a child (and its siblings, by the strategy) within the restart budget, after the backoff. */
export function restart(cell: ActorCell, child: ActorCell, cause: Cause.Cause<unknown>): Effect.Effect<void> {
  if (child.options.restart === "temporary") {
    return Effect.andThen(freeze(child), stopTree(child, new Terminated.Failed({ cause })))
  }
  const strategy = cell.strategy
  const now = cell.system.deadlines.now()
  const windowStart = now - Duration.toMillis(strategy.within)
  const times = (cell.restartTimes = (cell.restartTimes ?? []).filter((t) => t > windowStart))
  times.push(now)
  if (times.length > strategy.maxRestarts) {
    cell.restartTimes = undefined
    return escalate(
      cell,
      child,
      cause,
      new Supervisor.RestartBudgetExhausted({
        supervisor: cell.path,
        child: child.path,
        maxRestarts: strategy.maxRestarts,
        withinMillis: Duration.toMillis(strategy.within),
        cause: Cause.pretty(cause)
      })
    )
  }
  const siblings = [...(cell.children?.values() ?? [])]
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
  return Effect.gen(function* () {
    const restarted: Array<ActorCell> = []
    for (const sibling of affected.toReversed()) {
      yield* freeze(sibling, false)
      if (sibling !== child && sibling.options.restart === "temporary") {
        yield* stopTree(sibling, Terminated.stopped)
      } else {
        yield* teardown(sibling)
        sibling.restartDelayMillis = delay
        sibling.restarting = true
        restarted.unshift(sibling)
      }
    }
    if (delay > 0) {
      cell.system.deadlines.schedule(now + delay, () =>
        sendControl(cell, { _tag: "RestartChildren", children: restarted, failed: child })
      )
    } else {
      yield* reinitAll(restarted, child)
    }
  })
}

/** Starts the restarted cells again, in start order. */
export function reinitAll(cells: ReadonlyArray<ActorCell>, failed: ActorCell): Effect.Effect<void> {
  return Effect.forEach(cells, (cell) => reinit(cell, cell === failed), { discard: true })
}

/** This supervisor gives up on a child: it stops all its children and fails itself. */
export function escalate(
  cell: ActorCell,
  child: ActorCell,
  cause: Cause.Cause<unknown>,
  error: unknown
): Effect.Effect<void> {
  cell.system.publish(new SystemEvent.Escalated({ path: cell.path, child: child.path, cause }))
  return Effect.gen(function* () {
    if (cell.parent === undefined) {
      // The root guardian has nobody to escalate to: it stops the failing subtree, and the other top-level
      // actors (independent services) go on.
      yield* freeze(child)
      yield* stopTree(child, new Terminated.Failed({ cause }))
      yield* Effect.logError("Failure escalated to the root guardian; the failing subtree was stopped", cause).pipe(
        Effect.annotateLogs({ actor: child.path })
      )
      return
    }
    yield* stopChildren(cell)
    yield* fail(cell, Cause.fail(error), undefined)
  })
}
