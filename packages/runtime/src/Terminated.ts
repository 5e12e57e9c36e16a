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

/**
 * This node's link to the node hosting the actor ended for good, and the actor is out of reach: `reason` says
 * why, as the transport's `PeerDown` does (`unreachable`: not heard from; `restarted`: a new incarnation came
 * back; `shutdown`: it said goodbye; `refused`: it is alive but had declared this node down, or refused it),
 * with `detail` its words. Both are left out for a watch made after the link had ended, and across the wire.
 */
export class NodeDown extends Data.TaggedClass("NodeDown")<{
  readonly node: string
  readonly reason?: "unreachable" | "restarted" | "shutdown" | "refused" | undefined
  readonly detail?: string | undefined
}> {}

/**
 * What happened to the node of a {@link NodeDown}, in words, seen from node `here`: that the node went down
 * is said only when it did (a node that declared `here` down is alive).
 *
 * @example
 * ```ts
 * describeNodeDown(new NodeDown({ node: "shop", reason: "refused", detail: "..." }), "buyers")
 * // "node shop is alive but ended its link with node buyers (...)"
 * ```
 */
export const describeNodeDown = (down: NodeDown, here: string): string => {
  const detail = down.detail === undefined ? "" : ` (${down.detail})`
  switch (down.reason) {
    case "refused":
      return `node ${down.node} is alive but ended its link with node ${here}${detail}`
    case "unreachable":
      return `node ${down.node} was not heard from${detail}: it crashed, stalled or was cut off`
    case "restarted":
      return `node ${down.node} restarted${detail}`
    case "shutdown":
      return `node ${down.node} shut down${detail}`
    default:
      return `node ${down.node}`
  }
}

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
