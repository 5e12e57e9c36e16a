/**
 * The account actor and the waits shared by the runtime's tests across nodes (test/remote*.test.ts).
 */
import { Behavior, Protocol } from "@troupe/runtime"
import { Deferred, Effect, Schema, type Scope } from "effect"
import type { Node } from "./topology.ts"

export class Insufficient extends Schema.TaggedError<Insufficient>()("Insufficient", { balance: Schema.Number }) {}

export const Account = Protocol.make("Account", {
  Deposit: { amount: Schema.Number },
  Withdraw: Protocol.request({ amount: Schema.Number }, { success: Schema.Number, failure: Insufficient }),
  Balance: Protocol.request({}, { success: Schema.Number }),
  Crash: {},
  Hang: Protocol.request({}, { success: Schema.Void })
})

export const account = (hung?: Deferred.Deferred<void>, interrupted?: Deferred.Deferred<void>) =>
  Behavior.make(Account, {
    initial: 0,
    receive: {
      Deposit: (balance, { amount }) => Effect.succeed(balance + amount),
      Withdraw: (balance, { amount }) =>
        amount > balance
          ? Effect.fail(new Insufficient({ balance }))
          : Effect.succeed({ state: balance - amount, reply: balance - amount }),
      Balance: (balance) => Effect.succeed({ state: balance, reply: balance }),
      Crash: () => Effect.die(new Error("account crashed")),
      Hang: () =>
        Effect.gen(function* () {
          if (hung !== undefined) yield* Deferred.succeed(hung, undefined)
          return yield* Effect.never
        }).pipe(
          Effect.onInterrupt(() => (interrupted === undefined ? Effect.void : Deferred.succeed(interrupted, undefined)))
        )
    }
  })

/** Waits on the real clock until `f` holds. */
export const eventually = (f: () => boolean, what: string) =>
  Effect.promise(async () => {
    const start = Date.now()
    while (!f()) {
      if (Date.now() - start > 5000) throw new Error(`timed out waiting for ${what}`)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  })

export const eventuallyEffect = <A>(effect: Effect.Effect<A>, until: (a: A) => boolean, what: string) =>
  Effect.gen(function* () {
    const start = Date.now()
    for (;;) {
      const value = yield* effect
      if (until(value)) return value
      if (Date.now() - start > 5000) return yield* Effect.die(new Error(`timed out waiting for ${what}`))
      yield* Effect.sleep("5 millis")
    }
  })

export const two = (
  start: (names: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<Node>, unknown, Scope.Scope>
) => Effect.map(start(["alice", "bob"]), ([alice, bob]) => ({ alice: alice!, bob: bob! }))
