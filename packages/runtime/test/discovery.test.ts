import { assert, describe, it } from "@effect/vitest"
import { ActorSystem, Behavior, Mailbox, Protocol, Receptionist, TestKit, Topic } from "@troupe/runtime"
import { Effect, Fiber, Schema, Stream } from "effect"
import { Counter, counter, eventually, withSystem } from "./fixtures.ts"

const Workers = Receptionist.key("workers", Counter)

describe("receptionist", () => {
  it.effect("registers, finds, deregisters, and drops actors that terminate", () =>
    withSystem(
      Effect.gen(function* () {
        const a = yield* ActorSystem.spawn(counter(1), { name: "a" })
        const b = yield* ActorSystem.spawn(counter(2), { name: "b" })
        yield* Receptionist.register(Workers, a)
        yield* Receptionist.register(Workers, b)
        yield* Receptionist.register(Workers, a)
        const found = yield* Receptionist.find(Workers)
        assert.deepStrictEqual(
          found.map((r) => r.path),
          ["/user/a", "/user/b"]
        )
        // typed: the refs speak Counter
        assert.deepStrictEqual(yield* Effect.forEach(found, (r) => r.ask(Counter.Get())), [1, 2])
        yield* Receptionist.deregister(Workers, a)
        assert.deepStrictEqual(
          (yield* Receptionist.find(Workers)).map((r) => r.path),
          ["/user/b"]
        )
        yield* ActorSystem.stop(b)
        assert.deepStrictEqual(yield* Receptionist.find(Workers), [])
      })
    )
  )

  it.effect("subscribers get the current listing, then every change", () =>
    withSystem(
      Effect.gen(function* () {
        const a = yield* ActorSystem.spawn(counter(), { name: "a" })
        yield* Receptionist.register(Workers, a)
        const listings: Array<ReadonlyArray<string>> = []
        yield* Receptionist.subscribe(Workers).pipe(
          Stream.runForEach((refs) => Effect.sync(() => listings.push(refs.map((r) => r.name)))),
          Effect.forkScoped
        )
        yield* eventually(() => listings.length === 1, "the first listing")
        const b = yield* ActorSystem.spawn(counter(), { name: "b" })
        yield* Receptionist.register(Workers, b)
        yield* ActorSystem.stop(a)
        yield* eventually(() => listings.length === 3, "two changes")
        assert.deepStrictEqual(listings, [["a"], ["a", "b"], ["b"]])
      })
    )
  )
})

describe("topics", () => {
  const Ticks = Protocol.make("Ticks", { Tick: { n: Schema.Number } })
  const Prices = Topic.make("prices", Ticks)

  it.effect("publish reaches every subscriber in order; terminated subscribers are dropped", () =>
    withSystem(
      Effect.gen(function* () {
        const p1 = yield* TestKit.probe(Ticks)
        const p2 = yield* TestKit.probe(Ticks)
        yield* Topic.subscribe(Prices, p1.ref)
        yield* Topic.subscribe(Prices, p2.ref)
        assert.strictEqual(yield* Topic.publish(Prices, Ticks.Tick({ n: 1 })), 2)
        yield* Topic.publish(Prices, Ticks.Tick({ n: 2 }))
        for (const probe of [p1, p2]) {
          assert.deepStrictEqual(
            [yield* probe.expectMessage(), yield* probe.expectMessage()],
            [Ticks.Tick({ n: 1 }), Ticks.Tick({ n: 2 })]
          )
        }
        yield* Topic.unsubscribe(Prices, p1.ref)
        assert.strictEqual(yield* Topic.publish(Prices, Ticks.Tick({ n: 3 })), 1)
        yield* p1.expectNoMessage("10 millis")
        yield* ActorSystem.stop(p2.ref)
        assert.deepStrictEqual(yield* Topic.subscribers(Prices), [])
        assert.strictEqual(yield* Topic.publish(Prices, Ticks.Tick({ n: 4 })), 0)
      })
    )
  )

  it.effect("a subscriber whose mailbox refuses a message does not stop the others", () =>
    withSystem(
      Effect.gen(function* () {
        const Slow = Protocol.make("Ticks", { Tick: { n: Schema.Number } })
        const blocked = yield* ActorSystem.spawn(
          Behavior.make(Slow, { initial: null, receive: { Tick: () => Effect.never } }),
          { mailbox: Mailbox.bounded(1, "fail"), shutdownTimeout: "1 millis" }
        )
        const probe = yield* TestKit.probe(Ticks)
        yield* Topic.subscribe(Prices, blocked as never)
        yield* Topic.subscribe(Prices, probe.ref)
        const delivered = yield* Effect.forEach([1, 2, 3], (n) => Topic.publish(Prices, Ticks.Tick({ n })))
        assert.deepStrictEqual(delivered.slice(1), [1, 1])
        assert.deepStrictEqual(
          (yield* Effect.forEach([1, 2, 3], () => probe.expectMessage())).map((m) => m.n),
          [1, 2, 3]
        )
        const system = yield* ActorSystem.ActorSystem
        assert.isAtLeast(yield* system.deadLetters, 1)
      })
    )
  )
})

describe("test kit", () => {
  it.effect("a probe answers requests and reports unexpected messages", () =>
    withSystem(
      Effect.gen(function* () {
        const probe = yield* TestKit.probe(Counter)
        const caller = yield* Effect.forkChild(probe.ref.ask(Counter.Get()))
        const request = yield* probe.expectRequest()
        assert.strictEqual(request.message._tag, "Get")
        yield* request.respond(42)
        assert.strictEqual(yield* Fiber.join(caller), 42)
        yield* probe.ref.tell(Counter.Add({ n: 1 }))
        const error = yield* Effect.flip(probe.expectMessageOf("Fail"))
        assert.strictEqual(error._tag, "UnexpectedMessage")
        const timeout = yield* Effect.flip(probe.expectMessage({ timeout: "5 millis" }))
        assert.strictEqual(timeout._tag, "ProbeTimeout")
        assert.strictEqual(probe.received.length, 2)
      })
    )
  )
})
