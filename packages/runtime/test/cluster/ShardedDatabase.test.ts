/**
 * A runner whose PostgreSQL server goes away: `tell` and `ask` to its sharded actors fail typed
 * (`ClusterUnavailable`, `PersistenceError`, retryable) instead of hanging or dying, and once the server is back
 * the same actors answer with every accepted message handled once. Runs with `TROUPE_CLUSTER=1`.
 */
import { ActorSystem, Behavior, Cluster, Protocol, Sharded } from "@troupe/runtime"
import { Effect, Exit, Layer, Option, Schema } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Postgres from "../durable/postgres.ts"

const enabled = process.env.TROUPE_CLUSTER === "1" && Postgres.unavailable === undefined

const Account = Protocol.make("PgAccount", {
  Deposit: { amount: Schema.Number },
  Balance: Protocol.request({}, { success: Schema.Number })
})
const Accounts = Sharded.make("PgAccount", {
  behavior: () =>
    Behavior.make(Account, {
      initial: 0,
      receive: {
        Deposit: (balance, { amount }) => Effect.succeed(balance + amount),
        Balance: (balance) => Effect.succeed({ state: balance, reply: balance })
      }
    }),
  state: Schema.Number
})

describe.skipIf(!enabled)("a runner whose database is gone", () => {
  let server: Postgres.Postgres
  beforeAll(async () => {
    server = await Postgres.start()
  }, 60_000)
  afterAll(async () => {
    await server?.stop()
  }, 60_000)

  it("fails tell and ask with ClusterUnavailable, and answers again once the database is back", async () => {
    const port = await Postgres.freePort()
    const runner = Sharded.layer(Accounts).pipe(
      Layer.provideMerge(ActorSystem.layer()),
      Layer.provideMerge(
        Cluster.layerPostgres({ url: server.url, host: "127.0.0.1", port, shardLockRefreshInterval: "10 seconds" })
      )
    )
    const result = await Effect.runPromise(
      Effect.gen(function* () {
        const a = yield* Sharded.ref(Accounts, "dora")
        yield* a.tell(Account.Deposit({ amount: 5 }))
        expect(yield* a.ask(Account.Balance(), { timeout: "20 seconds" })).toBe(5)
        yield* Effect.promise(() => server.stop({ keep: true }))
        const told = yield* Effect.exit(a.tell(Account.Deposit({ amount: 7 })))
        const asked = yield* Effect.exit(a.ask(Account.Balance(), { timeout: "20 seconds" }))
        yield* Effect.promise(() => server.restart())
        // retryable: sent again until the database takes it
        yield* a.tell(Account.Deposit({ amount: 1 })).pipe(
          Effect.retry({ while: (e) => e._tag === "ClusterUnavailable" && e.retryable, times: 40 }),
          Effect.tapError(() => Effect.sleep("500 millis"))
        )
        const balance = yield* a.ask(Account.Balance(), { timeout: "20 seconds" })
        return { told, asked, balance }
      }).pipe(Effect.scoped, Effect.provide(runner)) as Effect.Effect<{
        told: Exit.Exit<unknown, unknown>
        asked: Exit.Exit<unknown, unknown>
        balance: number
      }>
    )
    for (const exit of [result.told, result.asked]) {
      const error = Exit.isFailure(exit) ? Option.getOrUndefined(Exit.findErrorOption(exit)) : undefined
      expect(error).toBeInstanceOf(Sharded.ClusterUnavailable)
      expect(error).toMatchObject({ reason: "PersistenceError", retryable: true })
    }
    expect(result.balance).toBe(6)
  }, 180_000)
})
