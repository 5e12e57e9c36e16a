import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Terminal } from "@troupe/inspector"
import { Agent, Approval, ScriptedModel, Tool, Turn } from "@troupe/llm"
import { ActorSystem } from "@troupe/runtime"
import { Effect, Layer, Schema } from "effect"

// A tool that runs only once a person approves it (or edits its arguments, or refuses it and says why).
const deploy = Approval.required(
  Tool.make("deploy", {
    description: "Deploy a version to production",
    parameters: Schema.Struct({ version: Schema.String }),
    success: Schema.String,
    handler: ({ version }) => Effect.succeed(`${version} is live`)
  })
)
const ops = Agent.make({ name: "ops", system: "You ship releases.", tools: [deploy] })
const model = ScriptedModel.layer([Turn.toolCall("deploy", { version: "v2" }), Turn.text("Done: v2 is live.")])

const program = Effect.gen(function* () {
  const ref = yield* ActorSystem.spawn(ops, { name: "ops" })
  console.log(yield* ref.ask(Agent.Protocol.Ask({ prompt: "Ship v2" }), { timeout: "1 hour" }))
})
const people = Layer.merge(Terminal.layer(), model) // a person answers here (Inspector.layer: in a browser)
NodeRuntime.runMain(program.pipe(Effect.provide(people), Effect.provide(ActorSystem.layer())))
