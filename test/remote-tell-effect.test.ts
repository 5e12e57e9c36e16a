/**
 * A remote tell's effect is its own Effect primitive (packages/runtime/src/internal/remote/tellEffect.ts): these
 * tests run it every way a user can (yielded, piped, combined, forked, run on its own, run twice, yielded by two
 * fibers at once, failing) and count what arrives, on both transports.
 */
import { assert, describe, it } from "@effect/vitest"
import { ActorRef } from "@troupe/runtime"
import { Effect, Exit, Fiber } from "effect"
import { Account, account, two } from "./support/account.ts"
import { topologies } from "./support/topology.ts"

for (const topology of topologies) {
  describe(`a remote tell's effect (${topology.name})`, () => {
    it.live("is lazy, reusable and composes like any Effect: each run delivers once, in order", () =>
      Effect.gen(function* () {
        const { alice, bob } = yield* two((names) => topology.start(names))
        yield* alice.system.spawn(account(), { name: "account" })
        const remote = yield* bob.system.lookup("/user/account", Account, { node: "alice" })
        const one = remote.tell(Account.Deposit({ amount: 1 }))
        assert.isTrue(Effect.isEffect(one))
        // made, not run: nothing sent
        remote.tell(Account.Deposit({ amount: 1000 }))
        assert.strictEqual(yield* remote.ask(Account.Balance()), 0)
        // the same effect yielded twice, mapped, combined, forked, run on its own runtime call, and in a nested gen
        yield* one
        yield* one
        assert.strictEqual(yield* Effect.map(one, () => "mapped"), "mapped")
        yield* Effect.all([one, one, one])
        yield* Effect.all([one, one], { concurrency: "unbounded" })
        yield* Fiber.join(yield* Effect.forkChild(one))
        yield* Effect.promise(() => Effect.runPromise(one))
        assert.isTrue(Exit.isSuccess(Effect.runSyncExit(one)))
        yield* Effect.gen(function* () {
          for (let i = 0; i < 3; i++) yield* one
        })
        // two fibers yielding the same effect object, interleaved by the scheduler
        yield* Effect.all(
          [0, 1].map(() =>
            Effect.gen(function* () {
              for (let i = 0; i < 50; i++) {
                yield* one
                if (i % 7 === 0) yield* Effect.yieldNow
              }
            })
          ),
          { concurrency: "unbounded" }
        )
        assert.strictEqual(yield* remote.ask(Account.Balance()), 2 + 1 + 3 + 2 + 1 + 1 + 1 + 3 + 100)
      })
    )

    it.live("fails with a typed error the caller can catch, and the fiber goes on", () =>
      Effect.gen(function* () {
        const { alice, bob } = yield* two((names) => topology.start(names))
        yield* alice.system.spawn(account(), { name: "account" })
        const remote = yield* bob.system.lookup("/user/account", Account, { node: "alice" })
        const bad = remote.tell(Account.Deposit({ amount: "ten" as unknown as number }))
        const error = yield* Effect.flip(bad)
        assert.instanceOf(error, ActorRef.InvalidMessage)
        assert.strictEqual((error as ActorRef.InvalidMessage).tag, "Deposit")
        // caught inside a generator, then a good tell through the same ref
        const caught = yield* Effect.gen(function* () {
          yield* bad
          return "not reached"
        }).pipe(Effect.catch((e) => Effect.succeed(e._tag)))
        assert.strictEqual(caught, "InvalidMessage")
        yield* remote.tell(Account.Deposit({ amount: 5 }))
        assert.strictEqual(yield* remote.ask(Account.Balance()), 5)
      })
    )
  })
}
