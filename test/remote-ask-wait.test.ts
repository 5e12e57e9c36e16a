/**
 * A remote ask's wait for its reply, on both transports: every way a user runs an ask (yielded, reused, combined, forked, run on its own, with options), and
 * what ends a wait early: the caller's interruption (the callee's handler is interrupted, nothing is kept on either
 * side), its deadline, an uninterruptible caller (its interruption waits for the reply), a refused send.
 */
import { assert, describe, it } from "@effect/vitest"
import { ActorSystem, Behavior, Protocol } from "@troupe/runtime"
import { Deferred, Effect, Exit, Fiber, Schema } from "effect"
import { Account, account, eventually, two } from "./support/account.ts"
import { topologies } from "./support/topology.ts"

/** An actor that answers with what it is told. */
const Echo = (() => {
  const protocol = Protocol.make("Echo", { Say: Protocol.request({ text: Schema.String }, { success: Schema.String }) })
  const behavior = Behavior.make(protocol, {
    initial: undefined,
    receive: { Say: (state, { text }) => Effect.succeed({ state, reply: text }) }
  })
  return { protocol, behavior }
})()

const asksOf = (system: ActorSystem.ActorSystemService) => ActorSystem.internal(system).remoting!.asks
const callee = (system: ActorSystem.ActorSystemService) => ActorSystem.internal(system).remoting!

for (const topology of topologies) {
  describe(`a remote ask's caller waits for its reply (${topology.name})`, () => {
    const start = Effect.gen(function* () {
      const { alice, bob } = yield* two((names) => topology.start(names, {}, { maxFrameBytes: 64 * 1024 }))
      return { alice, bob }
    })

    it.live("each run of an ask's effect asks once and gets its reply, composed like any Effect", () =>
      Effect.gen(function* () {
        const { alice, bob } = yield* start
        yield* alice.system.spawn(account(), { name: "account" })
        const remote = yield* bob.system.lookup("/user/account", Account, { node: "alice" })
        yield* remote.tell(Account.Deposit({ amount: 10 }))
        const balance = remote.ask(Account.Balance())
        assert.strictEqual(yield* balance, 10)
        assert.strictEqual(yield* balance, 10)
        assert.strictEqual(yield* Effect.map(balance, (n) => n + 1), 11)
        assert.deepStrictEqual(yield* Effect.all([balance, balance], { concurrency: "unbounded" }), [10, 10])
        assert.strictEqual(yield* Fiber.join(yield* Effect.forkChild(balance)), 10)
        assert.strictEqual(yield* Effect.promise(() => Effect.runPromise(balance)), 10)
        assert.strictEqual(yield* remote.ask(Account.Withdraw({ amount: 4 }), { timeout: "5 seconds" }), 6)
        const refused = yield* Effect.flip(remote.ask(Account.Withdraw({ amount: 100 })))
        assert.strictEqual(refused._tag, "Insufficient")
        const many = yield* Effect.all(
          Array.from({ length: 200 }, () => balance),
          { concurrency: "unbounded" }
        )
        assert.isTrue(many.every((n) => n === 6))
        const missing = yield* Effect.flip(bob.system.lookup("/user/nobody", Account, { node: "alice" }))
        assert.strictEqual(missing._tag, "ActorNotFound")
        assert.strictEqual(asksOf(bob.system).size, 0)
      })
    )

    it.live("an interrupted caller interrupts the callee's work; neither side keeps anything for the ask", () =>
      Effect.gen(function* () {
        const { alice, bob } = yield* start
        const hung = yield* Deferred.make<void>()
        const interrupted = yield* Deferred.make<void>()
        yield* alice.system.spawn(account(hung, interrupted), { name: "account" })
        const remote = yield* bob.system.lookup("/user/account", Account, { node: "alice" })
        const asking = yield* Effect.forkChild(remote.ask(Account.Hang()))
        yield* Deferred.await(hung)
        assert.strictEqual(asksOf(bob.system).size, 1)
        yield* Fiber.interrupt(asking)
        assert.isTrue(Exit.hasInterrupts(yield* Fiber.await(asking)))
        assert.strictEqual(asksOf(bob.system).size, 0)
        yield* Deferred.await(interrupted).pipe(Effect.timeout("5 seconds"))
        yield* eventually(() => callee(alice.system).pendingInbound === 0, "the callee to forget the ask")
        // the caller goes on asking
        assert.strictEqual(yield* remote.ask(Account.Balance()), 0)
      })
    )

    it.live("an ask past its deadline fails with AskTimeout and interrupts the callee's work", () =>
      Effect.gen(function* () {
        const { alice, bob } = yield* start
        const hung = yield* Deferred.make<void>()
        const interrupted = yield* Deferred.make<void>()
        yield* alice.system.spawn(account(hung, interrupted), { name: "account" })
        const remote = yield* bob.system.lookup("/user/account", Account, { node: "alice" })
        const error = yield* Effect.flip(remote.ask(Account.Hang(), { timeout: "100 millis" }))
        assert.strictEqual(error._tag, "AskTimeout")
        yield* Deferred.await(interrupted).pipe(Effect.timeout("5 seconds"))
        assert.strictEqual(asksOf(bob.system).size, 0)
      })
    )

    it.live("an uninterruptible caller's interruption waits for the reply, which it gets", () =>
      Effect.gen(function* () {
        const { alice, bob } = yield* start
        const hung = yield* Deferred.make<void>()
        const interrupted = yield* Deferred.make<void>()
        yield* alice.system.spawn(account(hung, interrupted), { name: "account" })
        const remote = yield* bob.system.lookup("/user/account", Account, { node: "alice" })
        const got = yield* Deferred.make<number>()
        const asked = yield* Deferred.make<void>()
        const asking = yield* Effect.forkChild(
          Effect.uninterruptible(
            Effect.andThen(
              Deferred.succeed(asked, undefined),
              Effect.flatMap(remote.ask(Account.Withdraw({ amount: 0 }), { timeout: "5 seconds" }), (n) =>
                Deferred.succeed(got, n)
              )
            )
          )
        )
        yield* Deferred.await(asked)
        yield* Fiber.interrupt(asking)
        assert.strictEqual(yield* Deferred.await(got), 0)
        assert.strictEqual(asksOf(bob.system).size, 0)
        assert.isFalse(yield* Deferred.isDone(interrupted))
      })
    )

    it.live("an ask the wire refuses fails at once with InvalidMessage", () =>
      Effect.gen(function* () {
        const { alice, bob } = yield* start
        yield* alice.system.spawn(Echo.behavior, { name: "echo" })
        const remote = yield* bob.system.lookup("/user/echo", Echo.protocol, { node: "alice" })
        const error = yield* Effect.flip(remote.ask(Echo.protocol.Say({ text: "x".repeat(100 * 1024) })))
        assert.strictEqual(error._tag, "InvalidMessage")
        assert.strictEqual(yield* remote.ask(Echo.protocol.Say({ text: "hi" })), "hi")
        assert.strictEqual(asksOf(bob.system).size, 0)
      })
    )
  })
}
