import { assert, describe, it } from "@effect/vitest"
import { ActorRef, ActorSystem, Behavior, Protocol } from "@troupe/runtime"
import { Deferred, Effect, Exit, Fiber, Schema } from "effect"
import { TestClock } from "effect/testing"
import { Counter, counter, eventually, withSystem } from "./fixtures.ts"

class Insufficient extends Schema.TaggedError<Insufficient>()("Insufficient", { balance: Schema.Number }) {}

const Account = Protocol.make("Account", {
  Deposit: { amount: Schema.Number },
  Withdraw: Protocol.request({ amount: Schema.Number }, { success: Schema.Number, failure: Insufficient }),
  Balance: Protocol.request({}, { success: Schema.Number })
})

const account = Behavior.make(Account, {
  initial: 0,
  receive: {
    Deposit: (balance, { amount }) => Effect.succeed(balance + amount),
    Withdraw: (balance, { amount }) =>
      amount > balance
        ? Effect.fail(new Insufficient({ balance }))
        : Effect.succeed({ state: balance - amount, reply: balance - amount }),
    Balance: (balance) => Effect.succeed({ state: balance, reply: balance })
  }
})

describe("tell and ask", () => {
  it.effect("messages from one sender are handled in the order they were sent", () =>
    withSystem(
      Effect.gen(function* () {
        const Log = Protocol.make("Log", {
          Append: { n: Schema.Number },
          All: Protocol.request({}, { success: Schema.Array(Schema.Number) })
        })
        const log = yield* ActorSystem.spawn(
          Behavior.make(Log, {
            initial: [] as ReadonlyArray<number>,
            receive: {
              Append: (all, { n }) => Effect.succeed([...all, n]),
              All: (all) => Effect.succeed({ state: all, reply: all })
            }
          })
        )
        for (let n = 0; n < 1000; n++) yield* log.tell(Log.Append({ n }))
        const all = yield* log.ask(Log.All())
        assert.deepStrictEqual(
          all,
          Array.from({ length: 1000 }, (_, n) => n)
        )
      })
    )
  )

  it.effect("handles one message at a time under concurrent senders", () =>
    withSystem(
      Effect.gen(function* () {
        let active = 0
        let maxActive = 0
        const Work = Protocol.make("Work", { Do: {}, Done: Protocol.request({}, { success: Schema.Number }) })
        const worker = yield* ActorSystem.spawn(
          Behavior.make(Work, {
            initial: 0,
            receive: {
              Do: (n) =>
                Effect.gen(function* () {
                  active++
                  maxActive = Math.max(maxActive, active)
                  yield* Effect.yieldNow
                  yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
                  active--
                  return n + 1
                }),
              Done: (n) => Effect.succeed({ state: n, reply: n })
            }
          })
        )
        yield* Effect.forEach(
          Array.from({ length: 20 }),
          () => Effect.forEach(Array.from({ length: 10 }), () => worker.tell(Work.Do()), { discard: true }),
          { concurrency: "unbounded", discard: true }
        )
        assert.strictEqual(yield* worker.ask(Work.Done()), 200)
        assert.strictEqual(maxActive, 1)
      })
    )
  )

  it.effect("ask returns the typed reply; a declared failure is a reply, not a crash", () =>
    withSystem(
      Effect.gen(function* () {
        const ref = yield* ActorSystem.spawn(account)
        yield* ref.tell(Account.Deposit({ amount: 10 }))
        assert.strictEqual(yield* ref.ask(Account.Withdraw({ amount: 4 })), 6)
        const error = yield* Effect.flip(ref.ask(Account.Withdraw({ amount: 100 })))
        assert.instanceOf(error, Insufficient)
        assert.strictEqual(error._tag === "Insufficient" && error.balance, 6)
        // still alive, state kept
        assert.strictEqual(yield* ActorRef.ask(ref, Account.Balance()), 6)
      })
    )
  )

  it.effect("a crash while handling a request fails the ask with RequestFailed", () =>
    withSystem(
      Effect.gen(function* () {
        const Boom = Protocol.make("Boom", { Go: Protocol.request({}, { success: Schema.String }) })
        const ref = yield* ActorSystem.spawn(
          Behavior.make(Boom, { initial: null, receive: { Go: () => Effect.die(new Error("kaput")) } })
        )
        const error = yield* Effect.flip(ref.ask(Boom.Go()))
        assert.strictEqual(error._tag, "RequestFailed")
        assert.include(error._tag === "RequestFailed" ? error.cause : "", "kaput")
      })
    )
  )

  it.effect("an ask times out with AskTimeout and the handler's work is interrupted", () =>
    withSystem(
      Effect.gen(function* () {
        const interrupted = yield* Deferred.make<void>()
        const started = yield* Deferred.make<void>()
        const Slow = Protocol.make("Slow", {
          Work: Protocol.request({}, { success: Schema.String }),
          Ping: Protocol.request({}, { success: Schema.String })
        })
        const ref = yield* ActorSystem.spawn(
          Behavior.make(Slow, {
            initial: "untouched",
            receive: {
              Work: () =>
                Deferred.succeed(started, undefined).pipe(
                  Effect.andThen(Effect.never),
                  Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))
                ),
              Ping: (state) => Effect.succeed({ state, reply: state })
            }
          })
        )
        const fiber = yield* Effect.forkChild(ref.ask(Slow.Work(), { timeout: "2 seconds" }))
        yield* Deferred.await(started)
        yield* TestClock.adjust("2 seconds")
        const exit = yield* Fiber.await(fiber)
        assert.isTrue(Exit.isFailure(exit))
        const error = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
        assert.deepInclude(error, { _tag: "Fail" })
        assert.strictEqual((yield* Effect.flip(Fiber.join(fiber)))._tag, "AskTimeout")
        yield* Deferred.await(interrupted)
        // the actor goes on with the next message, its state untouched
        assert.strictEqual(yield* ref.ask(Slow.Ping()), "untouched")
      })
    )
  )

  it.effect("uses the system's default ask timeout", () =>
    withSystem(
      Effect.gen(function* () {
        const Never = Protocol.make("Never", { Wait: Protocol.request({}, { success: Schema.Void }) })
        const ref = yield* ActorSystem.spawn(
          Behavior.make(Never, { initial: null, receive: { Wait: () => Effect.never } })
        )
        const fiber = yield* Effect.forkChild(Effect.flip(ref.ask(Never.Wait())))
        yield* TestClock.adjust("999 millis")
        assert.isUndefined(fiber.pollUnsafe())
        yield* TestClock.adjust("1 millis")
        const error = yield* Fiber.join(fiber)
        assert.strictEqual(error._tag, "AskTimeout")
        assert.strictEqual(error._tag === "AskTimeout" && error.timeoutMillis, 1000)
      }),
      { askTimeout: "1 second" }
    )
  )

  it.effect("an interrupted caller leaves no reply path and interrupts the work", () =>
    withSystem(
      Effect.gen(function* () {
        const interrupted = yield* Deferred.make<void>()
        const started = yield* Deferred.make<void>()
        const Slow = Protocol.make("Slow", { Work: Protocol.request({}, { success: Schema.Void }) })
        const ref = yield* ActorSystem.spawn(
          Behavior.make(Slow, {
            initial: null,
            receive: {
              Work: () =>
                Deferred.succeed(started, undefined).pipe(
                  Effect.andThen(Effect.never),
                  Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))
                )
            }
          })
        )
        const fiber = yield* Effect.forkChild(ref.ask(Slow.Work()))
        yield* Deferred.await(started)
        yield* Fiber.interrupt(fiber)
        yield* Deferred.await(interrupted)
      })
    )
  )

  it.effect("a request whose caller is already gone is not handled", () =>
    withSystem(
      Effect.gen(function* () {
        let handled = 0
        const gate = yield* Deferred.make<void>()
        const P = Protocol.make("P", { Block: {}, Work: Protocol.request({}, { success: Schema.Void }) })
        const ref = yield* ActorSystem.spawn(
          Behavior.make(P, {
            initial: null,
            receive: {
              Block: (s) => Effect.as(Deferred.await(gate), s),
              Work: (state) =>
                Effect.sync(() => {
                  handled++
                  return { state, reply: undefined }
                })
            }
          })
        )
        yield* ref.tell(P.Block())
        const fiber = yield* Effect.forkChild(ref.ask(P.Work(), { timeout: "1 second" }))
        yield* TestClock.adjust("1 second")
        assert.strictEqual((yield* Effect.flip(Fiber.join(fiber)))._tag, "AskTimeout")
        yield* Deferred.succeed(gate, undefined)
        const system = yield* ActorSystem.ActorSystem
        yield* eventually(() => Effect.runSync(system.deadLetters) === 1, "the expired request to be dropped")
        assert.strictEqual(handled, 0)
      })
    )
  )

  it.effect("asking a terminated actor fails at once with RecipientTerminated", () =>
    withSystem(
      Effect.gen(function* () {
        const ref = yield* ActorSystem.spawn(counter())
        yield* ActorSystem.stop(ref)
        const error = yield* Effect.flip(ref.ask(Counter.Get()))
        assert.strictEqual(error._tag, "RecipientTerminated")
        // a tell to it is a dead letter, not an error
        yield* ref.tell(Counter.Add({ n: 1 }))
        const system = yield* ActorSystem.ActorSystem
        assert.strictEqual(yield* system.deadLetters, 2)
      })
    )
  )

  it.effect("the sender of a message sent from a handler is the sending actor", () =>
    withSystem(
      Effect.gen(function* () {
        const Echo = Protocol.make("Echo", {
          Hello: {},
          LastSender: Protocol.request({}, { success: Schema.String })
        })
        const echo = yield* ActorSystem.spawn(
          Behavior.make(Echo, {
            initial: "none",
            receive: {
              Hello: (_, __, ctx) =>
                Effect.succeed(ctx.sender.pipe((o) => (o._tag === "Some" ? o.value.path : "none"))),
              LastSender: (state) => Effect.succeed({ state, reply: state })
            }
          })
        )
        const Caller = Protocol.make("Caller", { Go: Protocol.request({}, { success: Schema.Void }) })
        const caller = yield* ActorSystem.spawn(
          Behavior.make(Caller, {
            initial: null,
            receive: { Go: (state) => Effect.as(echo.tell(Echo.Hello()), { state, reply: undefined }) }
          }),
          { name: "caller" }
        )
        yield* caller.ask(Caller.Go())
        assert.strictEqual(yield* echo.ask(Echo.LastSender()), "/user/caller")
        yield* echo.tell(Echo.Hello())
        assert.strictEqual(yield* echo.ask(Echo.LastSender()), "none")
      })
    )
  )
})

describe("generator handlers", () => {
  it.effect("a handler may be a generator function: it yields effects and returns the next state or the reply", () =>
    withSystem(
      Effect.gen(function* () {
        const Ledger = Protocol.make("Ledger", {
          Add: { n: Schema.Number },
          Total: Protocol.request({}, { success: Schema.Number, failure: Insufficient })
        })
        const ledger = yield* ActorSystem.spawn(
          Behavior.make(Ledger, {
            initial: 0,
            receive: {
              *Add(total, { n }, ctx) {
                yield* Effect.yieldNow
                assert.strictEqual(ctx.self.path.startsWith("/user/"), true)
                return total + n
              },
              *Total(total) {
                if (total < 0) return yield* new Insufficient({ balance: total })
                return { state: total, reply: total }
              }
            }
          })
        )
        yield* ledger.tell(Ledger.Add({ n: 2 }))
        yield* ledger.tell(Ledger.Add({ n: 3 }))
        assert.strictEqual(yield* ledger.ask(Ledger.Total()), 5)
        yield* ledger.tell(Ledger.Add({ n: -10 }))
        const refused = yield* Effect.flip(ledger.ask(Ledger.Total()))
        assert.strictEqual(refused._tag, "Insufficient")
      })
    )
  )
})
