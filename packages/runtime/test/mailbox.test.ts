import { assert, describe, it } from "@effect/vitest"
import { type ActorRef, ActorSystem, Behavior, Mailbox, Protocol, type SystemEvent } from "@troupe/runtime"
import { Deferred, Effect, Fiber, Schema, Stream } from "effect"
import { localCell } from "../src/internal/system.ts"
import { eventually, withSystem } from "./fixtures.ts"

const Gate = Protocol.make("Gate", {
  Block: {},
  Item: { n: Schema.Number },
  Seen: Protocol.request({}, { success: Schema.Array(Schema.Number) })
})

/** An actor that blocks on its first message until `gate` opens, then records items. */
const gated = (gate: Deferred.Deferred<void>) =>
  Behavior.make(Gate, {
    initial: [] as ReadonlyArray<number>,
    receive: {
      Block: (seen) => Effect.as(Deferred.await(gate), seen),
      Item: (seen, { n }) => Effect.succeed([...seen, n]),
      Seen: (seen) => Effect.succeed({ state: seen, reply: seen })
    }
  })

/** Spawns a gated actor with a mailbox of 2 and waits until it is blocked on its first message. */
const blocked = (overflow: Mailbox.OverflowPolicy) =>
  Effect.gen(function* () {
    const gate = yield* Deferred.make<void>()
    const ref = yield* ActorSystem.spawn(gated(gate), { mailbox: Mailbox.bounded(2, overflow) })
    yield* ref.tell(Gate.Block())
    yield* Effect.yieldNow
    yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
    return { ref, gate }
  })

const deadLetterEvents = Effect.gen(function* () {
  const system = yield* ActorSystem.ActorSystem
  const events = yield* system.subscribe
  const collected: Array<SystemEvent.DeadLetter> = []
  yield* events.pipe(
    Stream.filter((event): event is SystemEvent.DeadLetter => event._tag === "DeadLetter"),
    Stream.runForEach((event) => Effect.sync(() => collected.push(event))),
    Effect.forkScoped
  )
  return collected
})

describe("bounded mailboxes", () => {
  it.effect("suspend: a sender waits while the mailbox is full, and nothing is lost or reordered", () =>
    withSystem(
      Effect.gen(function* () {
        const { ref, gate } = yield* blocked("suspend")
        yield* ref.tell(Gate.Item({ n: 1 }))
        yield* ref.tell(Gate.Item({ n: 2 }))
        const sender = yield* Effect.forkChild(
          Effect.forEach([3, 4, 5], (n) => ref.tell(Gate.Item({ n })), { discard: true })
        )
        yield* Effect.yieldNow
        assert.isUndefined(sender.pollUnsafe(), "the sender is suspended")
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(sender)
        assert.deepStrictEqual(yield* ref.ask(Gate.Seen()), [1, 2, 3, 4, 5])
      })
    )
  )

  it.effect("fail: a send to a full mailbox fails with MailboxFull", () =>
    withSystem(
      Effect.gen(function* () {
        const { ref, gate } = yield* blocked("fail")
        yield* ref.tell(Gate.Item({ n: 1 }))
        yield* ref.tell(Gate.Item({ n: 2 }))
        const error = yield* Effect.flip(ref.tell(Gate.Item({ n: 3 })))
        assert.strictEqual(error._tag, "MailboxFull")
        assert.strictEqual(error._tag === "MailboxFull" && error.capacity, 2)
        const askError = yield* Effect.flip(ref.ask(Gate.Seen()))
        assert.strictEqual(askError._tag, "MailboxFull")
        yield* Deferred.succeed(gate, undefined)
        assert.deepStrictEqual(yield* ref.ask(Gate.Seen()), [1, 2])
      })
    )
  )

  it.effect("drop-newest: the new message goes to dead letters", () =>
    withSystem(
      Effect.gen(function* () {
        const deadLetters = yield* deadLetterEvents
        const { ref, gate } = yield* blocked("drop-newest")
        yield* Effect.forEach([1, 2, 3, 4], (n) => ref.tell(Gate.Item({ n })), { discard: true })
        yield* Deferred.succeed(gate, undefined)
        assert.deepStrictEqual(yield* ref.ask(Gate.Seen()), [1, 2])
        yield* eventually(() => deadLetters.length === 2, "two dead letters")
        assert.deepStrictEqual(
          deadLetters.map((d) => [d.reason, (d.message as { n: number }).n]),
          [
            ["overflow", 3],
            ["overflow", 4]
          ]
        )
      })
    )
  )

  it.effect("drop-oldest: the oldest waiting message goes to dead letters", () =>
    withSystem(
      Effect.gen(function* () {
        const deadLetters = yield* deadLetterEvents
        const { ref, gate } = yield* blocked("drop-oldest")
        yield* Effect.forEach([1, 2, 3, 4], (n) => ref.tell(Gate.Item({ n })), { discard: true })
        yield* Deferred.succeed(gate, undefined)
        assert.deepStrictEqual(yield* ref.ask(Gate.Seen()), [3, 4])
        yield* eventually(() => deadLetters.length === 2, "two dead letters")
        assert.deepStrictEqual(
          deadLetters.map((d) => (d.message as { n: number }).n),
          [1, 2]
        )
      })
    )
  )

  it.effect("a full mailbox publishes Overflow events", () =>
    withSystem(
      Effect.gen(function* () {
        const system = yield* ActorSystem.ActorSystem
        const events = yield* system.subscribe
        const overflows = yield* events.pipe(
          Stream.filter((event) => event._tag === "Overflow"),
          Stream.take(1),
          Stream.runCollect,
          Effect.forkScoped
        )
        const { ref, gate } = yield* blocked("drop-newest")
        yield* Effect.forEach([1, 2, 3], (n) => ref.tell(Gate.Item({ n })), { discard: true })
        const [overflow] = yield* Fiber.join(overflows)
        yield* Deferred.succeed(gate, undefined)
        assert.deepInclude(overflow, { path: ref.path, policy: "drop-newest", capacity: 2 })
      })
    )
  )

  // A send's effect is made when the mailbox is full and run later: by a fiber it was handed to (a session's `Begin`s,
  // see `allJoined`), or after its fiber yielded. Found as sessions that never began (SessionJoin.test.ts).
  /** A tell to `ref`'s cell made now, while its mailbox is full, to run later. */
  const madeWhileFull = (ref: ActorRef.ActorRef<typeof Gate>, n: number) =>
    Effect.withFiber((fiber) => Effect.succeed(localCell(ref)!.tell(Gate.Item({ n }), fiber)))

  it.effect("suspend: a send made while the mailbox was full goes in once run, if it has room by then", () =>
    withSystem(
      Effect.gen(function* () {
        const { ref, gate } = yield* blocked("suspend")
        yield* ref.tell(Gate.Item({ n: 1 }))
        yield* ref.tell(Gate.Item({ n: 2 }))
        const late = yield* madeWhileFull(ref, 3)
        assert.notStrictEqual(late, Effect.void, "the mailbox was full when the send was made")
        yield* Deferred.succeed(gate, undefined)
        assert.deepStrictEqual(yield* ref.ask(Gate.Seen()), [1, 2], "the mailbox emptied, the actor is idle")
        // (before: it waited for room that no message taken would free, and every send after it waited behind it)
        yield* late
        yield* ref.tell(Gate.Item({ n: 4 }))
        assert.deepStrictEqual(yield* ref.ask(Gate.Seen()), [1, 2, 3, 4])
      })
    )
  )

  it.effect("suspend: a send made while the mailbox was full, run after its actor stopped, is a dead letter", () =>
    withSystem(
      Effect.gen(function* () {
        const deadLetters = yield* deadLetterEvents
        const { ref, gate } = yield* blocked("suspend")
        yield* ref.tell(Gate.Item({ n: 1 }))
        yield* ref.tell(Gate.Item({ n: 2 }))
        const late = yield* madeWhileFull(ref, 3)
        yield* Deferred.succeed(gate, undefined)
        yield* ActorSystem.stop(ref)
        yield* late
        yield* eventually(() => deadLetters.some((d) => d.reason === "terminated"), "the dead letter")
        assert.deepInclude(
          deadLetters.find((d) => d.reason === "terminated"),
          { recipient: ref.path, tag: "Item" }
        )
      })
    )
  )

  it("refuses a capacity that is not a positive integer", () => {
    assert.throws(() => Mailbox.bounded(0), /positive integer/)
    assert.throws(() => Mailbox.bounded(1.5), /positive integer/)
  })
})
