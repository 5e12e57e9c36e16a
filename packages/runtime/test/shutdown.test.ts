/**
 * How stops and the system's shutdown end: children before parents, and each bounded by the actor's shutdown
 * deadline, even when a handler or a resource's release does not end (then it is reported: a `StopTimedOut` event
 * and an error log); a system shut down spawns nothing.
 */
import { assert, describe, it } from "@effect/vitest"
import { ActorSystem, Behavior, Protocol } from "@troupe/runtime"
import { Deferred, Effect, Exit, Fiber, Logger, References, Schema, Stream } from "effect"
import { Counter, counter } from "./fixtures.ts"

/** A logger that keeps each log as `<level> <message> <actor>`. */
const actorLogs = () => {
  const logged: Array<string> = []
  const capture = Logger.make(({ logLevel, message, fiber }) => {
    const actor = fiber.getRef(References.CurrentLogAnnotations).actor
    logged.push(`${logLevel} ${(message as ReadonlyArray<unknown>).join(" ")} ${actor}`)
  })
  return { logged, capture }
}

/** A fiber of the scope that collects the system's next `n` `StopTimedOut` events. */
const timedOutEvents = (n: number) =>
  Effect.gen(function* () {
    const events = yield* (yield* ActorSystem.ActorSystem).subscribe
    return yield* events.pipe(
      Stream.filter((e) => e._tag === "StopTimedOut"),
      Stream.take(n),
      Stream.runCollect,
      Effect.forkScoped
    )
  })

describe("shutdown", () => {
  it.effect("shutdown stops children before parents, in reverse start order", () =>
    Effect.gen(function* () {
      const log: Array<string> = []
      const node = (name: string, children: ReadonlyArray<string>): Behavior.Behavior<typeof Counter, number> =>
        Behavior.make(Counter, {
          init: (ctx) =>
            Effect.gen(function* () {
              yield* Effect.addFinalizer(() => Effect.sync(() => log.push(name)))
              for (const child of children) yield* ctx.spawn(node(child, []), { name: child })
              return 0
            }),
          receive: counter().receive
        })
      yield* Effect.gen(function* () {
        yield* ActorSystem.spawn(node("a", ["a1", "a2"]), { name: "a" })
        yield* ActorSystem.spawn(node("b", ["b1", "b2"]), { name: "b" })
      }).pipe(Effect.provide(ActorSystem.layer()))
      assert.deepStrictEqual(log, ["b2", "b1", "b", "a2", "a1", "a"])
    })
  )

  it.effect("a handler that does not finish is interrupted after its shutdown deadline", () =>
    Effect.gen(function* () {
      const Stuck = Protocol.make("Stuck", { Hang: {} })
      const log: Array<string> = []
      const exit = yield* Effect.gen(function* () {
        const ref = yield* ActorSystem.spawn(
          Behavior.make(Stuck, {
            initial: null,
            receive: {
              Hang: () => Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => log.push("interrupted"))))
            }
          }),
          { shutdownTimeout: "10 millis" }
        )
        yield* ref.tell(Stuck.Hang())
        yield* Effect.yieldNow
      }).pipe(Effect.provide(ActorSystem.layer()), Effect.exit)
      assert.isTrue(Exit.isSuccess(exit))
      assert.deepStrictEqual(log, ["interrupted"])
    })
  )

  it.live("a handler that cannot be interrupted does not hold up a stop or shutdown; it is reported", () =>
    Effect.gen(function* () {
      const Stuck = Protocol.make("Stuck", { Hang: Protocol.request({}, { success: Schema.Void }) })
      const release = yield* Deferred.make<void>()
      const started: Array<string> = []
      const ended: Array<string> = []
      const { logged, capture } = actorLogs()
      // the handler waits, uninterruptibly, for what only this test gives after the stops
      const stuck = Behavior.make(Stuck, {
        initial: null,
        receive: {
          Hang: (s, _, ctx) =>
            Effect.uninterruptible(
              Effect.gen(function* () {
                started.push(ctx.self.path)
                yield* Deferred.await(release)
                ended.push(ctx.self.path)
                return { state: s, reply: undefined }
              })
            )
        }
      })
      const { reported, answer } = yield* Effect.scoped(
        Effect.gen(function* () {
          const system = yield* ActorSystem.ActorSystem
          const timedOut = yield* timedOutEvents(2)
          const one = yield* ActorSystem.spawn(stuck, { name: "one", shutdownTimeout: "20 millis" })
          const two = yield* ActorSystem.spawn(stuck, { name: "two", shutdownTimeout: "20 millis" })
          const answer = yield* Effect.forkChild(Effect.exit(one.ask(Stuck.Hang(), { timeout: "1 minute" })))
          yield* two.tell(Stuck.Hang())
          while (started.length < 2) yield* Effect.yieldNow
          // a stop, then the shutdown, each end although the handler goes on: bounded by the deadlines
          const guard = Effect.timeoutOrElse({
            duration: "10 seconds",
            orElse: () => Effect.die("not bounded")
          })
          yield* system.stop(one).pipe(guard)
          yield* system.shutdown.pipe(guard)
          assert.deepStrictEqual(ended, [])
          return { reported: yield* Fiber.join(timedOut), answer: yield* Fiber.join(answer) }
        }).pipe(Effect.provide(ActorSystem.layer()))
      ).pipe(Effect.provide(Logger.layer([capture])))
      yield* Deferred.succeed(release, undefined)
      assert.deepStrictEqual(
        reported.map((e) => [e.path, e.tag, e.timeoutMillis]),
        [
          ["/user/one", "Hang", 20],
          ["/user/two", "Hang", 20]
        ]
      )
      // the caller of the abandoned request was answered at once
      assert.isTrue(Exit.isFailure(answer))
      assert.include(String(answer), "RecipientTerminated")
      for (const actor of ["/user/one", "/user/two"]) {
        assert.include(
          logged,
          `Error Actor did not stop within its shutdown deadline; its handler was left running ${actor}`
        )
      }
    })
  )

  it.live("a resource whose release does not end does not hold up the shutdown; it is reported", () =>
    Effect.gen(function* () {
      const Holder = Protocol.make("Holder", { Ping: Protocol.request({}, { success: Schema.Void }) })
      const release = yield* Deferred.make<void>()
      const released: Array<string> = []
      const { logged, capture } = actorLogs()
      // its resource's finalizer waits for what only this test gives after the stops
      const holder = Behavior.make(Holder, {
        init: (ctx) =>
          Effect.as(
            Effect.addFinalizer(() =>
              Effect.andThen(
                Deferred.await(release),
                Effect.sync(() => released.push(ctx.self.path))
              )
            ),
            null
          ),
        receive: { Ping: (s) => Effect.succeed({ state: s, reply: undefined }) }
      })
      const reported = yield* Effect.scoped(
        Effect.gen(function* () {
          const system = yield* ActorSystem.ActorSystem
          const timedOut = yield* timedOutEvents(2)
          const one = yield* ActorSystem.spawn(holder, { name: "one", shutdownTimeout: "20 millis" })
          const two = yield* ActorSystem.spawn(holder, { name: "two", shutdownTimeout: "20 millis" })
          yield* one.ask(Holder.Ping())
          yield* two.ask(Holder.Ping())
          // the shutdown ends although the releases go on: bounded by the deadline (a stop outside a shutdown, as a
          // passivation, waits for the release: what starts next in the actor's place must find what it writes)
          const guard = Effect.timeoutOrElse({ duration: "10 seconds", orElse: () => Effect.die("not bounded") })
          yield* system.shutdown.pipe(guard)
          assert.deepStrictEqual(released, [])
          return yield* Fiber.join(timedOut)
        }).pipe(Effect.provide(ActorSystem.layer()))
      ).pipe(Effect.provide(Logger.layer([capture])))
      assert.deepStrictEqual(reported.map((e) => [e.path, e.tag, e.timeoutMillis]).sort(), [
        ["/user/one", undefined, 20],
        ["/user/two", undefined, 20]
      ])
      for (const actor of ["/user/one", "/user/two"]) {
        assert.include(
          logged,
          `Error Actor's resources were not released within its shutdown deadline; their release was left running ${actor}`
        )
      }
      // the release, left running, ends when what it waits for comes
      yield* Deferred.succeed(release, undefined)
      while (released.length < 2) yield* Effect.yieldNow
    })
  )

  it.effect("after shutdown no actor can be spawned", () =>
    Effect.gen(function* () {
      const system = yield* ActorSystem.make()
      yield* system.shutdown
      const error = yield* Effect.flip(system.spawn(counter()))
      assert.strictEqual(error._tag, "SystemShuttingDown")
    })
  )
})
