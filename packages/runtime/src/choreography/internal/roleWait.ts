/**
 * A role's program waiting for a message from one peer: woken once it arrives (after the actor took the messages at
 * hand), or failed with `StepTimeout` at the role's step deadline (the session is then aborted).
 */
import { type Endpoint, Monitor } from "@troupe/choreography"
import { Effect, Exit } from "effect"
import type { Deadline } from "../../internal/deadlines.ts"
import type { Failure } from "./participant.ts"
import type { RoleSession } from "./roleSession.ts"
import { StepTimeout } from "./sessionErrors.ts"

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
    if (timeout === undefined) return
    const deadlines = this.session.participant.system.deadlines
    this.deadline = deadlines.schedule(deadlines.now() + timeout, () => this.timedOut(timeout))
  }

  /**
   * The durable session recovered (a peer resumed from the log and is sent again what it missed, or the coordinator
   * started again): the step counts anew from now. The time the recovery took (a runner stopping, a shard moving, a
   * log read) is bounded by the session's deadline, not by the step's.
   */
  recovered(): void {
    if (this.deadline === undefined) return
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
  }

  /** The step deadline passed: the program fails with `StepTimeout`, and the session is aborted with it. */
  timedOut(timeout: number): void {
    const session = this.session
    if (session.waiting !== this || this.woken) return
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
