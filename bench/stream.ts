/**
 * The session the choreography and durability benchmarks run: a producer role streams items to a consumer
 * role, then says it is done.
 *
 * @example
 * const P = yield* ActorSystem.spawn(producer(50_000))
 * const C = yield* ActorSystem.spawn(consumer)
 * yield* Session.run(Stream, { roles: { P, C } })
 */
import { Choreography, Session } from "@troupe/runtime"
import { Effect, Schema } from "effect"

/** A producer streams items to a consumer, then says it is done. */
export const Stream = Choreography.makeUnsafe("Stream", ["P", "C"], ($) => [
  $.loop("Items", [
    $.choice("P", {
      item: [$.message("P", "C", "item", Schema.Number), $.continue("Items")],
      done: [$.message("P", "C", "done", Schema.Void)]
    })
  ])
])

/** The producer sends `items` items; after `pauseAt` of them it runs a `once` effect (`pause`). */
export const producer = (items: number, pauseAt = -1, pause: Effect.Effect<void> = Effect.void) =>
  Session.role(Stream, "P", (ep) =>
    Effect.gen(function* () {
      let e = ep
      for (let i = 0; i < items; i++) {
        if (i === pauseAt) yield* Effect.suspend(() => pause)
        e = yield* e.send("C", "item", i)
      }
      yield* (yield* e.send("C", "done")).close()
    })
  )

/** The consumer sums the items; its result is the sum. */
export const consumer = Session.role(Stream, "C", (ep) =>
  Effect.gen(function* () {
    let e = ep
    let sum = 0
    for (;;) {
      const m = yield* e.receive()
      if (m.label === "done") {
        yield* m.next.close()
        return sum
      }
      sum += m.payload
      e = m.next
    }
  })
)
