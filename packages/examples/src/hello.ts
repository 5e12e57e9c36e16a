/**
 * Hello, Troupe: an actor with a typed protocol, a tell and an ask.
 *
 * Run it with `npx -y pnpm@10.34.9 --filter @troupe/examples hello`.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { ActorSystem, Behavior, Protocol } from "@troupe/runtime"
import { Effect, Schema } from "effect"

const Greeter = Protocol.make("Greeter", {
  Greet: Protocol.request({ name: Schema.String }, { success: Schema.String }),
  Rename: { greeting: Schema.String },
  Count: Protocol.request({}, { success: Schema.Number })
})

const greeter = Behavior.make(Greeter, {
  initial: { greeting: "Hello", greeted: 0 },
  receive: {
    Greet: (state, { name }) =>
      Effect.succeed({ state: { ...state, greeted: state.greeted + 1 }, reply: `${state.greeting}, ${name}!` }),
    Rename: (state, { greeting }) => Effect.succeed({ ...state, greeting }),
    Count: (state) => Effect.succeed({ state, reply: state.greeted })
  }
})

const program = Effect.gen(function* () {
  const ref = yield* ActorSystem.spawn(greeter, { name: "greeter" })
  console.log(yield* ref.ask(Greeter.Greet({ name: "world" })))
  yield* ref.tell(Greeter.Rename({ greeting: "Bonjour" }))
  console.log(yield* ref.ask(Greeter.Greet({ name: "Troupe" })))
  console.log(`greeted ${yield* ref.ask(Greeter.Count())} times`)
})

NodeRuntime.runMain(program.pipe(Effect.provide(ActorSystem.layer({ name: "hello" }))))
