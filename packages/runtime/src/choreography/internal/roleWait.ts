/**
 * A role's program waiting for a message from one peer: woken once it arrives (after the actor took the messages at
 * hand), or failed with `StepTimeout` at the role's step deadline (the session is then aborted).
 *
 * In a session held by a lease (sharded roles) the step deadline does not count while the coordinator says a role is
 * unreachable (its runner died, its shard has no owner yet), nor while the coordinator itself is silent (no Join for
 * {@link silentAfter} lease periods: its own runner died): a takeover after a SIGKILL waits for the shard lock to
 * expire, longer than a step. The session's deadline bounds both (`SessionNodeLost`).
 */
import { type Endpoint, Monitor } from "@troupe/choreography"
import { Effect, Exit } from "effect"
import type { Deadline } from "../../internal/deadlines.ts"
import type { Failure } from "./participant.ts"
import * as Recovery from "./roleRecovery.ts"
import type { RoleSession } from "./roleSession.ts"
import { StepTimeout } from "./sessionErrors.ts"

/** How many lease periods without a Join make the coordinator silent (a Join may come late on a loaded runner). */
export const silentAfter = 3

/** Whether a step of `session` counts now: not while its coordinator says a role is unreachable. */
const counts = (session: RoleSession): boolean => {
  const held = session.held
  return held === undefined || held.unreachable.length === 0
}

/** Whether the coordinator of a session held by a lease has sent no Join for {@link silentAfter} lease periods. */
const silent = (session: RoleSession, now: number): boolean => {
  const held = session.held
  return held !== undefined && now - held.heardAt > silentAfter * held.everyMillis
}

/**
 * A Join of a session held by a lease came (see `Join.durable.lease`): the role's step follows what it says of the
 * others' reach, and counts anew after a recovery (a peer resumed and is sent again what it missed, or the
 * coordinator was silent and is back).
 *
 * @example
 * // in the participant's Join handler, for a session it holds:
 * // heard(session, join.durable.lease, join.durable.resendTo !== undefined)
 */
export const heard = (
  session: RoleSession,
  lease: { readonly everyMillis: number; readonly unreachable: ReadonlyArray<string> },
  recovered: boolean
): void => {
  const now = session.participant.system.deadlines.now()
  const back = silent(session, now)
  const held = session.held
  if (held === undefined)
    session.held = { everyMillis: lease.everyMillis, unreachable: lease.unreachable, heardAt: now }
  else {
    held.unreachable = lease.unreachable
    held.heardAt = now
  }
  const waiting = session.waiting
  if (waiting === undefined) return
  if (recovered || back) waiting.recovered()
  else waiting.follow()
}

/**
 * The program waits for a message from `from` at `state` (none is at hand).
 *
 * @example
 * // in `RoleSession.receive`, when the inbox from `from` is empty:
 * // return wait(this, from, state)
 */
export const wait = (session: RoleSession, from: string, state: number): Effect.Effect<Endpoint.Incoming, Failure> =>
  Effect.callback<Endpoint.Incoming, Failure>((resume) => {
    const waiting = new Waiting(session, from, state, resume)
    session.waiting = waiting
    waiting.startDeadline()
    return Effect.sync(() => {
      if (session.waiting === waiting) waiting.stop()
    })
  })

/** One wait of a role's program (see {@link wait}). */
export class Waiting {
  readonly session: RoleSession
  readonly from: string
  readonly state: number
  private readonly resume: (effect: Effect.Effect<Endpoint.Incoming, Failure>) => void
  deadline: Deadline | undefined = undefined
  /** While the step does not count (see `follow`): the time it had left. */
  private left: number | undefined = undefined
  /** A message for it arrived; the program is woken in a moment. */
  private woken = false

  constructor(
    session: RoleSession,
    from: string,
    state: number,
    resume: (effect: Effect.Effect<Endpoint.Incoming, Failure>) => void
  ) {
    this.session = session
    this.from = from
    this.state = state
    this.resume = resume
  }

  /** A message from the peer it waits for arrived (into its inbox). */
  arrived(): void {
    if (this.woken) return
    // Wake the program once the actor has taken the messages at hand (resuming it here would run it now, one
    // message at a time, inside the actor's handler).
    this.woken = true
    this.cancelDeadline()
    queueMicrotask(() => this.wake())
  }

  private wake(): void {
    const session = this.session
    if (session.waiting !== this) return
    session.waiting = undefined
    const message = session.peer(this.from)!.inbox!.shift()!
    session.consumed(message)
    this.resume(Exit.succeed(message))
  }

  /** Starts the step deadline (if the role has one), from now. */
  startDeadline(): void {
    const timeout = this.session.stepTimeoutMillis
    if (timeout !== undefined) this.count(timeout)
  }

  /** The step has `millis` left: they count from now, or once it counts again (see `follow`). */
  private count(millis: number): void {
    if (!counts(this.session)) {
      this.left = millis
      return
    }
    this.left = undefined
    const timeout = this.session.stepTimeoutMillis!
    const deadlines = this.session.participant.system.deadlines
    this.deadline = deadlines.schedule(deadlines.now() + millis, () => this.timedOut(timeout))
  }

  /**
   * The coordinator's word on the others' reach changed (see {@link heard}): the step stops counting while a role is
   * unreachable, and goes on with the time it had left once none is.
   */
  follow(): void {
    if (this.woken) return
    if (counts(this.session)) {
      if (this.left !== undefined) this.count(this.left)
    } else if (this.deadline !== undefined) {
      const left = Math.max(0, this.deadline.at - this.session.participant.system.deadlines.now())
      this.cancelDeadline()
      this.left = left
    }
  }

  /**
   * The durable session recovered (a peer resumed from the log and is sent again what it missed, or the coordinator
   * started again): the step counts anew from now. The time the recovery took (a runner stopping, a shard moving, a
   * log read) is bounded by the session's deadline, not by the step's.
   */
  recovered(): void {
    if (this.session.stepTimeoutMillis === undefined || this.woken) return
    this.cancelDeadline()
    this.startDeadline()
  }

  /** The wait ends without a message (the program was interrupted, or the role left the session). */
  stop(): void {
    this.session.waiting = undefined
    this.cancelDeadline()
  }

  private cancelDeadline(): void {
    if (this.deadline !== undefined) this.session.participant.system.deadlines.cancel(this.deadline)
    this.deadline = undefined
    this.left = undefined
  }

  /**
   * The step deadline passed: the program fails with `StepTimeout`, and the session is aborted with it; unless the
   * coordinator of a session held by a lease is silent (its runner died): then the step waits for it, and counts
   * anew once it is back (see {@link heard}), and the session's deadline bounds the wait (see
   * `Recovery.awaitCoordinator`).
   */
  timedOut(timeout: number): void {
    const session = this.session
    if (session.waiting !== this || this.woken) return
    this.deadline = undefined
    if (silent(session, session.participant.system.deadlines.now())) {
      this.left = timeout
      session.participant.system.runBackground(Recovery.awaitCoordinator(session))
      return
    }
    session.waiting = undefined
    const error = new StepTimeout({
      ...session.names(),
      state: this.state,
      expected: Monitor.expected(session.monitor, this.state),
      waitedMillis: timeout
    })
    session.recorder().timedOut(error)
    session.participant.system.runBackground(session.abort(error, "report", false))
    this.resume(Effect.fail(error))
  }
}
