/**
 * A subscriber that falls behind keeps the latest 4,096 events it has not taken (see `eventStream.ts`), and an
 * `EventsMissed` event stands for the older ones. A `DurableStopped` is never among those: whoever waits for it (the
 * `troupe` CLI's node stops on it) would wait for ever. Here a subscriber is held while its system is fenced
 * (`DurableStopped`) and then publishes 5,000 events more: the subscriber still gets the `DurableStopped`, after the
 * `EventsMissed` that stands for the others; so does a reader of `troupe.events()` (the Promise API's own buffer).
 * Before, the `DurableStopped` slid out of their buffers with the oldest events.
 */
import { type ActorRef, ActorSystem, type SystemEvent, Troupe } from "@troupe/runtime"
import { Deferred, Effect, Fiber, Layer, Stream } from "effect"
import { expect, it } from "vitest"
import { Counter, durableCounter } from "../fixtures.ts"
import { databases } from "./databases.ts"
import { takeOver } from "./successor.ts"

const counter = durableCounter("c-1")

/** More than a subscriber's buffer holds (4,096). */
const FLOOD = 5000

const [sqlite] = databases({ postgres: false })

/** Takes the node name over from another host, and has the actor's next write find it out. */
const takeOverFrom = (ref: ActorRef<typeof Counter>) =>
  Effect.gen(function* () {
    yield* ref.tell(Counter.Add({ n: 2 }))
    expect(yield* ref.ask(Counter.Get())).toBe(2)
    yield* takeOver()
    yield* ref.tell(Counter.Add({ n: 3 }))
  })

/** More events than a subscriber keeps, then the marker. */
const flood = Effect.gen(function* () {
  for (let i = 0; i < FLOOD; i++) yield* ActorSystem.publish("test", { _tag: "Flood", i })
  yield* ActorSystem.publish("test", { _tag: "Marker" })
})

const isMarker = (event: SystemEvent.SystemEvent) =>
  event._tag === "Custom" && (event.event as { readonly _tag: string })._tag === "Marker"

it("a subscriber that fell behind still gets the DurableStopped, after an EventsMissed for the others", async () => {
  const location = await sqlite!.fresh()
  const result = await Effect.runPromise(
    Effect.gen(function* () {
      const system = yield* ActorSystem.ActorSystem
      const gate = yield* Deferred.make<void>()
      // held on its first event until the flood is published, as a subscriber on a busy event loop is
      const held = yield* system.subscribe
      const slow = yield* Effect.forkScoped(
        held.pipe(
          Stream.mapEffect((event) => Effect.as(Deferred.await(gate), event)),
          Stream.takeUntil(isMarker),
          Stream.runCollect
        )
      )
      // the CLI's wait for the stop (TroupeNode), as slow: it ends on the stop, else on the marker published last
      const waiter = yield* Effect.forkScoped(
        (yield* system.subscribe).pipe(
          Stream.mapEffect((event) => Effect.as(Deferred.await(gate), event)),
          Stream.filter((event) => event._tag === "DurableStopped" || isMarker(event)),
          Stream.runHead
        )
      )
      // one that keeps up, to see the stop published: the flood comes after it
      const quick = yield* Effect.forkScoped(
        (yield* system.subscribe).pipe(
          Stream.filter((event) => event._tag === "DurableStopped"),
          Stream.runHead
        )
      )
      yield* takeOverFrom(yield* ActorSystem.spawn(counter, { name: "c" }))
      yield* Fiber.join(quick)
      yield* flood
      yield* Deferred.succeed(gate, undefined)
      const seen = yield* Fiber.join(slow)
      const waited = yield* Fiber.join(waiter)
      return { seen, waited }
    }).pipe(
      Effect.scoped,
      Effect.provide(ActorSystem.layer({ name: "n" })),
      Effect.provide(Layer.merge(sqlite!.layer(location), sqlite!.client(location)))
    )
  )
  const tags = result.seen.map((event) => event._tag)
  expect(tags, "the held subscriber's events").toContain("DurableStopped")
  const missed = result.seen.find((event): event is SystemEvent.EventsMissed => event._tag === "EventsMissed")
  expect(missed, "an EventsMissed stands for the events that slid out").toBeDefined()
  expect(tags.indexOf("EventsMissed")).toBeLessThan(tags.indexOf("DurableStopped"))
  expect(result.waited._tag === "Some" && result.waited.value._tag, "what the stop's waiter got").toBe("DurableStopped")
}, 60_000)

it("a reader of troupe.events() that fell behind still gets the DurableStopped, after an EventsMissed", async () => {
  const location = await sqlite!.fresh()
  const troupe = await Troupe.start({ name: "n", services: [sqlite!.layer(location), sqlite!.client(location)] })
  try {
    // not read until the flood is published
    const held = troupe.events()[Symbol.asyncIterator]()
    const quick = troupe.events()[Symbol.asyncIterator]()
    await troupe.run(Effect.flatMap(ActorSystem.spawn(counter, { name: "c" }), takeOverFrom))
    for (let next = await quick.next(); next.value?._tag !== "DurableStopped"; next = await quick.next()) {
      if (next.done) throw new Error("the events ended before a DurableStopped")
    }
    await quick.return?.()
    await troupe.run(flood)
    const seen: Array<SystemEvent.SystemEvent> = []
    for (let next = await held.next(); !next.done; next = await held.next()) {
      seen.push(next.value)
      if (isMarker(next.value)) break
    }
    const tags = seen.map((event) => event._tag)
    expect(tags, "the held reader's events").toContain("DurableStopped")
    expect(tags.indexOf("EventsMissed"), "an EventsMissed stands for the others, before").toBeGreaterThanOrEqual(0)
    expect(tags.indexOf("EventsMissed")).toBeLessThan(tags.indexOf("DurableStopped"))
  } finally {
    await troupe.shutdown()
  }
}, 60_000)
