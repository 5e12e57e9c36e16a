/**
 * The writer's own connection on PostgreSQL (`durable/internal/connection.ts`) with a client the user brings:
 * the writer keeps a connection of the pool only when the pool can spare one, so that a read never waits for
 * ever behind it:
 *
 * - a pool of one connection (`PgClient.layer({ maxConnections: 1 })`), and a client of one connection
 *   (`PgClient.makeClient`): batches and reads take turns on it;
 * - a pool of two whose other connection is held for good (what Effect Cluster does for its shard locks);
 * - a pool with connections to spare still gets the writer its own (one connection for every batch).
 *
 * Each read is given 20 s (it takes milliseconds): past it, it waits behind a connection nobody gives back.
 */
import { PgClient } from "@effect/sql-pg"
import { Context, Effect, Layer, Option, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { describe, expect, it } from "vitest"
import * as Storage from "../../src/durable/Storage.ts"
import { databases } from "./databases.ts"

const postgres = databases().find((db) => db.name === "postgres")

/** A storage's writes and reads over the client `client` gives (as a user brings it: `Storage.layer()`). */
const writeThenRead = (client: Layer.Layer<SqlClient.SqlClient>, hold: boolean) =>
  Effect.gen(function* () {
    const context = yield* Layer.build(Layer.provideMerge(Storage.layer(), client))
    const sql = Context.get(context, SqlClient.SqlClient)
    if (hold) {
      // a connection held for as long as the storage lives (Effect Cluster's shard locks hold one so)
      yield* sql.reserve
    }
    const storage = Context.get(context, Storage.Storage)
    const { writer } = Storage.internal(storage)
    const pid = () =>
      writer.run((sql) => Effect.map(sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`, (rows) => rows[0]!.pid))
    yield* storage.journal.append("p", [{ seq: 1, entry: { n: 1 } }])
    const first = yield* pid()
    // a read after the writer's batches: it waits for a connection of the pool
    const read = yield* Effect.exit(storage.journal.read("p").pipe(Effect.timeout("20 seconds")))
    yield* storage.journal.append("p", [{ seq: 2, entry: { n: 2 } }])
    const state = yield* Effect.exit(storage.state("p").pipe(Effect.timeout("20 seconds")))
    const second = yield* pid()
    return {
      read: read._tag === "Success" ? read.value.map((e) => e.seq) : String(read.cause),
      state: state._tag === "Success" ? Option.isNone(state.value) : String(state.cause),
      sameConnection: first === second
    }
  }).pipe(Effect.scoped)

const pool = (url: string, maxConnections: number) =>
  PgClient.layer({ url: Redacted.make(url), maxConnections }) as Layer.Layer<SqlClient.SqlClient>

describe.skipIf(postgres === undefined)("the writer's connection with a client the user brings", () => {
  it("a pool of one connection: reads do not wait for ever behind the writer", async () => {
    const location = await postgres!.fresh()
    expect(await Effect.runPromise(writeThenRead(pool(location, 1), false))).toMatchObject({
      read: [1],
      state: true
    })
  }, 60_000)

  it("a client of one connection (PgClient.makeClient): reads do not wait for ever behind the writer", async () => {
    const location = await postgres!.fresh()
    const client = PgClient.layerFrom(PgClient.makeClient({ url: Redacted.make(location) })) as Layer.Layer<
      SqlClient.SqlClient,
      never
    >
    expect(await Effect.runPromise(writeThenRead(client, false))).toMatchObject({ read: [1], state: true })
  }, 60_000)

  it("a pool of two whose other connection is held for good: reads do not wait for ever", async () => {
    const location = await postgres!.fresh()
    expect(await Effect.runPromise(writeThenRead(pool(location, 2), true))).toMatchObject({
      read: [1],
      state: true
    })
  }, 60_000)

  it("a pool with connections to spare: the batches keep one connection", async () => {
    const location = await postgres!.fresh()
    expect(await Effect.runPromise(writeThenRead(pool(location, 3), true))).toEqual({
      read: [1],
      state: true,
      sameConnection: true
    })
  }, 60_000)
})
