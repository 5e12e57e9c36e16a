/**
 * A shard's old owner SIGKILLed while its read of the shard's stored messages waits at the database: its shard locks
 * go with its sessions at once, but the read's statement runs on in its backend and lands when the database lets it,
 * after the next owner took the shards and cleared their claims (the engine claims what a read returns for 10
 * minutes, and no one gives a dead runner's claims back). The read is held by a lock on the replies table, as in
 * `ClaimHandover.test.ts`; here no release ever comes. Before the fix the read's claims were committed and the
 * ledgers' tells parked (they answered `[]`); now a read is a transaction that a dead runner never commits, and the
 * next owner's clearing waits for it. Runs with `TROUPE_CLUSTER=1` (~70 s: the next owner waits for the killed
 * runner's heartbeat to expire, 30 s).
 */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { ActorSystem, Cluster, Sharded, Storage } from "@troupe/runtime"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { ShardId, Sharding } from "effect/cluster"
import { SqlClient } from "effect/sql"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Postgres from "../durable/postgres.ts"
import { Ledger, Ledgers, seenBy } from "./ledger.ts"
import * as Processes from "./processes.ts"
import { lockReplies } from "./repliesLocked.ts"
import { testSharding } from "./runner.ts"

const enabled = process.env.TROUPE_CLUSTER === "1" && Postgres.unavailable === undefined
const SCRIPT = fileURLToPath(new URL("./runner.ts", import.meta.url))
/** As in `runner.ts`. */
const SHARDS = 30
const LEDGERS = 40
const phase = (what: string) => console.log(`[${new Date().toISOString()}] ${what}`)

describe.skipIf(!enabled)("a shard's old owner SIGKILLed while its read of the shard's messages is held", () => {
  let server: Postgres.Postgres
  let old: Processes.Runner | undefined
  const scopes: Array<Scope.Closeable> = []
  beforeAll(async () => {
    server = await Postgres.start()
  }, 60_000)
  afterAll(async () => {
    old?.child.kill("SIGKILL")
    await old?.exited
    for (const scope of scopes.reverse()) await Effect.runPromise(Scope.close(scope, Exit.void))
    await server?.stop()
  }, 120_000)

  /** Builds `layer` in a scope closed after the test. */
  const build = async <A>(layer: Layer.Layer<A, unknown>): Promise<Context.Context<A>> => {
    const scope = Effect.runSync(Scope.make())
    scopes.push(scope)
    return Effect.runPromise(Layer.buildWithScope(layer, scope) as Effect.Effect<Context.Context<A>>)
  }
  const until = async (what: string, millis: number, done: () => boolean | Promise<boolean>): Promise<boolean> => {
    const deadline = Date.now() + millis
    while (!(await done())) {
      if (Date.now() > deadline) {
        phase(`${what}: not within ${millis} ms`)
        return false
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    return true
  }

  it("delivers the shard's stored messages on its next owner", async () => {
    const logs = mkdtempSync(join(tmpdir(), "troupe-claim-kill-"))
    old = await Processes.within(Processes.startRunner(SCRIPT, server.url, "old", logs), 120_000, "runner old")
    phase(`runner old ready (log in ${logs})`)
    const sql = await build(Storage.postgresClient({ url: server.url, maxConnections: 3 }))
    const query = <A extends object>(
      statement: (db: SqlClient.SqlClient) => Effect.Effect<ReadonlyArray<A>, unknown>
    ) =>
      Effect.runPromise(
        Effect.flatMap(SqlClient.SqlClient, statement).pipe(Effect.provideContext(sql)) as Effect.Effect<
          ReadonlyArray<A>
        >
      )
    const shardLocks = async () =>
      Number(
        (
          await query<{ n: number }>(
            (db) => db`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 AND granted`
          )
        )[0]!.n
      )
    expect(await until("runner old holds every shard", 120_000, async () => (await shardLocks()) === SHARDS)).toBe(true)
    const client = await build(
      Cluster.layerPostgres({ url: server.url, clientOnly: true, shards: SHARDS, ...testSharding })
    )
    // the replies table locked: every read of stored messages waits at the database
    const replies = await lockReplies(sql)
    const ids = Array.from({ length: LEDGERS }, (_, i) => `kill-${i}`)
    await Effect.runPromise(
      Effect.gen(function* () {
        const refs = yield* Sharded.refs(Ledgers)
        yield* Effect.forEach(ids, (id) => refs(id).tell(Ledger.Record({ seq: 1 })), { discard: true })
      }).pipe(Effect.provideContext(client))
    )
    phase("replies locked; tells stored")
    // the old runner's read of them (it polls every 500 ms) waits for the replies table
    const waiting = () =>
      query<{ n: number }>(
        (db) => db`SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE wait_event_type = 'Lock' AND query LIKE '%SET last_read%' AND query NOT LIKE '%pg_stat_activity%'`
      ).then((rows) => Number(rows[0]!.n) > 0)
    expect(await until("the old runner's read waits at the database", 30_000, waiting)).toBe(true)
    old.child.kill("SIGKILL")
    expect(await Processes.within(old.exited, 30_000, "runner old to exit")).toBe(null)
    phase("runner old killed; its read still waits at the database; runner new starting")
    const next = await build(
      Sharded.layer(Ledgers).pipe(
        Layer.provideMerge(ActorSystem.layer({ name: "new" })),
        Layer.provideMerge(
          Cluster.layerPostgres({
            url: server.url,
            host: "127.0.0.1",
            port: await Postgres.freePort(),
            shards: SHARDS,
            ...testSharding
          })
        )
      )
    )
    const shards = Array.from({ length: SHARDS }, (_, i) => ShardId.make("default", i + 1))
    const held = () => shards.filter((s) => Context.get(next, Sharding.Sharding).hasShardId(s)).length
    // (after the old runner's heartbeat expired: 30 s; then the engine waits at most 10 s for each clearing)
    expect(await until("runner new holds every shard", 120_000, () => held() === SHARDS)).toBe(true)
    expect(await waiting()).toBe(true)
    phase("runner new holds every shard; the old read still waits; replies unlocked")
    await replies.unlock()
    const seen = await Effect.runPromise(seenBy(ids).pipe(Effect.provideContext(client)))
    expect(seen.filter(([, s]) => s.join() !== "1")).toEqual([])
  }, 300_000)
})
