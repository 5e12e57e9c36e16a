/**
 * The fence on claims of stored messages (cluster/internal/claims.ts) over Effect Cluster's own message storage on a
 * real PostgreSQL server, with two runners' storages and their lock sessions played by the test (a client whose
 * connection carries the runner's lock session name and takes the engine's advisory locks of the shards): a runner
 * whose lock session does not hold a shard's lock claims none of its messages; a runner that lost its locks without a
 * release (its lock session's backend ended) while its read waited at the database has that read's claims cleared by
 * the next owner, whose clearing waits for the read, and whose own reads leave the shards out meanwhile.
 * `ClaimHandover.test.ts` and `ClaimKill.test.ts` show the same with whole runners (`TROUPE_CLUSTER=1`).
 */
import { Cluster, Sharded, Storage } from "@troupe/runtime"
import { Context, Effect, Exit, Fiber, Layer, Scope } from "effect"
import { MessageStorage, ShardId, ShardingConfig, SqlMessageStorage } from "effect/cluster"
import { Digest } from "effect/crypto"
import { SqlClient } from "effect/sql"
import { afterAll, describe, expect, it } from "vitest"
import * as Claims from "../../src/cluster/internal/claims.ts"
import { postgresServer } from "../durable/databases.ts"
import * as Postgres from "../durable/postgres.ts"
import { Ledger, Ledgers } from "./ledger.ts"
import { lockReplies } from "./repliesLocked.ts"

const phase = (what: string) => console.log(`[${new Date().toISOString()}] ${what}`)
const SHARDS = 2
const LEDGERS = 10
const shards = Array.from({ length: SHARDS }, (_, i) => ShardId.make("default", i + 1))
/** Effect Cluster's advisory lock namespace of its shard locks (`SqlRunnerStorage`, prefix `cluster`). */
const engineNamespace = (() => {
  let hash = 0x811c9dc5
  for (const byte of new TextEncoder().encode("effect-cluster:cluster")) hash = Math.imul(hash ^ byte, 0x01000193)
  return hash | 0
})()

describe.skipIf(Postgres.unavailable !== undefined)("claims on stored messages fenced by the shard locks", () => {
  const server = postgresServer()
  const scopes: Array<Scope.Closeable> = []
  afterAll(async () => {
    for (const scope of scopes.reverse()) await Effect.runPromise(Scope.close(scope, Exit.void))
  }, 60_000)
  const build = async <A>(layer: Layer.Layer<A, unknown>): Promise<Context.Context<A>> => {
    const scope = Effect.runSync(Scope.make())
    scopes.push(scope)
    return Effect.runPromise(Layer.buildWithScope(layer, scope) as Effect.Effect<Context.Context<A>>)
  }
  const run = <A>(ctx: Context.Context<never>, effect: Effect.Effect<A, unknown, unknown>): Promise<A> =>
    Effect.runPromise(Effect.provideContext(effect, ctx) as Effect.Effect<A>)

  it("claims only under the lock, and the next owner clears the claims of a read that lands late", async () => {
    const url = server().url
    // the tells, stored by a client (no runner holds their shards)
    const client = await build(Cluster.layerPostgres({ url, clientOnly: true, shards: SHARDS }))
    const ids = Array.from({ length: LEDGERS }, (_, i) => `fence-${i}`)
    await run(
      client,
      Effect.gen(function* () {
        const refs = yield* Sharded.refs(Ledgers)
        yield* Effect.forEach(ids, (id) => refs(id).tell(Ledger.Record({ seq: 1 })), { discard: true })
      })
    )
    phase("tells stored")
    const db = await build(Storage.postgresClient({ url, maxConnections: 2 }))
    const sql = <A extends object>(text: string) =>
      run(
        db,
        Effect.flatMap(SqlClient.SqlClient, (s) => s.unsafe<A>(text))
      )
    const claimed = async () =>
      Number(
        (await sql<{ n: number }>("SELECT count(*)::int AS n FROM cluster_messages WHERE last_read IS NOT NULL"))[0]!.n
      )
    expect(await claimed()).toBe(0)
    // two runners' message storages on one pool, and their lock sessions
    const storages = await build(
      Layer.effectContext(
        Effect.gen(function* () {
          const inner = yield* MessageStorage.MessageStorage
          const client = yield* SqlClient.SqlClient
          const config = yield* ShardingConfig.ShardingConfig
          const scope = yield* Effect.scope
          const fenced = (lockSession: string) => Claims.fenced(inner, client, config, scope, { lockSession })
          return Context.make(A, fenced("claims-a-locks")).pipe(Context.add(B, fenced("claims-b-locks")))
        })
      ).pipe(
        Layer.provide(SqlMessageStorage.layer.pipe(Layer.provide(Digest.layerWebCrypto))),
        Layer.provide(ShardingConfig.layer({ shardsPerGroup: SHARDS })),
        Layer.provide(Storage.postgresClient({ url, maxConnections: 6 }))
      )
    )
    const a = Context.get(storages, A)
    const b = Context.get(storages, B)
    const lockSession = (name: string) =>
      build(Storage.postgresClient({ url, maxConnections: 1, applicationName: name }))
    const takeLocks = (session: Context.Context<SqlClient.SqlClient>) =>
      run(
        session,
        Effect.flatMap(SqlClient.SqlClient, (s) =>
          s.unsafe(
            `SELECT pg_advisory_lock(${engineNamespace}, k) FROM (VALUES ${shards.map((s) => `(${1_000_000 + s.id})`).join(",")}) AS t(k)`
          )
        )
      )
    await takeLocks(await lockSession("claims-a-locks"))
    phase("a's locks taken")

    // b holds no lock: its read claims nothing
    expect(await run(Context.empty(), b.unprocessedMessages(shards))).toEqual([])
    expect(await claimed()).toBe(0)

    // a's read waits at the database (the replies table locked) ...
    const replies = await lockReplies(db)
    const read = Effect.runFork(a.unprocessedMessages(shards))
    /** Until a statement containing `text` waits for a lock at the database. */
    const waiting = async (text: string) => {
      const deadline = Date.now() + 20_000
      const query = `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%${text}%' AND query NOT LIKE '%pg_stat_activity%'`
      while (Number((await sql<{ n: number }>(query))[0]!.n) === 0) {
        expect(Date.now()).toBeLessThan(deadline)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    }
    await waiting("SET last_read")
    phase("a's read waits at the database")
    // ... when its locks are lost without a release (its lock session's backend ended) and b takes them
    await sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'claims-a-locks'")
    await takeLocks(await lockSession("claims-b-locks"))
    const clearing = Effect.runFork(b.resetShards(shards))
    await waiting("pg_advisory_xact_lock(")
    phase("b's locks taken; b's clearing waits at the database")
    // b's clearing waits for a's read; b's read meanwhile leaves the shards out
    expect(await run(Context.empty(), b.unprocessedMessages(shards))).toEqual([])
    expect(clearing.pollUnsafe()).toBeUndefined()
    await replies.unlock()
    phase("replies unlocked")
    // a's read lands: it claimed every message (checked under its locks before they were lost) ...
    expect((await Effect.runPromise(Fiber.join(read))).length).toBe(LEDGERS)
    // ... and b's clearing, after it, gives them all to b
    await Effect.runPromise(Fiber.join(clearing))
    expect(await claimed()).toBe(0)
    expect((await run(Context.empty(), b.unprocessedMessages(shards))).length).toBe(LEDGERS)
    // a's lock session is gone: a claims nothing more
    await sql("UPDATE cluster_messages SET last_read = NULL")
    expect(await run(Context.empty(), a.unprocessedMessages(shards))).toEqual([])
    expect(await claimed()).toBe(0)
  }, 60_000)
})

class A extends Context.Service<A, MessageStorage.MessageStorage["Service"]>()("test/ClaimFence/A") {}
class B extends Context.Service<B, MessageStorage.MessageStorage["Service"]>()("test/ClaimFence/B") {}
