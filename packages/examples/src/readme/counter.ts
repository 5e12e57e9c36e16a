import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { ActorSystem, Behavior, Protocol } from "@troupe/runtime"
import { Effect, Schema } from "effect"

// A protocol: the typed messages an actor accepts. `Get` is a request: it declares its reply.
const Counter = Protocol.make("Counter", {
  Add: { n: Schema.Number },
  Get: Protocol.request({}, { success: Schema.Number })
})

// A behaviour: the initial state and one handler per message, each returning the next state.
const counter = Behavior.make(Counter, {
  initial: 0,
  receive: {
    Add: (count, { n }) => Effect.succeed(count + n),
    Get: (count) => Effect.succeed({ state: count, reply: count })
  }
})

const program = Effect.gen(function* () {
  const ref = yield* ActorSystem.spawn(counter, { name: "counter" })
  yield* ref.tell(Counter.Add({ n: 2 })) // fire and forget
  yield* ref.tell(Counter.Add({ n: 3 }))
  const total = yield* ref.ask(Counter.Get()) // typed: number
  console.log(`total = ${total}`)
})

NodeRuntime.runMain(program.pipe(Effect.provide(ActorSystem.layer())))
