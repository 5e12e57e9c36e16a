/**
 * Starting, restarting and stopping a cell. Run by its parent, on a frozen cell: stop the drain fiber (within the
 * shutdown deadline), stop the children, release the resources, then tell whoever waits for it.
 */
import { Clock, Duration, Effect, Exit, Fiber, Option, Scope } from "effect"
import * as SystemEvent from "../../SystemEvent.ts"
import * as Terminated from "../../Terminated.ts"
import { ActorCell, CurrentActor } from "../cell.ts"
import { schedule } from "./drain.ts"
import { TERMINATED } from "./envelope.ts"
import { bounce, unstashAll } from "./mailbox.ts"
import { FROZEN, RUNNING, SUSPENDED, TERMINATED_STATUS } from "./status.ts"
import { fail, sendControl } from "./supervision.ts"
import { cancelAllTimers } from "./timers.ts"

/**
 * Shutdown deadlines run on the real clock: they bound how long stopping takes, so a test that drives the
 * actors' time with `TestClock` still shuts its system down.
 */
const liveClock = Clock.Clock.defaultValue()

/**
 * Stops handling messages and waits until the drain fiber has ended, interrupting it after the shutdown
 * deadline. Before a stop (`stopping`), the wait for the interruption is bounded too: a handler that does not
 * end by a second deadline (it is in an uninterruptible region) is left running, detached from the actor,
 * and reported. Before a restart the wait is not bounded: the next incarnation must not run beside it.
 */
export function freeze(cell: ActorCell, stopping = true): Effect.Effect<void> {
  return Effect.suspend(() => {
    if (cell.status === TERMINATED_STATUS) return Effect.void
    cell.status = FROZEN
    const fiber = cell.fiber
    if (fiber === undefined) return Effect.void
    const ended = Effect.timeoutOption(Fiber.await(fiber), Duration.millis(cell.options.shutdownTimeoutMillis)).pipe(
      Effect.provideService(Clock.Clock, liveClock)
    )
    return Effect.flatMap(ended, (done) => {
      if (Option.isSome(done)) return Effect.void
      if (!stopping) return Effect.asVoid(Fiber.interrupt(fiber))
      fiber.interruptUnsafe()
      return Effect.flatMap(ended, (interrupted) => (Option.isSome(interrupted) ? Effect.void : abandon(cell)))
    })
  })
}

/**
 * The handler did not stop in time: its caller is answered, the message is a dead letter, and the stop goes on
 * without it (whatever it does when it ends is ignored: see `afterHandle` in drain.ts).
 */
export function abandon(cell: ActorCell): Effect.Effect<void> {
  const envelope = cell.current
  cell.current = undefined
  const tag = envelope?.message._tag
  if (envelope !== undefined) bounce(cell, envelope, "interrupted")
  const timeoutMillis = cell.options.shutdownTimeoutMillis
  cell.system.publish(new SystemEvent.StopTimedOut({ path: cell.path, tag, timeoutMillis }))
  return Effect.logError("Actor did not stop within its shutdown deadline; its handler was left running").pipe(
    Effect.annotateLogs({ actor: cell.path, timeoutMillis, ...(tag === undefined ? {} : { message: tag }) })
  )
}

/** Runs the behaviour's init in the actor's scope; sets the state and starts handling messages. */
export function start(cell: ActorCell): Effect.Effect<void, unknown> {
  return Effect.suspend(() => {
    const { init, initial } = cell.behavior
    cell.initFailed = false
    if (init === undefined) {
      cell.state = initial
      cell.status = RUNNING
      schedule(cell)
      return Effect.void
    }
    return init(cell.context_()).pipe(
      Effect.provideService(Scope.Scope, cell.scope_()),
      Effect.provideService(CurrentActor, cell),
      Effect.provideContext(cell.context),
      Effect.tap((state) =>
        Effect.sync(() => {
          cell.state = state
          cell.status = RUNNING
          schedule(cell)
        })
      ),
      Effect.asVoid
    ) as Effect.Effect<void, unknown>
  })
}

/** Before a restart: stop the children, cancel timers, release the scope's resources. */
export function teardown(cell: ActorCell): Effect.Effect<void> {
  return Effect.andThen(stopChildren(cell), releaseResources(cell, Exit.void))
}

/** Starts a torn-down cell again (its stashed messages first); `failed` counts it as a restart after a failure. */
export function reinit(cell: ActorCell, failed: boolean): Effect.Effect<void> {
  return Effect.suspend(() => {
    if (cell.status === TERMINATED_STATUS) return Effect.void
    const now = cell.system.deadlines.now()
    if (failed) {
      cell.consecutiveRestarts++
      cell.lastRestartAt = now
    }
    unstashAll(cell)
    cell.restarting = false
    return Effect.matchCauseEffect(start(cell), {
      onSuccess: () => {
        cell.restartsTotal++
        cell.system.countRestart()
        cell.system.publish(
          new SystemEvent.Restarted({
            path: cell.path,
            restarts: cell.consecutiveRestarts,
            delayMillis: cell.restartDelayMillis
          })
        )
        return Effect.logWarning("Actor restarted").pipe(Effect.annotateLogs({ actor: cell.path }))
      },
      onFailure: (cause) => {
        cell.initFailed = true
        return fail(cell, cause, undefined)
      }
    })
  })
}

/** Stops the children in reverse start order, each with its deadline. */
export function stopChildren(cell: ActorCell): Effect.Effect<void> {
  return Effect.suspend(() => {
    const children = [...(cell.children?.values() ?? [])].toReversed()
    return Effect.forEach(children, (child) => Effect.andThen(freeze(child), stopTree(child, Terminated.stopped)), {
      discard: true
    })
  })
}

/**
 * Stops a (frozen) cell: its children first, then its resources (during the system's shutdown, within the
 * shutdown deadline: see {@link releaseWithin}); then tells whoever waits for it.
 */
export function stopTree(cell: ActorCell, reason: Terminated.Reason): Effect.Effect<void> {
  return Effect.suspend(() => {
    if (cell.status === TERMINATED_STATUS) return Effect.void
    return Effect.andThen(
      Effect.andThen(stopChildren(cell), releaseWithin(cell)),
      Effect.sync(() => terminate(cell, reason))
    )
  })
}

/**
 * Releases a stopping cell's resources. During the system's shutdown it waits at most the shutdown deadline: a
 * finalizer that has not ended by then (it waits on something that does not come) is left running, detached from
 * the actor, and reported (`StopTimedOut` with no message tag, and an error log); the shutdown goes on. Otherwise
 * (a stop, a passivation) the release is waited for: whatever starts next in the actor's place (an entity's next
 * incarnation) must find what the release writes, e.g. a durable actor's last state.
 */
function releaseWithin(cell: ActorCell): Effect.Effect<void> {
  return Effect.suspend(() => {
    // (an actor that never used its scope has none: only its timers to cancel)
    if (cell.scope === undefined || !cell.system.isShuttingDown) return releaseResources(cell, Exit.void)
    const timeoutMillis = cell.options.shutdownTimeoutMillis
    return Effect.flatMap(Effect.forkDetach(releaseResources(cell, Exit.void), { startImmediately: true }), (release) =>
      Effect.timeoutOption(Fiber.await(release), Duration.millis(timeoutMillis)).pipe(
        Effect.provideService(Clock.Clock, liveClock),
        Effect.flatMap((done) => {
          if (Option.isSome(done)) return Effect.void
          cell.system.publish(new SystemEvent.StopTimedOut({ path: cell.path, tag: undefined, timeoutMillis }))
          return Effect.logError(
            "Actor's resources were not released within its shutdown deadline; their release was left running"
          ).pipe(Effect.annotateLogs({ actor: cell.path, timeoutMillis }))
        })
      )
    )
  })
}

/** Cancels the actor's timers and closes its scope (its resources' finalizers run). */
export function releaseResources(cell: ActorCell, exit: Exit.Exit<unknown, unknown>): Effect.Effect<void> {
  return Effect.suspend(() => {
    cancelAllTimers(cell)
    const scope = cell.scope
    if (scope === undefined) return Effect.void
    cell.scope = undefined
    return Scope.close(scope, exit)
  })
}

/**
 * The end of a cell: what it still holds becomes dead letters, its `Stopped` event is published, and then its
 * watchers and listeners are told.
 */
export function terminate(cell: ActorCell, reason: Terminated.Reason): void {
  cell.status = TERMINATED_STATUS
  cell.termination = reason
  cell.state = undefined
  cell.control = undefined
  if (cell.stashed !== undefined) {
    for (const envelope of cell.stashed) bounce(cell, envelope, "terminated")
    cell.stashed = undefined
  }
  if (cell.mailbox !== undefined) {
    for (const envelope of cell.mailbox.drain()) {
      if (envelope.kind !== TERMINATED) bounce(cell, envelope, "terminated")
    }
    cell.mailbox = undefined
  }
  if (cell.waiters !== undefined) {
    for (const waiter of cell.waiters.drain()) {
      if (waiter.cancelled) continue
      bounce(cell, waiter.envelope, "terminated")
      waiter.resume(Effect.void)
    }
    cell.waiters = undefined
  }
  cell.parent?.children?.delete(cell.name)
  cell.system.unregister(cell)
  if (cell.watching !== undefined) {
    for (const key of cell.watching) if (key instanceof ActorCell) key.watchers?.delete(cell)
    cell.watching = undefined
  }
  // published before anyone waiting is told: a listener resumes its fiber here and now (the caller of `stop` goes
  // on before this function returns), and what it does next must come after this actor's events
  cell.system.publish(new SystemEvent.Stopped({ path: cell.path, reason }))
  const terminated = new Terminated.Terminated({ ref: cell.ref, reason })
  if (cell.watchers !== undefined) {
    for (const [watcher, { message }] of cell.watchers) watcher.notifyTerminated(terminated, message)
    cell.watchers = undefined
  }
  cell.system.cellTerminated(cell)
  const listeners = cell.listeners
  if (listeners !== undefined) {
    cell.listeners = undefined
    for (const listener of [...listeners]) listener(terminated)
  }
}

/** Asks the parent to stop cell cell (it handles nothing more in the meantime). */
export function requestStop(cell: ActorCell, self: boolean): void {
  if (cell.status === TERMINATED_STATUS) return
  if (cell.parent === undefined) return
  if (self) cell.status = SUSPENDED
  sendControl(cell.parent, { _tag: "StopChild", child: cell, self })
}
