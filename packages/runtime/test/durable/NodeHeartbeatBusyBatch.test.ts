/**
 * On PostgreSQL, a holder busy in a long write batch (here its batch waits for an advisory lock the test holds, as a
 * batch waits behind another transaction's lock or a slow disk) is alive: its heartbeat goes on, and a successor on
 * another host, which watches that heartbeat for its lease, is refused (`NodeNameTaken`); the batch then commits.
 * Before, the heartbeat's `UPDATE` of the holder row waited for the batch's fence check (`FOR SHARE` on that row) for
 * as long as the batch lasted: the successor saw the heartbeat stand still, presumed the holder dead, and took the
 * name over once the batch ended, fencing a healthy node. (A holder stalled in a batch, with its transaction idle, is
 * taken over: NodeFencedStalledBatch.test.ts.)
 */
import { Storage } from "@troupe/runtime"
import { Context, Effect, Exit, Fiber, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { describe, expect, it } from "vitest"
import { holdAdvisoryLock } from "./advisoryLock.ts"
import { databases } from "./databases.ts"
import { claim, elsewhere } from "./successor.ts"

/** The holder's lease: it beats every third of it. */
const HOLDER_LEASE_MS = 600
/** How long the successor watches the holder's heartbeat before it presumes it dead: many of the holder's beats. */
const SUCCESSOR_LEASE_MS = 3000

const postgres = databases().filter((db) => db.name === "postgres")

describe.each(postgres)("a holder busy in a long write batch ($name)", (db) => {
  it("keeps its heartbeat: a successor is refused, and the batch commits", async () => {
    const location = await db.fresh()
    const result = await Effect.runPromise(
      Effect.gen(function* () {
        const first = yield* Layer.build(db.layer(location, { nodeLease: `${HOLDER_LEASE_MS} millis` }))
        yield* claim("n").pipe(Effect.provideContext(first))
        const second = yield* Layer.build(
          Layer.fresh(db.layer(location, { nodeLease: `${SUCCESSOR_LEASE_MS} millis` }))
        )
        // seen from the successor, the holder is on another host: known alive only by its heartbeat
        const sql = yield* SqlClient.SqlClient
        yield* sql`UPDATE troupe_nodes SET holder = ${JSON.stringify(elsewhere)} WHERE node = 'n'`
        // the test holds an advisory lock on a connection of its own, for as long as the test says
        const unlock = yield* holdAdvisoryLock(4242)
        // a batch of the holder waits for that lock (busy, not idle), then writes a journal entry
        const writer = Storage.internal(Context.get(first, Storage.Storage)).writer
        const batch = yield* Effect.forkScoped(
          Effect.exit(
            writer.run((sql) =>
              sql`SELECT pg_advisory_xact_lock(4242)`.pipe(
                Effect.andThen(sql`INSERT INTO troupe_journal (persistence_id, seq, entry) VALUES ('busy', 1, '1')`)
              )
            )
          )
        )
        // the batch waits for the lock now
        for (;;) {
          const waiting = yield* sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM pg_stat_activity
            WHERE wait_event_type = 'Lock' AND query LIKE '%pg_advisory_xact_lock%'`
          if (Number(waiting[0]!.n) > 0) break
          yield* Effect.sleep("10 millis")
        }
        // the successor watches the heartbeat for its lease: it moves, so the holder is alive (bounded: before, the
        // successor presumed it dead and its takeover waited for the batch, which waited for the test)
        const successor = yield* Effect.exit(
          claim("n").pipe(Effect.provideContext(second), Effect.timeout(`${SUCCESSOR_LEASE_MS + 10_000} millis`))
        )
        yield* unlock
        const batchExit = yield* Fiber.join(batch)
        const rows = yield* sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM troupe_journal
          WHERE persistence_id = 'busy'`
        return { successor, batchExit, written: Number(rows[0]!.n) }
      }).pipe(Effect.scoped, Effect.provide(db.client(location)))
    )
    expect(Exit.isFailure(result.successor) && String(result.successor.cause), "the successor's claim").toContain(
      "NodeNameTaken"
    )
    expect(Exit.isSuccess(result.batchExit), `the busy batch: ${String(result.batchExit)}`).toBe(true)
    expect(result.written, "the busy batch's entry").toBe(1)
  }, 90_000)
})
