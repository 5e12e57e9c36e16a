/**
 * A runner whose PostgreSQL server goes away: `tell` and `ask` to its sharded actors fail typed
 * (`ClusterUnavailable`, `PersistenceError`, retryable) instead of hanging or dying, and once the server is back
 * the same actors answer with every accepted message handled once. Runs with `TROUPE_CLUSTER=1`.
 */
import {
  type ActorRef,
  ActorSystem,
  Behavior,
  Cluster,
  ClusterStatus,
  Protocol,
  Sharded,
  Storage
} from "@troupe/runtime"
import { Effect, Exit, Layer, Option, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { describe, expect, it } from "vitest"
import { postgresServer } from "../durable/databases.ts"
import * as Postgres from "../durable/postgres.ts"
import { firstLog } from "./logs.ts"

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
  const server = postgresServer()

  it("runners starting at once on a fresh database all create its tables (no race in CREATE TABLE IF NOT EXISTS)", async () => {
    // a fresh database, so that every runner below finds the table missing
    const admin = Storage.postgresClient({ url: server().url })
    await Effect.runPromise(
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* sql.unsafe("CREATE DATABASE status_race")
      }).pipe(Effect.provide(admin))
    )
    const url = server().url.replace(/\/troupe$/, "/status_race")
    // each reads the status as a starting runner does: its own connection, the table created first
    const reads = Array.from({ length: 12 }, () =>
      Effect.runPromise(
        Effect.exit(Effect.asVoid(ClusterStatus.read).pipe(Effect.provide(Storage.postgresClient({ url }))))
      )
    )
    // and each opens Troupe's storage (its migrations) at the same moment
    const opens = Array.from({ length: 12 }, () =>
      Effect.runPromise(Effect.exit(Effect.scoped(Effect.asVoid(Layer.build(Storage.layerPostgres({ url }))))))
    )
    const exits = await Promise.all([...reads, ...opens])
    expect(exits.filter(Exit.isFailure).map(String)).toEqual([])
  }, 60_000)

  it("fails tell and ask with ClusterUnavailable, and answers again once the database is back", async () => {
    const port = await Postgres.freePort()
    const runner = Sharded.layer(Accounts).pipe(
      Layer.provideMerge(ActorSystem.layer()),
      Layer.provideMerge(
        Cluster.layerPostgres({ url: server().url, host: "127.0.0.1", port, shardLockRefreshInterval: "10 seconds" })
      )
    )
    const result = await Effect.runPromise(
      Effect.gen(function* () {
        const a = yield* Sharded.ref(Accounts, "dora")
        yield* a.tell(Account.Deposit({ amount: 5 }))
        expect(yield* a.ask(Account.Balance(), { timeout: "20 seconds" })).toBe(5)
        yield* Effect.promise(() => server().stop({ keep: true }))
        const told = yield* Effect.exit(a.tell(Account.Deposit({ amount: 7 })))
        const asked = yield* Effect.exit(a.ask(Account.Balance(), { timeout: "20 seconds" }))
        yield* Effect.promise(() => server().restart())
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

  it("keeps a told message whose actor's inbox the runner cannot write, and delivers it once when it can", async () => {
    // the runner logs each refused write of a told message: the test waits for the first
    const refused = firstLog("could not be stored in its actor's inbox")
    const runner = async () =>
      Sharded.layer(Accounts).pipe(
        Layer.provideMerge(ActorSystem.layer()),
        Layer.provideMerge(
          Cluster.layerPostgres({ url: server().url, host: "127.0.0.1", port: await Postgres.freePort() })
        )
      )
    const admin = (statement: string) =>
      Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(statement)).pipe(
        Effect.provide(Storage.postgresClient({ url: server().url }))
      )
    const balance = (a: ActorRef.ActorRef<typeof Account>) => a.ask(Account.Balance(), { timeout: "20 seconds" })
    const result = await Effect.runPromise(
      Effect.gen(function* () {
        const a = yield* Sharded.ref(Accounts, "erin")
        yield* a.tell(Account.Deposit({ amount: 5 }))
        expect(yield* balance(a)).toBe(5)
        // the database refuses new rows in erin's inbox (the cluster's own tables still take messages)
        yield* admin(`CREATE FUNCTION refuse_inbox() RETURNS trigger LANGUAGE plpgsql
          AS $$ BEGIN RAISE EXCEPTION 'the inbox refuses it'; END $$`)
        yield* admin(`CREATE TRIGGER refuse BEFORE INSERT ON troupe_inbox FOR EACH ROW
          WHEN (NEW.recipient = 'PgAccount/erin') EXECUTE FUNCTION refuse_inbox()`)
        // accepted: the cluster stored it; the runner tries its inbox write again until it succeeds
        const told = yield* Effect.exit(a.tell(Account.Deposit({ amount: 7 })))
        // answered: the sender learns it was not stored, and it is not delivered
        const asked = yield* Effect.exit(balance(a))
        yield* Effect.promise(() => refused.seen).pipe(
          Effect.timeoutOrElse({
            duration: "60 seconds",
            orElse: () => Effect.die("the refused write was not retried")
          })
        )
        yield* admin("DROP TRIGGER refuse ON troupe_inbox")
        let after = yield* balance(a)
        while (after === 5) after = yield* Effect.andThen(Effect.sleep(20), balance(a))
        return { told, asked, balance: after }
      }).pipe(Effect.scoped, Effect.provide(await runner()), Effect.provide(refused.layer)) as Effect.Effect<{
        told: Exit.Exit<void, unknown>
        asked: Exit.Exit<number, unknown>
        balance: number
      }>
    )
    expect(Exit.isSuccess(result.told)).toBe(true)
    const error = Exit.isFailure(result.asked) ? Option.getOrUndefined(Exit.findErrorOption(result.asked)) : undefined
    expect(error).toBeInstanceOf(Sharded.ClusterUnavailable)
    expect(error).toMatchObject({ reason: "PersistenceError", retryable: true })
    expect(result.balance).toBe(12)
    // after a restart nothing comes again: the told deposit was handled once
    const again = await Effect.runPromise(
      Effect.flatMap(Sharded.ref(Accounts, "erin"), balance).pipe(
        Effect.scoped,
        Effect.provide(await runner())
      ) as Effect.Effect<number>
    )
    expect(again).toBe(12)
  }, 180_000)
})
