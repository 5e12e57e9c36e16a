/**
 * What a role session shows of itself (see `RoleSession`, which extends it): its trace (made at its first event), the
 * events it publishes (steps, crashes, resumptions, notes) and its run's span events.
 */
import type { Diagram } from "@troupe/choreography"
import { Cause } from "effect"
import { SessionCrashed, SessionNote, SessionResumed, SessionStep } from "../SessionEvent.ts"
import type { CurrentRole } from "./currentRole.ts"
import type { Participant } from "./participant.ts"
import { RoleSessionState } from "./roleSessionState.ts"
import { Recorder } from "./roleTrace.ts"

/**
 * A role session's trace and events (the base of `RoleSession`).
 *
 * @example
 * // session.recorder().timedOut(error); session.events() // the role's trace events
 */
export abstract class RoleObserved extends RoleSessionState {
  abstract readonly participant: Participant
  abstract readonly role: string
  abstract state: number
  abstract names(): { readonly protocol: string; readonly session: string; readonly role: string }
  /** The role's trace, made at its first event (see `recorder`). */
  private trace: Recorder | undefined = undefined
  /** The program of this restartable role failed: recorded and published, until the actor crashes with it. */
  crashed(cause: Cause.Cause<unknown>): void {
    this.crash = cause
    const reason = summarise(cause)
    this.recorder().crashed(this.state, reason)
    this.participant.system.publish(new SessionCrashed({ ...this.names(), state: this.state, cause: reason }))
  }

  /** The program resumes from the checkpoint, at the state where it was. */
  resuming(): void {
    this.recorder().resumed(this.state)
    this.participant.system.publish(new SessionResumed({ ...this.names(), state: this.state }))
  }

  /** `CurrentRole.note` (made when read: a live session keeps no closure for it). */
  get note(): CurrentRole["note"] {
    return (text) => this.writeNote(text)
  }

  /** Something worth seeing happened at this role: into its trace, and onto the event stream. */
  private writeNote(text: string): void {
    if (this.ended) return
    this.recorder().note(text)
    this.participant.system.publish(new SessionNote({ ...this.names(), text }))
  }

  /** The role's trace, made at its first event: a role that has not moved yet keeps none. */
  recorder(): Recorder {
    return (this.trace ??= new Recorder(this.role, this.traceLimit))
  }

  /** The role's trace events (see `Recorder`). */
  events(): Array<Diagram.TraceEvent> {
    return this.trace?.events() ?? []
  }

  /** A move of the role: onto the event stream (if anyone listens) and into the run's span (if traced). */
  protected step(direction: "send" | "receive", peer: string, label: string, payload: unknown): void {
    if (this.participant.system.events.subscribers.size > 0)
      this.participant.system.publish(
        new SessionStep({ ...this.names(), direction, peer, label, state: this.state, payload })
      )
    this.span?.event(`${direction} ${peer} ${label}`, BigInt(this.participant.system.deadlines.now()) * 1_000_000n, {
      state: this.state
    })
  }
}

/** The first line of a failure's message, for traces and events. */
const summarise = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  const message = error instanceof Error ? error.message : String(error)
  return message.split("\n")[0]!.slice(0, 200)
}
