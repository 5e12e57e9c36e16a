/**
 * A holder stalled in the middle of a write batch (SIGSTOP, a pause, a cut link: here its batch's transaction is held
 * open by the test after the batch's fence check), on both databases: a successor on another host, which sees its
 * heartbeat stand still for the lease, takes the name over in bounded time, and the stalled batch, once it goes on,
 * writes nothing (its storage is fenced). On PostgreSQL the check's `FOR SHARE` lock of the holder row held the
 * successor's takeover for as long as the stalled transaction lived (for ever under SIGSTOP): the successor's claim
 * did not end within 20 s; the server now ends a batch's transaction left idle for the holder's lease. A stalled
 * process's heartbeat stalls too: on PostgreSQL the test holds the heartbeat's own connection meanwhile, so that the
 * heartbeat waits (neither a batch nor the pool's traffic holds it up: NodeHeartbeatBusyBatch.test.ts,
 * NodeHeartbeatBusyPool.test.ts).
 */
import { Storage } from "@troupe/runtime"
import { Context, Deferred, Effect, Exit, Fiber, Layer, Scope } from "effect"
import { SqlClient } from "effect/sql"
import { describe, expect, it } from "vitest"
import { databases } from "./databases.ts"
import { claim, elsewhere } from "./successor.ts"

/** The holder's lease: how long its stalled transaction may stay idle (its heartbeat is every third of it). */
const HOLDER_LEASE_MS = 4000
/** The holder's pool on PostgreSQL: the batches' own connection kept (it needs three free to keep one). */
const HOLDER_CONNECTIONS = 3

describe.each(databases())("a holder stalled in the middle of a write batch ($name)", (db) => {
  it("is taken over in bounded time, and its stalled batch writes nothing", async () => {
    const location = await db.fresh()
    const result = await Effect.runPromise(
      Effect.gen(function* () {
        const first = yield* Layer.build(
          db.layer(location, { nodeLease: `${HOLDER_LEASE_MS} millis`, maxConnections: HOLDER_CONNECTIONS })
        )
        yield* claim("n").pipe(Effect.provideContext(first))
        // the successor's storage, opened now (its migrations checked): its claim below only watches and takes over
        const second = yield* Layer.build(Layer.fresh(db.layer(location, { nodeLease: "300 millis" })))
        // seen from the successor, the holder is on another host: known alive only by its heartbeat
        const sql = yield* SqlClient.SqlClient
        yield* sql`UPDATE troupe_nodes SET holder = ${JSON.stringify(elsewhere)} WHERE node = 'n'`
        // a batch of the holder stalls after its check (its transaction open), then writes a journal entry
        const writer = Storage.internal(Context.get(first, Storage.Storage)).writer
        const stalled = yield* Deferred.make<void>()
        const goOn = yield* Deferred.make<void>()
        const batch = yield* Effect.forkScoped(
          Effect.exit(
            writer.run((sql) =>
              Deferred.succeed(stalled, undefined).pipe(
                Effect.andThen(Deferred.await(goOn)),
                Effect.andThen(sql`INSERT INTO troupe_journal (persistence_id, seq, entry) VALUES ('stalled', 1, '1')`)
              )
            )
          )
        )
        yield* Deferred.await(stalled)
        // the rest of the holder stalls too: its heartbeat waits for its connection (SQLite: for the batch)
        const stall = yield* Scope.make()
        if (db.name === "postgres")
          yield* Scope.provide(
            Storage.internal(Context.get(first, Storage.Storage)).claimConnection.run((sql) => sql.reserve),
            stall
          )
        // the successor watches the heartbeat for its lease (it stands still: the holder is stalled), then takes over
        const since = Date.now()
        const successor = yield* Effect.exit(
          claim("n").pipe(Effect.provideContext(second), Effect.timeout("20 seconds"))
        )
        const tookMillis = Date.now() - since
        // the holder goes on
        yield* Scope.close(stall, Exit.void)
        yield* Deferred.succeed(goOn, undefined)
        const stalledExit = yield* Fiber.join(batch)
        const rows = yield* sql<{
          n: number
        }>`SELECT COUNT(*) AS n FROM troupe_journal WHERE persistence_id = 'stalled'`
        return { successor, tookMillis, stalledExit, written: Number(rows[0]!.n) }
      }).pipe(Effect.scoped, Effect.provide(db.client(location)))
    )
    expect(Exit.isSuccess(result.successor), `the successor's claim: ${String(result.successor)}`).toBe(true)
    // the lease of the successor's watch, and the holder's lease of idle time (PostgreSQL), with room for a loaded host
    expect(result.tookMillis).toBeLessThan(HOLDER_LEASE_MS + 10_000)
    expect(Exit.isFailure(result.stalledExit) && String(result.stalledExit.cause)).toContain("NodeFenced")
    expect(result.written, "the stalled batch's entry").toBe(0)
  }, 90_000)
})
