/**
 * A runner's shard locks do not wait behind its message traffic (cluster/Cluster.ts `runnerStorageConnections`):
 * Effect Cluster's runner storage (registrations, shard locks on a reserved connection) runs on a client of its own,
 * not on the runner's pool. Before, under a backlog the pool's queue held thousands of statements, and a rebuild of
 * the lock connection (after a lock operation missed its 10 s deadline on a loaded machine) waited behind them: the
 * lock storage stayed unhealthy and the runner held no shards for minutes after a SIGKILL of another runner
 * (Runners.test.ts under 8 CPU burners; ledger-0 unanswered for 5 minutes).
 *
 * Here the runner's pool is held whole (every connection reserved, more waiting in its queue, as a backlog holds it)
 * and the server ends the lock session (`pg_terminate_backend`): the runner takes a new lock connection and its shard
 * locks again.
 * Runs with `TROUPE_CLUSTER=1`.
 */
import type { PgClient } from "@effect/sql-pg"
import { Cluster, Storage } from "@troupe/runtime"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { SqlClient } from "effect/sql"
import { describe, expect, it } from "vitest"
import { postgresServer } from "../durable/databases.ts"
import * as Postgres from "../durable/postgres.ts"

const enabled = process.env.TROUPE_CLUSTER === "1" && Postgres.unavailable === undefined
const SHARDS = 4

describe.skipIf(!enabled)("a runner whose pool is held by its traffic", () => {
  const server = postgresServer()

  it("takes its shard locks again on a new lock connection after the server ended its lock session", async () => {
    const admin = Storage.postgresClient({ url: server().url, maxConnections: 1 })
    /** The advisory locks held now, and by which server processes. */
    const locks = Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const rows = yield* sql<{ pid: number }>`SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted`
      return rows.map((r) => r.pid)
    }).pipe(Effect.provide(admin))
    const until = <A>(read: Effect.Effect<A, unknown>, done: (a: A) => boolean, millis: number) =>
      Effect.gen(function* () {
        const since = Date.now()
        let value = yield* read
        while (!done(value) && Date.now() - since < millis) {
          yield* Effect.sleep("200 millis")
          value = yield* read
        }
        return value
      })
    const program = Effect.gen(function* () {
      const context = yield* Layer.build(
        Cluster.layerPostgres({
          url: server().url,
          host: "127.0.0.1",
          port: yield* Effect.promise(() => Postgres.freePort()),
          shards: SHARDS,
          shardLockExpiration: "6 seconds",
          shardLockRefreshInterval: "1 second"
        })
      )
      const before = yield* until(locks, (pids) => pids.length === SHARDS, 30_000)
      // the runner's traffic holds every connection of its pool
      const sql = Storage.internal(Context.get(context, Storage.Storage)).sql
      const held = yield* Scope.make()
      const stats = yield* (sql as unknown as PgClient.PgClient).poolStats
      for (let i = stats.used; i < stats.max; i++) yield* Scope.provide(sql.reserve, held)
      // and more of it waits in the pool's queue (a backlog: a connection given back goes to the first of them)
      for (let i = 0; i < 5; i++) yield* Effect.forkIn(Scope.provide(sql.reserve, held), held)
      yield* Effect.sleep("100 millis")
      // the server ends the lock session (its locks go with it)
      yield* Effect.provide(
        Effect.flatMap(SqlClient.SqlClient, (admin) => admin.unsafe(`SELECT pg_terminate_backend(${before[0]})`)),
        admin
      )
      const after = yield* until(locks, (pids) => pids.length === SHARDS && !pids.includes(before[0]!), 20_000)
      yield* Scope.close(held, Exit.void)
      return { before, after }
    })
    const { before, after } = await Effect.runPromise(
      Effect.scoped(program) as Effect.Effect<{
        before: Array<number>
        after: Array<number>
      }>
    )
    expect(new Set(before).size).toBe(1)
    // before the fix: [] (the new lock connection waited for the pool for ever)
    expect(after).toHaveLength(SHARDS)
    expect(after).not.toContain(before[0])
  }, 120_000)
})
