/**
 * A shard handed over while its old owner's read of stored messages is still on its way to the database. The engine
 * claims the messages a read returns (`last_read`, for 10 minutes) and skips those of a shard it no longer holds
 * without giving the claim back; the shard's next owner clears the claims when it takes the shard, and not after. A
 * read issued by the old owner before the handover that reached the database after the new owner's clearing claimed
 * the shard's messages for 10 minutes: delivered by no one, while later messages to the same actors were
 * (Runners.test.ts: ledgers of one shard answered `[1, 3]` after a rolling restart, their tell 2 not lost but
 * parked). Here the old owner's read is held at the database by a lock on the replies table (on a loaded runner
 * its pool's queue and event loop hold it); now a shard's release waits for the reads of it in flight.
 * Runs with `TROUPE_CLUSTER=1`.
 */
import { ActorSystem, Cluster, Sharded, Storage } from "@troupe/runtime"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { ShardId, Sharding } from "effect/cluster"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Postgres from "../durable/postgres.ts"
import { Ledger, Ledgers, seenBy } from "./ledger.ts"
import { lockReplies } from "./repliesLocked.ts"
import { testSharding } from "./runner.ts"

const enabled = process.env.TROUPE_CLUSTER === "1" && Postgres.unavailable === undefined
const SHARDS = 2
const LEDGERS = 40
const phase = (what: string) => console.log(`[${new Date().toISOString()}] ${what}`)

describe.skipIf(!enabled)("a shard handed over while its old owner's read of its messages is in flight", () => {
  let server: Postgres.Postgres
  const scopes: Array<Scope.Closeable> = []
  beforeAll(async () => {
    server = await Postgres.start()
  }, 60_000)
  afterAll(async () => {
    for (const scope of scopes.reverse()) await Effect.runPromise(Scope.close(scope, Exit.void))
    await server?.stop()
  }, 120_000)

  /** Builds `layer` in a scope closed after the test. */
  const build = async <A>(layer: Layer.Layer<A, unknown>): Promise<Context.Context<A>> => {
    const scope = Effect.runSync(Scope.make())
    scopes.push(scope)
    return Effect.runPromise(Layer.buildWithScope(layer, scope) as Effect.Effect<Context.Context<A>>)
  }
  const runner = async (name: string) =>
    build(
      Sharded.layer(Ledgers).pipe(
        Layer.provideMerge(ActorSystem.layer({ name })),
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
  /** The shards a runner holds now, as its engine sees them. */
  const held = (ctx: Context.Context<Sharding.Sharding>) =>
    shards.filter((s) => Context.get(ctx, Sharding.Sharding).hasShardId(s))
  const until = async (what: string, millis: number, done: () => boolean): Promise<boolean> => {
    const deadline = Date.now() + millis
    while (!done()) {
      if (Date.now() > deadline) {
        phase(`${what}: not within ${millis} ms`)
        return false
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    return true
  }

  it("delivers the shard's stored messages on its next owner", async () => {
    const a = await runner("a")
    await until("runner a holds every shard", 60_000, () => held(a).length === SHARDS)
    const client = await build(
      Cluster.layerPostgres({ url: server.url, clientOnly: true, shards: SHARDS, ...testSharding })
    )
    const sql = await build(Storage.postgresClient({ url: server.url }))
    // the replies table locked: every read of stored messages waits at the database (a's next poll first)
    const replies = await lockReplies(sql)
    phase("replies locked; tells stored")
    const ids = Array.from({ length: LEDGERS }, (_, i) => `handover-${i}`)
    await Effect.runPromise(
      Effect.gen(function* () {
        const refs = yield* Sharded.refs(Ledgers)
        yield* Effect.forEach(ids, (id) => refs(id).tell(Ledger.Record({ seq: 1 })), { discard: true })
      }).pipe(Effect.provideContext(client))
    )
    // a's read of them is waiting at the database: give it time to be issued (a polls every 500 ms)
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    phase("runner b starting: a shard moves to it")
    const b = await runner("b")
    const moved = await until("a releases a shard", 60_000, () => held(a).length < SHARDS)
    expect(moved).toBe(true)
    // the read is held until b holds the shard, and 6 s more: longer than the 5 s a release once waited for the
    // reads in flight (and then for the clearing of their claims), so the read lands after b took the shard and
    // cleared its claims (before the fix, the 22 ledgers on it then answered nothing for 10 minutes)
    const taken = await until("b holds the shard", 60_000, () => held(b).length > 0)
    expect(taken).toBe(true)
    await new Promise((resolve) => setTimeout(resolve, 6_000))
    phase(`b holds ${held(b).map(String)}; replies unlocked`)
    await replies.unlock()
    const seen = await Effect.runPromise(seenBy(ids).pipe(Effect.provideContext(client)))
    phase(`a holds ${held(a).map(String)}, b holds ${held(b).map(String)}`)
    expect(seen.filter(([, s]) => s.join() !== "1")).toEqual([])
  }, 300_000)
})
