/**
 * Death watch bookkeeping: one notification per watch, none after unwatch (even one already queued), and no
 * overflow policy ever drops a death-watch notice or a timer message.
 */
import { assert, describe, it } from "@effect/vitest"
import { ActorRef, ActorSystem, Behavior, Mailbox, Protocol } from "@troupe/runtime"
import { Clock, Deferred, Effect, Schema } from "effect"
import { TestClock } from "effect/testing"
import { Counter, counter, withSystem } from "./fixtures.ts"

const Target = ActorRef.schema(Counter)

const Keeper = Protocol.make("Keeper", {
  Watch: Protocol.request({ target: Target }, { success: Schema.Void }),
  WatchWith: Protocol.request({ target: Target }, { success: Schema.Void }),
  WatchThenUnwatch: Protocol.request({ target: Target }, { success: Schema.Void }),
  WatchTwice: Protocol.request({ target: Target }, { success: Schema.Void }),
  /** Blocks until the gate opens, then unwatches `target` (if given) in the same handler. */
  Hold: { unwatch: Schema.optional(Target) },
  Tick: {},
  StartTimer: Protocol.request({}, { success: Schema.Void }),
  Item: { n: Schema.Number },
  Gone: { path: Schema.String },
  Seen: Protocol.request({}, { success: Schema.Array(Schema.String) })
})

/**
 * Records what it is told: `T@path` (onTerminated), `G@path` (a watchWith message), `tick`, `n`, in its state
 * and with `record`.
 */
const keeper = (gate: Deferred.Deferred<void>, record: (entry: string) => void) => {
  const add = (seen: ReadonlyArray<string>, entry: string) =>
    Effect.sync(() => {
      record(entry)
      return [...seen, entry]
    })
  const done = (seen: ReadonlyArray<string>, effect: Effect.Effect<void>) =>
    Effect.as(effect, { state: seen, reply: undefined })
  return Behavior.make(Keeper, {
    initial: [] as ReadonlyArray<string>,
    receive: {
      Watch: (seen, { target }, ctx) => done(seen, ctx.watch(target)),
      WatchWith: (seen, { target }, ctx) => done(seen, ctx.watchWith(target, Keeper.Gone({ path: target.path }))),
      WatchThenUnwatch: (seen, { target }, ctx) => done(seen, Effect.andThen(ctx.watch(target), ctx.unwatch(target))),
      WatchTwice: (seen, { target }, ctx) => done(seen, Effect.andThen(ctx.watch(target), ctx.watch(target))),
      Hold: (seen, { unwatch }, ctx) =>
        Effect.as(
          Effect.andThen(Deferred.await(gate), unwatch === undefined ? Effect.void : ctx.unwatch(unwatch)),
          seen
        ),
      StartTimer: (seen, _, ctx) => done(seen, ctx.timers.startSingle("tick", Keeper.Tick(), 10)),
      Tick: (seen) => add(seen, "tick"),
      Item: (seen, { n }) => add(seen, String(n)),
      Gone: (seen, { path }) => add(seen, `G@${path}`),
      Seen: (seen) => Effect.succeed({ state: seen, reply: seen })
    },
    onTerminated: (seen, terminated) => add(seen, `T@${terminated.ref.path}`)
  })
}

/** A keeper and a counter at /user/target to watch. */
const setup = (mailbox?: Mailbox.Config, record: (entry: string) => void = () => {}) =>
  Effect.gen(function* () {
    const gate = yield* Deferred.make<void>()
    const target = yield* ActorSystem.spawn(counter(), { name: "target" })
    const k = yield* ActorSystem.spawn(keeper(gate, record), mailbox === undefined ? {} : { mailbox })
    return { gate, target, k }
  })

/** Stops the target and waits until it has terminated (its watchers' notices are queued by then). */
const stopTarget = (target: Effect.Success<ReturnType<typeof setup>>["target"]) =>
  Effect.andThen(ActorSystem.stop(target), ActorSystem.awaitTermination(target))

describe("death watch bookkeeping", () => {
  it.effect("watching a live actor twice, or a dead one twice, notifies once", () =>
    withSystem(
      Effect.gen(function* () {
        const { target, k } = yield* setup()
        const other = yield* ActorSystem.spawn(counter(), { name: "other" })
        yield* k.ask(Keeper.Watch({ target }))
        yield* k.ask(Keeper.Watch({ target }))
        yield* stopTarget(target)
        yield* stopTarget(other)
        yield* k.ask(Keeper.WatchTwice({ target: other }))
        assert.deepStrictEqual(yield* k.ask(Keeper.Seen()), ["T@/user/target", "T@/user/other"])
        // a watch after the notice was handled is a new watch: told again
        yield* k.ask(Keeper.Watch({ target: other }))
        assert.deepStrictEqual(yield* k.ask(Keeper.Seen()), ["T@/user/target", "T@/user/other", "T@/user/other"])
      })
    )
  )

  it.effect("watch then unwatch of a dead actor: no notification", () =>
    withSystem(
      Effect.gen(function* () {
        const { target, k } = yield* setup()
        yield* stopTarget(target)
        yield* k.ask(Keeper.WatchThenUnwatch({ target }))
        assert.deepStrictEqual(yield* k.ask(Keeper.Seen()), [])
      })
    )
  )

  it.effect("a notice already queued is not delivered after unwatch (watch and watchWith)", () =>
    withSystem(
      Effect.gen(function* () {
        const { gate, target, k } = yield* setup()
        yield* k.ask(Keeper.Watch({ target }))
        yield* k.tell(Keeper.Hold({ unwatch: target }))
        yield* stopTarget(target)
        yield* Deferred.succeed(gate, undefined)
        assert.deepStrictEqual(yield* k.ask(Keeper.Seen()), [])

        const second = yield* setup()
        yield* second.k.ask(Keeper.WatchWith({ target: second.target }))
        yield* second.k.tell(Keeper.Hold({ unwatch: second.target }))
        yield* stopTarget(second.target)
        yield* Deferred.succeed(second.gate, undefined)
        assert.deepStrictEqual(yield* second.k.ask(Keeper.Seen()), [])
      })
    )
  )

  it.effect("a notice is delivered after the messages queued before it, and only once", () =>
    withSystem(
      Effect.gen(function* () {
        const { gate, target, k } = yield* setup()
        yield* k.ask(Keeper.WatchWith({ target }))
        yield* k.tell(Keeper.Hold({}))
        yield* k.tell(Keeper.Item({ n: 1 }))
        yield* stopTarget(target)
        yield* k.tell(Keeper.Item({ n: 2 }))
        yield* Deferred.succeed(gate, undefined)
        assert.deepStrictEqual(yield* k.ask(Keeper.Seen()), ["1", "G@/user/target", "2"])
      })
    )
  )

  for (const overflow of ["drop-oldest", "drop-newest", "fail"] as const) {
    it.effect(`a ${overflow} mailbox never drops death-watch notices or timer messages`, () =>
      withSystem(
        Effect.gen(function* () {
          // the notice, the tick and the two user messages that fit, in the order they were queued
          const kept = overflow === "drop-oldest" ? ["3", "4"] : ["1", "2"]
          const seen: Array<string> = []
          const last = yield* Deferred.make<void>()
          const record = (entry: string) => {
            seen.push(entry)
            if (entry === kept[1]) Deferred.doneUnsafe(last, Effect.void)
          }
          const { gate, target, k } = yield* setup(Mailbox.bounded(2, overflow), record)
          yield* k.ask(Keeper.Watch({ target }))
          yield* k.ask(Keeper.StartTimer())
          yield* k.tell(Keeper.Hold({}))
          yield* stopTarget(target)
          yield* TestClock.adjust(10)
          // with the notice and the tick queued, user messages still get their two places
          yield* Effect.forEach([1, 2, 3, 4], (n) => Effect.ignore(k.tell(Keeper.Item({ n }))), { discard: true })
          yield* Deferred.succeed(gate, undefined)
          yield* Deferred.await(last).pipe(
            Effect.timeout("5 seconds"),
            Effect.provideService(Clock.Clock, Clock.Clock.defaultValue()),
            Effect.orElseSucceed(() => assert.fail(`the last message was not handled; seen: ${seen.join(", ")}`))
          )
          assert.deepStrictEqual(seen, ["T@/user/target", "tick", ...kept])
          assert.deepStrictEqual(yield* k.ask(Keeper.Seen()), seen)
        })
      )
    )
  }
})
