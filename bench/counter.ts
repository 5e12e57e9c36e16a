/**
 * The counter the benchmarks measure everywhere: one-way increments and a request that answers the count.
 *
 * @example
 * const ref = yield* ActorSystem.spawn(counter)
 * yield* ref.tell(Counter.Add({ n: 1 }))
 * const count = yield* ref.ask(Counter.Get())
 */
import { Behavior, Protocol } from "@troupe/runtime"
import { Effect, Schema } from "effect"

export const Counter = Protocol.make("Counter", {
  Add: { n: Schema.Number },
  Get: Protocol.request({}, { success: Schema.Number })
})

export const counter = Behavior.make(Counter, {
  initial: 0,
  receive: {
    Add: (count, { n }) => Effect.succeed(count + n),
    Get: (count) => Effect.succeed({ state: count, reply: count })
  }
})
