/**
 * System events: a typed stream of what happens in an actor system (spawns, stops, failures, restarts,
 * escalations, dead letters and overflows), for logs, tests and inspectors. Subscribe with
 * `ActorSystem.events`. A slow subscriber never slows the system: it keeps the latest 4,096 events it has not taken
 * and misses older ones, and an `EventsMissed` event in their place says how many (and how many were dead letters).
 *
 * @example
 * ```ts
 * yield* ActorSystem.events.pipe(
 *   Stream.filter((event) => event._tag === "Restarted" || event._tag === "DeadLetter"),
 *   Stream.runForEach((event) => Effect.log(event)),
 *   Effect.forkScoped
 * )
 * ```
 */
import { type Cause, Data } from "effect"
import type { SessionEvent } from "./choreography/SessionEvent.ts"
import type { NodeFenced } from "./durable/internal/errors.ts"
import type { OverflowPolicy } from "./Mailbox.ts"
import type { Reason } from "./Terminated.ts"

/** An actor was spawned. */
export class Spawned extends Data.TaggedClass("Spawned")<{ readonly path: string; readonly protocol: string }> {}

/** An actor terminated. */
export class Stopped extends Data.TaggedClass("Stopped")<{ readonly path: string; readonly reason: Reason }> {}

/** An actor's handler (or its initialisation) failed; its supervisor decides what happens next. */
export class Failed extends Data.TaggedClass("Failed")<{
  readonly path: string
  /** The tag of the message being handled, if any. */
  readonly tag: string | undefined
  readonly cause: Cause.Cause<unknown>
}> {}

/** A supervisor restarted an actor after `delayMillis` of backoff. */
export class Restarted extends Data.TaggedClass("Restarted")<{
  readonly path: string
  /** Consecutive restarts of this actor, this one included. */
  readonly restarts: number
  readonly delayMillis: number
}> {}

/**
 * An actor did not stop in time: its handler neither ended within the shutdown deadline nor ended when
 * interrupted (it was in an uninterruptible region) within a second one, or (no `tag`) its resources' release
 * did not end within the deadline, or (no `tag`, a sharded actor) it had not stopped when its bucket's stop
 * deadline passed. The stop went on without it: what was still running was left running, detached from the
 * actor, and a message being handled became a dead letter.
 */
export class StopTimedOut extends Data.TaggedClass("StopTimedOut")<{
  readonly path: string
  /** The tag of the message being handled, if any. */
  readonly tag: string | undefined
  readonly timeoutMillis: number
}> {}

/** A failed actor was resumed with its state kept. */
export class Resumed extends Data.TaggedClass("Resumed")<{ readonly path: string }> {}

/** A supervisor escalated a child's failure to its own parent (by decision or because its budget was spent). */
export class Escalated extends Data.TaggedClass("Escalated")<{
  readonly path: string
  readonly child: string
  readonly cause: Cause.Cause<unknown>
}> {}

/**
 * Why a message became a dead letter: its recipient had terminated, a full mailbox dropped it, its caller was
 * gone, no handler took it, its handler was interrupted, its node was unreachable, or (from another node) it
 * did not decode.
 */
export type DeadLetterReason =
  | "terminated"
  | "overflow"
  | "expired"
  | "unhandled"
  | "interrupted"
  | "unreachable"
  | "invalid"

/** A message could not be delivered or handled. */
export class DeadLetter extends Data.TaggedClass("DeadLetter")<{
  readonly recipient: string
  readonly tag: string
  readonly reason: DeadLetterReason
  readonly message: unknown
}> {}

/** A full mailbox applied its overflow policy. */
export class Overflow extends Data.TaggedClass("Overflow")<{
  readonly path: string
  readonly policy: OverflowPolicy
  readonly capacity: number
}> {}

/** A node joined: its actors are reachable. */
export class NodeUp extends Data.TaggedClass("NodeUp")<{ readonly node: string; readonly incarnation: string }> {}

/** A node was declared down: watchers of its actors got `NodeDown`, asks to it failed with `NodeUnreachable`. */
export class NodeDown extends Data.TaggedClass("NodeDown")<{
  readonly node: string
  readonly incarnation: string
  readonly reason: string
}> {}

/**
 * An event of a library or an application built on the runtime (the llm layer's model calls and tool calls,
 * a person's answer, ...): `source` says whose it is (e.g. `"@troupe/llm"`), `path` which actor it concerns,
 * `event` what happened. Publish one with `ActorSystem.publish`.
 */
export class Custom extends Data.TaggedClass("Custom")<{
  readonly source: string
  readonly path: string | undefined
  readonly event: { readonly _tag: string }
}> {}

/**
 * This subscriber did not keep up: the `count` events published before the next one it gets were dropped for it
 * (a subscriber keeps the latest 4,096 events it has not taken; the system never waits for it), `deadLetters` of them
 * `DeadLetter` events. Counters keep counting what it missed (`system.deadLetters` counts every dead letter). A
 * `DurableStopped` among them is not dropped: it comes right after this event (and is not in `count`).
 *
 * @example
 * ```ts
 * yield* ActorSystem.events.pipe(
 *   Stream.runForEach((event) =>
 *     event._tag === "EventsMissed" ? Effect.logWarning(`missed ${event.count} events`) : Effect.void
 *   ),
 *   Effect.forkScoped
 * )
 * ```
 */
export class EventsMissed extends Data.TaggedClass("EventsMissed")<{
  readonly count: number
  readonly deadLetters: number
}> {}

/**
 * The node's durable work in this process was stopped: another process took its node name over on `location` (this
 * one stalled or was cut from the database longer than the storage's `nodeLease`), and every write of this process
 * there is refused with `error` (`NodeFenced`). Its durable actors were stopped (`actors`), the durable sessions it
 * coordinated left to the new holder (`sessions`: their `await` failed with `NodeFenced`) and the durable session roles
 * it played dropped (`roles`), with nothing more written or told to their peers: the process should stop (see "One
 * process per node name" in docs/durability.md).
 *
 * @example
 * ```ts
 * yield* ActorSystem.events.pipe(
 *   Stream.filter((event) => event._tag === "DurableStopped"),
 *   Stream.runForEach((event) => Effect.logError(event.error.message)),
 *   Effect.forkScoped
 * )
 * ```
 */
export class DurableStopped extends Data.TaggedClass("DurableStopped")<{
  readonly node: string
  readonly location: string
  readonly error: NodeFenced
  readonly actors: number
  readonly sessions: number
  readonly roles: number
}> {}

/** Any system event; sessions publish theirs here too (see `SessionEvent`). */
export type SystemEvent =
  | Spawned
  | Stopped
  | StopTimedOut
  | Failed
  | Restarted
  | Resumed
  | Escalated
  | DeadLetter
  | Overflow
  | NodeUp
  | NodeDown
  | Custom
  | EventsMissed
  | DurableStopped
  | SessionEvent
