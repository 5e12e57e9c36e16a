/**
 * Death watch: an actor that watches another learns of its end exactly once, with the reason.
 *
 * Watch from a behaviour with `ctx.watch(ref)` (the watcher's `onTerminated` handler receives a
 * {@link Terminated}) or `ctx.watchWith(ref, message)` (a message of the watcher's own protocol is delivered
 * instead). From outside an actor, `ActorSystem.awaitTermination(ref)` waits for it. Watching an actor
 * that is already gone delivers the notification at once.
 *
 * @example
 * ```ts
 * const terminated = yield* ActorSystem.awaitTermination(worker)
 * if (terminated.reason instanceof Terminated.Failed) yield* Effect.logError("worker failed", terminated.reason.cause)
 * if (terminated.reason instanceof Terminated.NodeDown) yield* Effect.log(`lost with node ${terminated.reason.node}`)
 * ```
 */
import { type Cause, Data, Schema } from "effect"
import type { ActorRef } from "./ActorRef.ts"
import type * as Protocol from "./Protocol.ts"

/** The actor stopped normally: it stopped itself, its parent stopped it, or the system shut down. */
export class Stopped extends Data.TaggedClass("Stopped")<{}> {}

/** The actor was stopped by its supervisor after it failed with `cause`. */
export class Failed extends Data.TaggedClass("Failed")<{ readonly cause: Cause.Cause<unknown> }> {}

/** The node hosting the actor was declared down by the failure detector. */
export class NodeDown extends Data.TaggedClass("NodeDown")<{ readonly node: string }> {}

/** Why an actor terminated. */
export type Reason = Stopped | Failed | NodeDown

/** The notification that a watched actor has terminated. */
export class Terminated extends Data.TaggedClass("Terminated")<{
  readonly ref: ActorRef<Protocol.Any>
  readonly reason: Reason
}> {}

/** The shared normal-stop reason. */
export const stopped: Reason = new Stopped()

/** A watcher without an `onTerminated` handler saw a watched actor terminate, and fails with this (as in Akka). */
export class DeathPact extends Schema.TaggedError<DeathPact>()("DeathPact", {
  watcher: Schema.String,
  terminated: Schema.String
}) {
  override get message() {
    return `${this.watcher} watched ${this.terminated}, which terminated, and has no onTerminated handler`
  }
}
