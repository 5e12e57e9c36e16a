/**
 * What a sharded ref makes of the engine's `AlreadyProcessingMessage` (cluster/internal/clusterRef.ts). Effect
 * Cluster sends a request again with the same request id on its own (its retry after the runner holding the shard
 * did not answer, or its notify of a stored message that the owner's storage loop read first) and the owner answers
 * `AlreadyProcessingMessage` when it finds that request being handled or handled. Seen under load as role programs
 * of sharded sessions failing on `ClusterUnavailable (AlreadyProcessingMessage)`, not retryable: their tells had
 * reached the peer. A tell that meets it succeeds (the message reached its actor, and sending it again would have it
 * handled twice); an ask still fails typed, not retryable (its reply does not come back on this path).
 *
 * The engine's client here is a function that fails with the engine's own error (the race itself depends on the
 * engine's timing on a loaded machine).
 */
import { Effect, Exit } from "effect"
import { ClusterError, EntityAddress, EntityId, EntityType, ShardId, Snowflake } from "effect/cluster"
import { describe, expect, it } from "vitest"
import * as ClusterRef from "../../src/cluster/internal/clusterRef.ts"
import { Table } from "../../src/internal/clusterRefs.ts"
import { Ledger } from "./ledger.ts"

const already = new ClusterError.AlreadyProcessingMessage({
  envelopeId: Snowflake.Snowflake(1n),
  address: EntityAddress.make({
    shardId: ShardId.make("default", 1),
    entityType: EntityType.make("Ledger"),
    entityId: EntityId.make("7")
  })
})

/** The engine's client of a bucket whose every request meets its earlier self being handled. */
const client: ClusterRef.Client = {
  Record: () => Effect.fail(already),
  Seen: () => Effect.fail(already),
  Where: () => Effect.fail(already)
}

describe("a sharded ref when the engine finds its request being handled already", () => {
  const ref = ClusterRef.make(Ledger, "/cluster/Ledger/l-1", "l-1", client, new Table())

  it("a tell succeeds: the message reached its actor", async () => {
    const exit = await Effect.runPromise(Effect.exit(ref.tell(Ledger.Record({ seq: 1 }))))
    // before: ClusterUnavailable AlreadyProcessingMessage, not retryable (a session's role program failed on it)
    expect(exit).toEqual(Exit.void)
  })

  it("an ask fails typed, not retryable, saying that its reply does not come back this way", async () => {
    const exit = await Effect.runPromise(Effect.exit(ref.ask(Ledger.Seen(), { timeout: "5 seconds" })))
    const error = Exit.isFailure(exit) ? Exit.findErrorOption(exit) : undefined
    expect(error?._tag === "Some" && error.value).toMatchObject({
      _tag: "ClusterUnavailable",
      reason: "AlreadyProcessingMessage",
      retryable: false
    })
    expect(error?._tag === "Some" && (error.value as Error).message).toMatch(/handled twice/)
  })
})
