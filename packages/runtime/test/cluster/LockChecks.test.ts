/**
 * A runner's shard locks stay healthy while it answers a burst of persisted messages over a slow database link
 * (cluster/internal/lockCalls.ts). Effect Cluster checks a shard's lock before it stores each persisted reply (a
 * refresh of that shard on the one connection that holds the locks, two statements); with every shard busy, a
 * runner had one check per shard queued on that connection, and its periodic refresh of all its locks waited behind
 * them past its deadline: it declared its lock storage unhealthy, dropped every shard and abandoned the requests in
 * flight (Runners.test.ts under 6 CPU burners: 3-5 times per runner in 4 minutes). The slow link stands for the
 * loaded runner's slow event loop: each statement's round trip costs 200 ms here, as it cost seconds there.
 * Runs with `TROUPE_CLUSTER=1`.
 */
import { ActorSystem, Cluster, Sharded } from "@troupe/runtime"
import { Effect, Layer, Logger } from "effect"
import { describe, expect, it } from "vitest"
import { postgresServer } from "../durable/databases.ts"
import * as Postgres from "../durable/postgres.ts"
import { Ledger, Ledgers } from "./ledger.ts"
import { slowLink } from "./slowLink.ts"

const enabled = process.env.TROUPE_CLUSTER === "1" && Postgres.unavailable === undefined
const SHARDS = 20
const LEDGERS = 100
const phase = (what: string) => console.log(`[${new Date().toISOString()}] ${what}`)

describe.skipIf(!enabled)("a runner's shard-lock checks over a slow database link", () => {
  const server = postgresServer()

  it("keep its lock storage healthy through a burst of persisted tells to every shard", async () => {
    const link = await slowLink(server().port, 100)
    const url = server().url.replace(`:${server().port}/`, `:${link.port}/`)
    const unhealthy: Array<string> = []
    const logger = Logger.make(({ message, date }) => {
      const text = (message as ReadonlyArray<unknown>).map(String).join(" ")
      if (text.includes("Shard lock storage is unhealthy")) unhealthy.push(`${date.toISOString()} ${text}`)
    })
    const runner = Sharded.layer(Ledgers).pipe(
      Layer.provideMerge(ActorSystem.layer()),
      Layer.provideMerge(
        Cluster.layerPostgres({
          url,
          host: "127.0.0.1",
          port: await Postgres.freePort(),
          shards: SHARDS,
          // a lock operation's deadline: min(refresh interval, expiration / 3) = 3 s, fifteen 200 ms round trips
          shardLockRefreshInterval: "3 seconds",
          shardLockExpiration: "30 seconds",
          sharding: { entityMessagePollInterval: "500 millis", refreshAssignmentsInterval: "500 millis" }
        })
      ),
      Layer.provide(Logger.layer([logger]))
    )
    const ids = Array.from({ length: LEDGERS }, (_, i) => `burst-${i}`)
    phase("runner starting")
    const seen = await Effect.runPromise(
      Effect.gen(function* () {
        const refs = yield* Sharded.refs(Ledgers)
        phase("runner started")
        // two rounds of tells to every ledger (every shard), each round then asked, so replies are stored all along
        const rounds: Array<number> = []
        for (let seq = 1; seq <= 2; seq++) {
          phase(`round ${seq}: tells`)
          yield* Effect.forEach(ids, (id) => refs(id).tell(Ledger.Record({ seq })), { concurrency: 50, discard: true })
          const answers = yield* Effect.forEach(
            ids,
            (id) => Effect.exit(refs(id).ask(Ledger.Seen(), { timeout: "1 minute" })),
            { concurrency: 50 }
          )
          phase(`round ${seq}: asked (${unhealthy.length} unhealthy so far)`)
          rounds.push(answers.filter((s) => s._tag === "Success" && s.value.length === seq).length)
          // (a round not answered whole: no use going on)
          if (rounds[seq - 1] !== LEDGERS) break
        }
        // (before the runner stops: its stop interrupts the lock calls in flight)
        return { rounds, unhealthy: [...unhealthy] }
      }).pipe(Effect.scoped, Effect.provide(runner)) as Effect.Effect<{
        rounds: Array<number>
        unhealthy: Array<string>
      }>
    ).finally(() => link.close())
    phase(`unhealthy: ${seen.unhealthy.length} while running, ${unhealthy.length - seen.unhealthy.length} in its stop`)
    // before: 16 times in the first round's 2 minutes, every 6 s (each time every shard dropped, the requests in
    // flight abandoned)
    expect(seen.unhealthy).toEqual([])
    expect(seen.rounds).toEqual([LEDGERS, LEDGERS])
  }, 300_000)
})
