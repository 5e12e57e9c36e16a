/**
 * On PostgreSQL, a holder whose connection pool is saturated by its own traffic (here every connection of a pool of
 * two waits in a statement for an advisory lock the test holds, and more statements queue for a connection, as under
 * long batches, many sessions or a slow server) is alive: its heartbeat goes on, on a connection of its own, and a
 * successor on another host, which watches that heartbeat for its lease, is refused (`NodeNameTaken`). Before, the
 * heartbeat's `UPDATE` waited in the pool's queue behind that traffic: the successor saw the heartbeat stand still,
 * presumed the holder dead and took its name over, fencing a healthy node. The heartbeat's connection, cut by the
 * server, is opened again: the holder keeps its name.
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
/** The holder's pool, and its statements in flight: all its connections busy, and as many waiting for one. */
const POOL = 2
const TRAFFIC = 4

const postgres = databases().filter((db) => db.name === "postgres")

describe.each(postgres)("a holder whose pool is saturated by its own traffic ($name)", (db) => {
  it("keeps its heartbeat: a successor is refused, and the holder writes once its traffic is through", async () => {
    const location = await db.fresh()
    const result = await Effect.runPromise(
      Effect.gen(function* () {
        const first = yield* Layer.build(
          db.layer(location, { nodeLease: `${HOLDER_LEASE_MS} millis`, maxConnections: POOL })
        )
        yield* claim("n").pipe(Effect.provideContext(first))
        const second = yield* Layer.build(
          Layer.fresh(db.layer(location, { nodeLease: `${SUCCESSOR_LEASE_MS} millis` }))
        )
        // seen from the successor, the holder is on another host: known alive only by its heartbeat
        const sql = yield* SqlClient.SqlClient
        yield* sql`UPDATE troupe_nodes SET holder = ${JSON.stringify(elsewhere)} WHERE node = 'n'`
        // the test holds an advisory lock on a connection of its own, for as long as the test says
        const unlock = yield* holdAdvisoryLock(4242)
        // the holder's own traffic: statements on its pool that wait for that lock, more than the pool has connections
        const storage = Storage.internal(Context.get(first, Storage.Storage))
        const traffic = yield* Effect.forkScoped(
          Effect.exit(
            Effect.forEach(Array.from({ length: TRAFFIC }), () => storage.sql`SELECT pg_advisory_xact_lock(4242)`, {
              concurrency: "unbounded",
              discard: true
            })
          )
        )
        // every connection of the holder's pool waits for the lock now (and the rest of its traffic for a connection)
        for (;;) {
          const waiting = yield* sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM pg_stat_activity
            WHERE wait_event_type = 'Lock' AND query LIKE '%pg_advisory_xact_lock%'`
          if (Number(waiting[0]!.n) >= POOL) break
          yield* Effect.sleep("10 millis")
        }
        // the server cuts the heartbeat's connection (a broken socket, a restarted proxy): it is opened again
        const cut = yield* sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND application_name LIKE '%(troupe node claims)'`
        // the successor watches the heartbeat for its lease: it moves, so the holder is alive (bounded: before, the
        // successor presumed it dead and its takeover went through)
        const successor = yield* Effect.exit(
          claim("n").pipe(Effect.provideContext(second), Effect.timeout(`${SUCCESSOR_LEASE_MS + 10_000} millis`))
        )
        yield* unlock
        const trafficExit = yield* Fiber.join(traffic)
        // the holder still holds its name: its next write batch commits (a holder taken over fails it, NodeFenced)
        const written = yield* Effect.exit(
          storage.writer.run(
            (sql) => sql`INSERT INTO troupe_journal (persistence_id, seq, entry) VALUES ('after', 1, '1')`
          )
        )
        return { successor, trafficExit, written, cut: cut.length }
      }).pipe(Effect.scoped, Effect.provide(db.client(location)))
    )
    expect(Exit.isFailure(result.successor) && String(result.successor.cause), "the successor's claim").toContain(
      "NodeNameTaken"
    )
    expect(result.cut, "the heartbeat's connections cut").toBe(1)
    expect(Exit.isSuccess(result.trafficExit), `the holder's traffic: ${String(result.trafficExit)}`).toBe(true)
    expect(Exit.isSuccess(result.written), `the holder's write after: ${String(result.written)}`).toBe(true)
  }, 90_000)
})
