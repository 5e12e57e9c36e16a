/**
 * A durable message whose inbox row a shard's old owner committed late (its write batch still on its way when the
 * shard moved: a write is not cancelled with the delivery that asked for it), after the new owner's live actor had
 * read a later row. The row's sequence number is taken when it is inserted, not when it commits, so it lies behind
 * the actor's read position: when the cluster redelivers the message, the inbox keeps it once under its id (stored
 * already, not handled) and pokes the actor, and the actor must still hand it to its handler. PostgreSQL only (SQLite
 * writes one transaction at a time: its rows commit in their order); in-process, a few seconds.
 */
import { ActorSystem, Behavior, Durable, Entity, Protocol, Storage } from "@troupe/runtime"
import { Deferred, Effect, Fiber, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { describe, expect, it } from "vitest"
import { postgresServer } from "../durable/databases.ts"
import * as Postgres from "../durable/postgres.ts"

const Ledger = Protocol.make("InboxLedger", {
  Record: { seq: Schema.Number },
  Seen: Protocol.request({}, { success: Schema.Array(Schema.Number) })
})
const Ledgers = Entity.make("inbox-ledger", Ledger, {
  behavior: () =>
    Behavior.make(Ledger, {
      initial: [] as ReadonlyArray<number>,
      receive: {
        Record: (seen, { seq }) => Effect.succeed([...seen, seq]),
        Seen: (seen) => Effect.succeed({ state: seen, reply: seen })
      }
    }),
  state: Schema.Array(Schema.Number)
})

describe.skipIf(Postgres.unavailable !== undefined)("a durable message stored late by a shard's old owner", () => {
  const server = postgresServer()

  it("is handled when the cluster delivers it again, after the live actor read later messages", async () => {
    const seen = await Effect.runPromise(
      Effect.gen(function* () {
        const ledger = yield* Entity.ref(Ledgers, "l-1")
        yield* Durable.tell(ledger, Ledger.Record({ seq: 1 }), { id: "cluster-1" })
        // the old owner's batch: the row of message 2 inserted (its sequence number taken), not committed yet
        const sql = yield* SqlClient.SqlClient
        const inserted = Deferred.makeUnsafe<void>()
        const commit = Deferred.makeUnsafe<void>()
        const oldOwner = yield* Effect.forkChild(
          sql.withTransaction(
            Effect.gen(function* () {
              yield* sql`INSERT INTO troupe_inbox (recipient, message_id, message, handled, reply, created_at)
                VALUES ('inbox-ledger/l-1', 'cluster-2', ${JSON.stringify({ _tag: "Record", seq: 2 })}, 0, NULL, 0)`
              yield* Deferred.succeed(inserted, undefined)
              yield* Deferred.await(commit)
            })
          )
        )
        yield* Deferred.await(inserted)
        // the new owner: message 3 stored and handled by the live actor
        yield* Durable.tell(ledger, Ledger.Record({ seq: 3 }), { id: "cluster-3" })
        const before = yield* Durable.ask(ledger, Ledger.Seen(), { id: "cluster-seen-1", timeout: "10 seconds" })
        expect(before).toEqual([1, 3])
        // the old owner's batch commits; the cluster delivers message 2 again (it was never marked processed)
        yield* Deferred.succeed(commit, undefined)
        yield* Fiber.join(oldOwner)
        yield* Durable.tell(ledger, Ledger.Record({ seq: 2 }), { id: "cluster-2" })
        return yield* Durable.ask(ledger, Ledger.Seen(), { id: "cluster-seen-2", timeout: "10 seconds" })
      }).pipe(
        Effect.scoped,
        Effect.provide(ActorSystem.layer()),
        Effect.provide(Storage.layerPostgres({ url: server().url })),
        Effect.provide(Storage.postgresClient({ url: server().url, maxConnections: 2 }))
      )
    )
    expect(seen).toEqual([1, 3, 2])
  }, 60_000)
})
