import { assert, describe, it } from "@effect/vitest"
import { ActorSystem, Behavior, SystemEvent, Troupe } from "@troupe/runtime"
import { Effect, Stream } from "effect"
import { Counter, counter, withSystem } from "./fixtures.ts"

/** The stream keeps this many events for a subscriber that has not taken them. */
const BUFFER = 4096

/** An actor that has stopped, once its `Stopped` event was taken (published before `stop` returns). */
const gone = (system: ActorSystem.ActorSystemService) =>
  Effect.gen(function* () {
    const events = yield* system.subscribe
    const ref = yield* system.spawn(counter(), { name: "gone" })
    yield* system.stop(ref)
    yield* events.pipe(
      Stream.filter((event) => event._tag === "Stopped"),
      Stream.take(1),
      Stream.runDrain
    )
    return ref
  })

/** The tags (and paths) of the events up to the custom event `End`, which the test publishes last. */
const upToEnd = (events: Stream.Stream<SystemEvent.SystemEvent>) =>
  events.pipe(
    Stream.takeUntil((event) => event._tag === "Custom" && event.event._tag === "End"),
    Stream.map((event) => ("path" in event && event._tag !== "Custom" ? `${event._tag} ${event.path}` : event._tag)),
    Stream.runCollect
  )

describe("the system's event stream", () => {
  it.effect("an actor's Stopped is published before stop returns: a new actor at its name comes after it", () =>
    withSystem(
      Effect.gen(function* () {
        const system = yield* ActorSystem.ActorSystem
        const events = yield* system.subscribe
        const first = yield* system.spawn(counter(), { name: "again" })
        yield* system.stop(first)
        // the caller goes on at once: whatever it publishes now must come after the stopped actor's events
        yield* ActorSystem.publish("test", { _tag: "AfterStop" })
        yield* system.spawn(counter(), { name: "again" })
        yield* ActorSystem.publish("test", { _tag: "End" })
        assert.deepStrictEqual(yield* upToEnd(events), [
          "Spawned /user/again",
          "Stopped /user/again",
          "Custom",
          "Spawned /user/again",
          "Custom"
        ])
      })
    )
  )

  it.effect("a child's and its parent's Stopped are published before the parent's stop returns", () =>
    withSystem(
      Effect.gen(function* () {
        const system = yield* ActorSystem.ActorSystem
        const events = yield* system.subscribe
        const parent = yield* system.spawn(
          Behavior.make(Counter, {
            init: (ctx) => Effect.as(ctx.spawn(counter(), { name: "child" }), 0),
            receive: counter().receive
          }),
          { name: "parent" }
        )
        yield* system.stop(parent)
        yield* ActorSystem.publish("test", { _tag: "End" })
        assert.deepStrictEqual(yield* upToEnd(events), [
          "Spawned /user/parent",
          "Spawned /user/parent/child",
          "Stopped /user/parent/child",
          "Stopped /user/parent",
          "Custom"
        ])
      })
    )
  )

  it.effect("a subscriber that fell behind keeps the latest events and is told what it missed", () =>
    withSystem(
      Effect.gen(function* () {
        const system = yield* ActorSystem.ActorSystem
        const ref = yield* gone(system)
        const events = yield* system.subscribe
        yield* ActorSystem.publish("test", { _tag: "Before" })
        // 5,000 dead letters, published before the subscriber takes any
        for (let n = 1; n <= 5000; n++) yield* ref.tell(Counter.Add({ n }))
        // (taking only as many as it keeps: a stream that kept the first ones would have no more)
        const taken = yield* events.pipe(Stream.take(BUFFER), Stream.runCollect)
        const [first, ...rest] = taken
        // 5,001 published, 4,096 kept: the Custom event and the first 904 dead letters were dropped
        assert.deepStrictEqual(first, new SystemEvent.EventsMissed({ count: 905, deadLetters: 904 }))
        assert.isTrue(rest.every((event) => event._tag === "DeadLetter"))
        const numbers = rest.map((event) => ((event as SystemEvent.DeadLetter).message as { n: number }).n)
        assert.deepStrictEqual([numbers[0], numbers.length], [905, BUFFER - 1])
        assert.strictEqual(yield* system.deadLetters, 5000)
      })
    )
  )

  it.effect("a subscriber that keeps up is never told it missed anything", () =>
    withSystem(
      Effect.gen(function* () {
        const system = yield* ActorSystem.ActorSystem
        const ref = yield* gone(system)
        const events = yield* system.subscribe
        for (let n = 1; n <= 100; n++) yield* ref.tell(Counter.Add({ n }))
        const taken = yield* events.pipe(Stream.take(100), Stream.runCollect)
        assert.deepStrictEqual(
          taken.map((event) => event._tag),
          Array.from({ length: 100 }, () => "DeadLetter")
        )
      })
    )
  )

  it("the Promise API's events(): a reader that fell behind is told what it missed", async () => {
    const troupe = await Troupe.start()
    try {
      const events = troupe.events()[Symbol.asyncIterator]()
      await troupe.run(
        Effect.forEach(
          Array.from({ length: 5000 }, (_, i) => i + 1),
          (n) => ActorSystem.publish("test", { _tag: "N", n }),
          {
            discard: true
          }
        )
      )
      let told = 0
      let seen = 0
      for (let last = 0; last < 5000; ) {
        const next = await events.next()
        if (next.done) break
        if (next.value._tag === "EventsMissed") told += next.value.count
        else if (next.value._tag === "Custom") {
          seen++
          last = (next.value.event as unknown as { n: number }).n
        }
      }
      await events.return?.()
      assert.strictEqual(seen + told, 5000, `seen ${seen}, told missed ${told}`)
      assert.isAbove(told, 0)
    } finally {
      await troupe.shutdown()
    }
  })
})
