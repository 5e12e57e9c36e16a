/**
 * Two runners' storages on one PostgreSQL database write the same rows in opposite orders (what happens while a
 * shard changes hands: the old owner's last batch and the new owner's first one store the same redelivered
 * messages). PostgreSQL breaks the lock cycle by aborting one transaction ("deadlock detected", SQLSTATE 40P01);
 * the writer runs that batch again, so neither runner's writers see a failure.
 */
import { Context, Deferred, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { describe, expect, it } from "vitest"
import * as Storage from "../../src/durable/Storage.ts"
import { databases } from "./databases.ts"

const postgres = databases().find((db) => db.name === "postgres")

/** The statement a durable message's store runs (durable/internal/inbox.ts). */
const store = (sql: SqlClient.SqlClient, recipient: string, id: string) =>
  sql`INSERT INTO troupe_inbox ${sql.insert({
    recipient,
    message_id: id,
    message: "{}",
    handled: 0,
    reply: null,
    created_at: Date.now()
  })} ON CONFLICT (recipient, message_id) DO NOTHING`

describe.skipIf(postgres === undefined)("two storages on one PostgreSQL database", () => {
  it("write the same rows in opposite orders: the deadlock's victim batch is written again, both commit", async () => {
    const location = await postgres!.fresh()
    const program = Effect.gen(function* () {
      const writers = yield* Effect.forEach([0, 1], () =>
        Effect.map(
          Layer.build(postgres!.layer(location)),
          (context) => Storage.internal(Context.get(context, Storage.Storage)).writer
        )
      )
      const holds = [yield* Deferred.make<void>(), yield* Deferred.make<void>()] as const
      let runs = 0
      // runner i stores its own row, waits until the other runner holds its row, then stores the other's row
      const batch = (i: 0 | 1) => (sql: SqlClient.SqlClient) =>
        Effect.gen(function* () {
          runs++
          const [mine, theirs] = i === 0 ? (["x", "y"] as const) : (["y", "x"] as const)
          yield* store(sql, `ledger-${mine}`, `cluster-${mine}`)
          yield* Deferred.succeed(holds[i], undefined)
          yield* Deferred.await(holds[1 - i]!)
          yield* store(sql, `ledger-${theirs}`, `cluster-${theirs}`)
        })
      const exits = yield* Effect.all([writers[0]!.run(batch(0)), writers[1]!.run(batch(1))], {
        concurrency: 2,
        mode: "result"
      })
      return { exits, runs }
    })
    const { exits, runs } = await Effect.runPromise(Effect.scoped(program))
    expect(exits.map((exit) => (exit._tag === "Success" ? "stored" : exit.failure.message))).toEqual([
      "stored",
      "stored"
    ])
    // PostgreSQL did abort one of them (so this test saw a deadlock): its batch ran twice
    expect(runs).toBe(3)
    const rows = await Effect.runPromise(
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        return yield* sql<{ recipient: string; message_id: string }>`SELECT recipient, message_id FROM troupe_inbox
          ORDER BY recipient`
      }).pipe(Effect.provide(postgres!.client(location)))
    )
    expect(rows.map((row) => `${row.recipient} ${row.message_id}`)).toEqual([
      "ledger-x cluster-x",
      "ledger-y cluster-y"
    ])
  })
})
