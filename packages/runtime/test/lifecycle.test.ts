import { assert, describe, it } from "@effect/vitest"
import { ActorSystem, Behavior, Protocol, type Terminated, TestKit } from "@troupe/runtime"
import { Deferred, Effect, Exit, Fiber, Layer, Logger, References, Schema, Stream } from "effect"
import { Counter, counter, withSystem } from "./fixtures.ts"

const Watcher = Protocol.make("Watcher", {
  Watch: { path: Schema.String },
  Seen: Protocol.request({}, { success: Schema.Array(Schema.String) })
})

/** Watches the counter at a path and records `reason@path` for each termination it is told of. */
const watcher = Behavior.make(Watcher, {
  initial: [] as ReadonlyArray<string>,
  receive: {
    Watch: (seen, { path }, ctx) =>
      Effect.gen(function* () {
        const ref = yield* ctx.system.lookup(path, Counter)
        yield* ctx.watch(ref)
        return seen
      }),
    Seen: (seen) => Effect.succeed({ state: seen, reply: seen })
  },
  onTerminated: (seen, terminated) => Effect.succeed([...seen, `${terminated.reason._tag}@${terminated.ref.path}`])
})

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

describe("death watch", () => {
  it.effect("a watcher is told once of a normal stop, of a failure, and at once of an already-dead actor", () =>
    withSystem(
      Effect.gen(function* () {
        const probe = yield* TestKit.probe(Counter)
        const stopped = yield* ActorSystem.spawn(counter(), { name: "stopped" })
        const failing = yield* ActorSystem.spawn(counter(), { name: "failing", restart: "temporary" })
        const w = yield* ActorSystem.spawn(watcher)
        yield* w.tell(Watcher.Watch({ path: "/user/stopped" }))
        yield* w.tell(Watcher.Watch({ path: "/user/failing" }))
        yield* w.tell(Watcher.Watch({ path: "/user/stopped" }))
        assert.deepStrictEqual(yield* w.ask(Watcher.Seen()), [])
        yield* ActorSystem.stop(stopped)
        yield* failing.tell(Counter.Fail({ reason: "boom" }))
        const failed = yield* probe.expectTerminated(failing)
        assert.strictEqual(failed.reason._tag, "Failed")
        assert.deepStrictEqual(yield* w.ask(Watcher.Seen()), ["Stopped@/user/stopped", "Failed@/user/failing"])
        // already dead: the probe is told at once
        const again = yield* probe.expectTerminated(stopped)
        assert.strictEqual(again.reason._tag, "Stopped")
      })
    )
  )

  it.effect("a watcher without onTerminated fails with DeathPact; watchWith delivers a message instead", () =>
    withSystem(
      Effect.gen(function* () {
        const target = yield* ActorSystem.spawn(counter(), { name: "target" })
        const Pact = Protocol.make("Pact", { Watch: {}, WatchWith: {}, Gone: {} })
        const gone: Array<string> = []
        const pact = yield* ActorSystem.spawn(
          Behavior.make(Pact, {
            initial: null,
            receive: {
              Watch: (s, _, ctx) => Effect.as(ctx.watch(target), s),
              WatchWith: (s, _, ctx) => Effect.as(ctx.watchWith(target, Pact.Gone()), s),
              Gone: (s) =>
                Effect.as(
                  Effect.sync(() => gone.push("gone")),
                  s
                )
            }
          }),
          { restart: "temporary" }
        )
        const probe = yield* TestKit.probe(Counter)
        yield* pact.tell(Pact.WatchWith())
        const second = yield* ActorSystem.spawn(counter(), { name: "second" })
        yield* ActorSystem.stop(target)
        const system = yield* ActorSystem.ActorSystem
        // the watchWith message arrived; now a plain watch of an already dead actor kills the watcher
        yield* pact.tell(Pact.Watch())
        const terminated = yield* probe.expectTerminated(pact)
        assert.deepStrictEqual(gone, ["gone"])
        assert.strictEqual(terminated.reason._tag, "Failed")
        assert.include(String((terminated.reason as Terminated.Failed).cause), "DeathPact")
        yield* system.stop(second)
      })
    )
  )

  it.effect("unwatch: no notification afterwards", () =>
    withSystem(
      Effect.gen(function* () {
        const target = yield* ActorSystem.spawn(counter(), { name: "target" })
        const Un = Protocol.make("Un", { Go: Protocol.request({}, { success: Schema.Void }) })
        let notified = 0
        const un = yield* ActorSystem.spawn(
          Behavior.make(Un, {
            initial: null,
            receive: {
              Go: (state, _, ctx) =>
                Effect.as(Effect.andThen(ctx.watch(target), ctx.unwatch(target)), { state, reply: undefined })
            },
            onTerminated: (s) =>
              Effect.as(
                Effect.sync(() => notified++),
                s
              )
          })
        )
        yield* un.ask(Un.Go())
        yield* ActorSystem.stop(target)
        const probe = yield* TestKit.probe(Un)
        yield* probe.expectNoMessage("20 millis")
        assert.strictEqual(notified, 0)
      })
    )
  )
})

describe("lifecycle", () => {
  it.effect("lookup finds live actors by path and checks their protocol", () =>
    withSystem(
      Effect.gen(function* () {
        const ref = yield* ActorSystem.spawn(counter(5), { name: "c" })
        const found = yield* ActorSystem.lookup("/user/c", Counter)
        assert.strictEqual(found, ref)
        assert.strictEqual(yield* found.ask(Counter.Get()), 5)
        const mismatch = yield* Effect.flip(ActorSystem.lookup("/user/c", Watcher))
        assert.strictEqual(mismatch.reason, "protocol-mismatch")
        const missing = yield* Effect.flip(ActorSystem.lookup("/user/nobody", Counter))
        assert.strictEqual(missing.reason, "no-actor")
        yield* ActorSystem.stop(ref)
        assert.strictEqual((yield* Effect.flip(ActorSystem.lookup("/user/c", Counter))).reason, "no-actor")
      })
    )
  )

  it.effect("names are unique among siblings and checked", () =>
    withSystem(
      Effect.gen(function* () {
        yield* ActorSystem.spawn(counter(), { name: "c" })
        assert.strictEqual((yield* Effect.flip(ActorSystem.spawn(counter(), { name: "c" })))._tag, "NameTaken")
        assert.strictEqual((yield* Effect.flip(ActorSystem.spawn(counter(), { name: "a/b" })))._tag, "InvalidName")
        assert.strictEqual((yield* Effect.flip(ActorSystem.spawn(counter(), { name: "$1" })))._tag, "InvalidName")
        const anonymous = yield* ActorSystem.spawn(counter())
        assert.match(anonymous.path, /^\/user\/\$\d+$/)
      })
    )
  )

  it.effect("a failing init fails the spawn with SpawnFailed and releases what it acquired", () =>
    withSystem(
      Effect.gen(function* () {
        const released: Array<string> = []
        const bad = Behavior.make(Counter, {
          init: () =>
            Effect.acquireRelease(Effect.succeed(1), () => Effect.sync(() => released.push("r"))).pipe(
              Effect.andThen(Effect.fail("no database"))
            ),
          receive: counter().receive
        })
        const error = yield* Effect.flip(ActorSystem.spawn(bad, { name: "bad" }))
        assert.strictEqual(error._tag, "SpawnFailed")
        assert.include(error._tag === "SpawnFailed" ? error.cause : "", "no database")
        assert.deepStrictEqual(released, ["r"])
        // the name is free again
        yield* ActorSystem.spawn(counter(), { name: "bad" })
      })
    )
  )

  it.effect("resources in the actor's scope are released when it stops", () =>
    withSystem(
      Effect.gen(function* () {
        const log: Array<string> = []
        const withResource = Behavior.make(Counter, {
          init: (ctx) =>
            Effect.gen(function* () {
              yield* Effect.addFinalizer(() => Effect.sync(() => log.push("init resource")))
              yield* ctx.fork(Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => log.push("fiber")))))
              return 0
            }),
          receive: counter().receive
        })
        const ref = yield* ActorSystem.spawn(withResource)
        yield* ref.ask(Counter.Get())
        yield* ActorSystem.stop(ref)
        assert.sameMembers(log, ["init resource", "fiber"])
      })
    )
  )

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

  it.effect("an actor stops itself after the current message; later messages are dead letters", () =>
    withSystem(
      Effect.gen(function* () {
        const Once = Protocol.make("Once", { Go: Protocol.request({}, { success: Schema.String }), Other: {} })
        const ref = yield* ActorSystem.spawn(
          Behavior.make(Once, {
            initial: null,
            receive: {
              Go: (state, _, ctx) => Effect.as(ctx.stopSelf, { state, reply: "bye" }),
              Other: (s) => Effect.succeed(s)
            }
          })
        )
        const system = yield* ActorSystem.ActorSystem
        const waiting = yield* Effect.forkChild(system.awaitTermination(ref))
        assert.strictEqual(yield* ref.ask(Once.Go()), "bye")
        yield* ref.tell(Once.Other())
        assert.strictEqual((yield* Fiber.join(waiting)).reason._tag, "Stopped")
        assert.isAtLeast(yield* system.deadLetters, 1)
      })
    )
  )

  it.effect("after shutdown no actor can be spawned", () =>
    Effect.gen(function* () {
      const system = yield* ActorSystem.make()
      yield* system.shutdown
      const error = yield* Effect.flip(system.spawn(counter()))
      assert.strictEqual(error._tag, "SystemShuttingDown")
    })
  )

  it.effect("the layer can be shared by several programs", () =>
    Effect.gen(function* () {
      const layer = ActorSystem.layer({ name: "shared" })
      const program = Effect.gen(function* () {
        const system = yield* ActorSystem.ActorSystem
        return system.name
      })
      assert.strictEqual(yield* program.pipe(Effect.provide(Layer.fresh(layer))), "shared")
    })
  )
})
