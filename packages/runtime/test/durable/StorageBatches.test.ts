/**
 * A storage's write batches on PostgreSQL (the group commit of `durable/internal/writer.ts`):
 *
 * - a backlog is written in bounded transactions, not one that every waiter waits for to the end;
 * - two runners' storages on one database write the same rows in opposite orders (what happens while a shard
 *   changes hands: the old owner's last batch and the new owner's first one store the same redelivered
 *   messages). PostgreSQL breaks the lock cycle by aborting one transaction ("deadlock detected", SQLSTATE
 *   40P01); the writer runs that batch again, so neither runner's writers see a failure;
 * - a batch runs on a connection the writer keeps: it commits while every other connection of the pool is busy
 *   (a runner's actors reading their inboxes, Effect Cluster's statements), and when that connection was
 *   closed while idle, the next batch begins on another one.
 */
import { Context, Deferred, Effect, Fiber, Layer, Schedule } from "effect"
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

/** The writer of a storage on the database at `location` (its layer lives as long as the scope). */
const writerOf = (location: string) =>
  Effect.map(
    Layer.build(postgres!.layer(location)),
    (context) => Storage.internal(Context.get(context, Storage.Storage)).writer
  )

describe.skipIf(postgres === undefined)("a storage's write batches on PostgreSQL", () => {
  it("write a backlog of 1,100 statements in transactions of at most 500", async () => {
    const location = await postgres!.fresh()
    const program = Effect.gen(function* () {
      const writer = yield* writerOf(location)
      // the first batch is held open until the backlog is queued behind it
      const opened = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const first = yield* Effect.forkChild(
        writer.run(() => Effect.andThen(Deferred.succeed(opened, undefined), Deferred.await(release)))
      )
      yield* Deferred.await(opened)
      // queued at once (a run joins the writer's queue as it starts), behind the open batch
      const backlog = yield* Effect.sync(() =>
        Array.from({ length: 1100 }, () =>
          Effect.runFork(
            writer.run((sql) =>
              Effect.map(sql<{ tx: string }>`SELECT txid_current()::text AS tx`, (rows) => rows[0]!.tx)
            )
          )
        )
      )
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(first)
      return yield* Fiber.joinAll(backlog)
    })
    const transactions = await Effect.runPromise(Effect.scoped(program))
    const sizes = new Map<string, number>()
    for (const tx of transactions) sizes.set(tx, (sizes.get(tx) ?? 0) + 1)
    expect([...sizes.values()].sort((a, b) => b - a)).toEqual([500, 500, 100])
  })

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

  it("commit a batch while every other connection of the pool is busy", async () => {
    const location = await postgres!.fresh()
    const program = Effect.gen(function* () {
      const { sql, writer } = yield* Effect.map(
        Layer.build(Storage.layerPostgres({ url: location, maxConnections: 3 })),
        (context) => Storage.internal(Context.get(context, Storage.Storage))
      )
      // another client holds an advisory lock in a transaction until the test releases it
      const other = Context.get(yield* Layer.build(postgres!.client(location)), SqlClient.SqlClient)
      const locked = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const holder = yield* Effect.forkChild(
        other.withTransaction(
          Effect.andThen(other`SELECT pg_advisory_xact_lock(8)`, () =>
            Effect.andThen(Deferred.succeed(locked, undefined), Deferred.await(release))
          )
        )
      )
      yield* Deferred.await(locked)
      yield* writer.run((sql) => store(sql, "ledger-0", "before")) // the writer has its connection
      // as many reads as the pool has connections, each busy until the lock is released (what the writer shares
      // the pool with)
      const reads = yield* Effect.forkChild(
        Effect.forEach(Array.from({ length: 3 }), () => sql`SELECT pg_advisory_xact_lock(8)`, {
          concurrency: "unbounded"
        })
      )
      // every connection of the pool but the writer's (2 of 3) waits for the lock: the third read waits for one
      yield* other<{ waiting: number }>`SELECT count(*)::int AS waiting FROM pg_locks
        WHERE locktype = 'advisory' AND NOT granted
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`.pipe(
        Effect.repeat({ until: (rows) => rows[0]!.waiting >= 2, schedule: Schedule.spaced("10 millis") })
      )
      // queued behind the reads, it would wait for one of them to end: until the lock is released (10 s: a bound for a hang)
      const stored = yield* Effect.exit(
        writer.run((sql) => store(sql, "ledger-0", "during")).pipe(Effect.timeout("10 seconds"))
      )
      const readsDone = reads.pollUnsafe() !== undefined
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(holder)
      yield* Fiber.join(reads)
      return { stored: stored._tag, readsDone }
    })
    expect(await Effect.runPromise(Effect.scoped(program))).toEqual({ stored: "Success", readsDone: false })
  })

  it("take another connection after the one the batches ran on is broken", async () => {
    const location = await postgres!.fresh()
    const program = Effect.gen(function* () {
      const { sql, writer } = yield* Effect.map(Layer.build(postgres!.layer(location)), (context) =>
        Storage.internal(Context.get(context, Storage.Storage))
      )
      const backend = () =>
        writer.run((sql) => Effect.map(sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`, (rows) => rows[0]!.pid))
      const first = yield* backend()
      expect(yield* backend()).toBe(first) // one connection for every batch
      yield* sql`SELECT pg_terminate_backend(${first})`
      // the next batch finds it closed before it sent anything, and runs on another connection
      const second = yield* backend()
      yield* writer.run((sql) => store(sql, "ledger-0", "after"))
      return { another: second !== first, again: (yield* backend()) === second }
    })
    expect(await Effect.runPromise(Effect.scoped(program))).toEqual({ another: true, again: true })
  })
})
