import { randomBytes } from "node:crypto"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { ActorSystem, Behavior, Protocol } from "@troupe/runtime"
import { WebSocket } from "@troupe/transport"
import { Effect, Option, Schema } from "effect"

const Greeter = Protocol.make("Greeter", {
  Greet: Protocol.request({ name: Schema.String }, { success: Schema.String })
})
const greeter = Behavior.make(Greeter, {
  initial: null,
  receive: { Greet: (state, { name }) => Effect.succeed({ state, reply: `Hello, ${name}!` }) }
})

// every node of a cluster gets the same secret (16+ characters; in real life from TROUPE_TOKEN)
const secret = process.env.TROUPE_TOKEN ?? randomBytes(16).toString("hex")

const program = Effect.gen(function* () {
  // two nodes, each with a WebSocket transport (in real life: two processes or machines)
  const alice = yield* ActorSystem.make({
    name: "alice",
    transport: WebSocket.layer({ node: "alice", secret, listen: { port: 0 } })
  })
  const bob = yield* ActorSystem.make({ name: "bob", transport: WebSocket.layer({ node: "bob", secret }) })
  yield* alice.spawn(greeter, { name: "greeter" })
  yield* bob.connect(Option.getOrThrow(alice.address)) // e.g. ws://127.0.0.1:7000
  const remote = yield* bob.lookup("/user/greeter", Greeter, { node: "alice" })
  console.log(yield* remote.ask(Greeter.Greet({ name: "Bob" }))) // same API as a local actor
})

NodeRuntime.runMain(Effect.scoped(program))
