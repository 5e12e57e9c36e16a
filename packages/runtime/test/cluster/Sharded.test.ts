import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ActorRef, ActorSystem, Behavior, Cluster, Protocol, Sharded, type Storage } from "@troupe/runtime"
import { Effect, Exit, Layer, Option, Schema } from "effect"
import type { Sharding } from "effect/cluster"
import { afterAll, describe, expect, it } from "vitest"

class Overdrawn extends Schema.TaggedError<Overdrawn>()("Overdrawn", { balance: Schema.Number }) {}

const Account = Protocol.make("Account", {
  Deposit: { amount: Schema.Number },
  Balance: Protocol.request({}, { success: Schema.Number }),
  Withdraw: Protocol.request({ amount: Schema.Number }, { success: Schema.Number, failure: Overdrawn }),
  Stall: Protocol.request({ millis: Schema.Number }, { success: Schema.Number })
})

const account = (_id: string) =>
  Behavior.make(Account, {
    initial: 0,
    receive: {
      Deposit: (balance, { amount }) => Effect.succeed(balance + amount),
      Balance: (balance) => Effect.succeed({ state: balance, reply: balance }),
      Withdraw: (balance, { amount }) =>
        amount > balance
          ? Effect.fail(new Overdrawn({ balance }))
          : Effect.succeed({ state: balance - amount, reply: balance - amount }),
      Stall: (balance, { millis }) => Effect.as(Effect.sleep(millis), { state: balance, reply: balance })
    }
  })

const Accounts = Sharded.make("Account", { behavior: account, state: Schema.Number, passivateAfter: "100 millis" })

const dir = mkdtempSync(join(tmpdir(), "troupe-sharded-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const runner = (filename: string) =>
  Sharded.layer(Accounts).pipe(
    Layer.provideMerge(ActorSystem.layer()),
    Layer.provideMerge(Cluster.layerSqlite({ filename, shardLockRefreshInterval: "1 second" }))
  )

const run = <A, E>(
  filename: string,
  effect: Effect.Effect<A, E, Sharding.Sharding | Storage.Storage | ActorSystem.ActorSystem>
) => Effect.runPromise(Effect.scoped(effect).pipe(Effect.provide(runner(filename))) as Effect.Effect<A, E>)

describe("sharded actors on one SQLite runner", () => {
  it("answer tell and ask with the protocol's types, typed failures and deadlines", async () => {
    const file = join(dir, "a.db")
    const result = await run(
      file,
      Effect.gen(function* () {
        const a = yield* Sharded.ref(Accounts, "alice")
        yield* a.tell(Account.Deposit({ amount: 10 }))
        const balance = yield* a.ask(Account.Balance())
        const overdrawn = yield* Effect.exit(a.ask(Account.Withdraw({ amount: 50 })))
        const left = yield* a.ask(Account.Withdraw({ amount: 4 }))
        const late = yield* Effect.exit(a.ask(Account.Stall({ millis: 2000 }), { timeout: "50 millis" }))
        return { balance, overdrawn, left, late, path: a.path }
      })
    )
    expect(result.balance).toBe(10)
    expect(result.left).toBe(6)
    expect(result.path).toBe("/cluster/Account/alice")
    expect(Exit.isFailure(result.overdrawn) && Option.getOrUndefined(Exit.findErrorOption(result.overdrawn))).toEqual(
      new Overdrawn({ balance: 10 })
    )
    const late = Exit.isFailure(result.late) ? Option.getOrUndefined(Exit.findErrorOption(result.late)) : undefined
    expect(late).toBeInstanceOf(ActorRef.AskTimeout)
  })

  it("continue from their stored state after passivation and after the runner restarts", async () => {
    const file = join(dir, "b.db")
    await run(
      file,
      Effect.gen(function* () {
        const refs = yield* Sharded.refs(Accounts)
        for (let i = 0; i < 20; i++) yield* refs(`acc-${i}`).ask(Account.Withdraw({ amount: 0 }))
        for (let i = 0; i < 20; i++) yield* refs(`acc-${i}`).tell(Account.Deposit({ amount: i }))
        expect(yield* refs("acc-3").ask(Account.Balance())).toBe(3)
        // passivated after 100 ms idle: its next message activates it from storage
        while ((yield* Sharded.active(Accounts)) > 0) yield* Effect.sleep(20)
        expect(yield* refs("acc-3").ask(Account.Balance())).toBe(3)
      })
    )
    const after = await run(
      file,
      Effect.gen(function* () {
        const refs = yield* Sharded.refs(Accounts)
        return yield* Effect.forEach(
          Array.from({ length: 20 }, (_, i) => i),
          (i) => refs(`acc-${i}`).ask(Account.Balance())
        )
      })
    )
    expect(after).toEqual(Array.from({ length: 20 }, (_, i) => i))
  })
})
