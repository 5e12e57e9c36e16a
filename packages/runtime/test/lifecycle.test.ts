/**
 * An actor's life: death watch, lookup, names, init and its resources, stopping itself, a shared layer. How stops and
 * the system's shutdown end (order, deadlines, what is reported) is in `shutdown.test.ts`.
 */
import { assert, describe, it } from "@effect/vitest"
import { ActorSystem, Behavior, Protocol, type Terminated, TestKit } from "@troupe/runtime"
import { Effect, Fiber, Layer, Schema } from "effect"
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
