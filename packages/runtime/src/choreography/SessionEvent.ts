/**
 * Session events: what sessions do, published on the actor system's event stream (`ActorSystem.events`)
 * next to the actors' own events. The session's coordinator publishes `SessionStarted` and `SessionEnded`
 * on the system that started the session; each participant publishes its `SessionStep`s,
 * `SessionViolation`s, `SessionCrashed`s, `SessionResumed`s and `SessionNote`s on the system it lives in.
 *
 * Steps are published only while someone subscribes to the stream, so an unobserved session pays nothing
 * for them.
 *
 * @example
 * ```ts
 * yield* system.events.pipe(
 *   Stream.filter((e) => e._tag === "SessionEnded"),
 *   Stream.runForEach((e) => Effect.log(`${e.session}: ${e.outcome}`)),
 *   Effect.forkScoped
 * )
 * ```
 *
 * @since 0.1.0
 */

import type { Monitor } from "@troupe/choreography"
import { Data } from "effect"
import type { AbortCause } from "./internal/sessionErrors.ts"

type ProtocolViolation = Monitor.ProtocolViolation

/** Every role joined the session, and it began. `roles` maps each role to its actor's path. */
export class SessionStarted extends Data.TaggedClass("SessionStarted")<{
  readonly session: string
  readonly protocol: string
  readonly roles: Readonly<Record<string, string>>
}> {}

/** A role sent or received a message; `state` is the role's state after it. */
export class SessionStep extends Data.TaggedClass("SessionStep")<{
  readonly session: string
  readonly protocol: string
  readonly role: string
  readonly direction: "send" | "receive"
  readonly peer: string
  readonly label: string
  readonly state: number
  /** The message's payload (the value itself, not a copy: do not change it). */
  readonly payload: unknown
}> {}

/** A role's monitor refused a move: its own send, or a message it received. The session is aborted. */
export class SessionViolation extends Data.TaggedClass("SessionViolation")<{
  readonly session: string
  readonly protocol: string
  readonly role: string
  readonly violation: ProtocolViolation
}> {}

/**
 * A restartable role's program failed in `state`: its actor crashes with `cause` (a summary), so that its
 * supervisor restarts it, and the role resumes from its checkpoint (`SessionResumed`).
 */
export class SessionCrashed extends Data.TaggedClass("SessionCrashed")<{
  readonly session: string
  readonly protocol: string
  readonly role: string
  readonly state: number
  readonly cause: string
}> {}

/** Something worth seeing in the session happened at a role (a person approved a tool call, say). */
export class SessionNote extends Data.TaggedClass("SessionNote")<{
  readonly session: string
  readonly protocol: string
  readonly role: string
  readonly text: string
}> {}

/** A restartable role's actor was restarted, and the role resumed from its checkpoint at `state`. */
export class SessionResumed extends Data.TaggedClass("SessionResumed")<{
  readonly session: string
  readonly protocol: string
  readonly role: string
  readonly state: number
}> {}

/** The session is over for every participant: every role completed, or it was aborted with `cause`. */
export class SessionEnded extends Data.TaggedClass("SessionEnded")<{
  readonly session: string
  readonly protocol: string
  readonly outcome: "completed" | "aborted"
  readonly cause: AbortCause | undefined
}> {}

/** Any session event. */
export type SessionEvent =
  | SessionStarted
  | SessionStep
  | SessionViolation
  | SessionCrashed
  | SessionResumed
  | SessionNote
  | SessionEnded
