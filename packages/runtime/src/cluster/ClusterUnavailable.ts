/**
 * The typed failure of a `tell` or `ask` to a sharded actor that the cluster could not carry: the message did
 * not reach the actor's runner, or its database refused it. `reason` is the engine's (Effect Cluster's error
 * tag); `retryable` says whether sending the same message again later may succeed.
 *
 * @example
 * ```ts
 * yield* ticket.tell(Ticket.Comment({ text: "hi" })).pipe(
 *   Effect.catchTag("ClusterUnavailable", (e) => (e.retryable ? Effect.sleep("1 second") : Effect.fail(e)))
 * )
 * ```
 */
import { Schema } from "effect"

/**
 * Why the cluster could not carry a message, in the engine's words:
 * - `PersistenceError`: the database refused to store it (down, unreachable, locked); retryable.
 * - `EntityNotAssignedToRunner`: no runner holds the actor's shard now (a rebalance, or this runner is
 *   stopping); retryable.
 * - `RunnerUnavailable`, `RunnerNotRegistered`: the runner that holds the shard does not answer, or left;
 *   retryable (another runner takes its shards).
 * - `AlreadyProcessingMessage`: an ask the engine sent again on its own (same request id) and found being handled:
 *   its reply does not come back to this caller; not retryable (sent again it would be handled twice). A `tell` never
 *   fails with it: its message reached the actor.
 * - `Shutdown` (Troupe's): this process's runner or client has stopped, or is stopping, and the engine
 *   abandoned the request; not retryable here (a durable message is kept and handled under the shard's next
 *   owner, but this caller gets no reply).
 */
export const Reason = Schema.Literals([
  "PersistenceError",
  "EntityNotAssignedToRunner",
  "RunnerUnavailable",
  "RunnerNotRegistered",
  "AlreadyProcessingMessage",
  "Shutdown"
])
export type Reason = typeof Reason.Type

/**
 * The cluster could not carry a message to the sharded actor `recipient`: see {@link Reason}. With
 * `PersistenceError` and `EntityNotAssignedToRunner` the message was not accepted; with `RunnerUnavailable` a
 * volatile message may have been handled before its runner stopped answering.
 *
 * @example
 * ```ts
 * const e = new ClusterUnavailable({
 *   recipient: "/cluster/Ticket/t-1", tag: "Comment", reason: "PersistenceError", retryable: true, detail: "database is locked"
 * })
 * ```
 */
export class ClusterUnavailable extends Schema.TaggedError<ClusterUnavailable>()("ClusterUnavailable", {
  recipient: Schema.String,
  tag: Schema.String,
  reason: Reason,
  retryable: Schema.Boolean,
  detail: Schema.String
}) {
  override get message() {
    const what = this.retryable
      ? "send it again later"
      : this.reason === "Shutdown"
        ? "send it from a process whose runner runs"
        : "wait for the request being handled"
    return `The cluster could not carry ${this.tag} to ${this.recipient} (${this.reason}): ${this.detail}. What to do: ${what}`
  }
}
