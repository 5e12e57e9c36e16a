import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Agent, ScriptedModel, Tool, Turn } from "@troupe/llm"
import { ActorSystem } from "@troupe/runtime"
import { Effect, Layer, Schema } from "effect"

// A tool: Schema-typed arguments and result, any Effect as its handler (Tool.fromAsk makes one that asks an actor).
const weather = Tool.make("weather", {
  description: "Current temperature in a city, in °C",
  parameters: Schema.Struct({ city: Schema.String }),
  success: Schema.Struct({ celsius: Schema.Finite }),
  handler: ({ city }) => Effect.succeed({ celsius: city === "Oslo" ? 3 : 21 })
})

// An agent is an actor: it keeps its conversation and, for each ask, runs the model with its tools.
const assistant = Agent.make({ name: "assistant", system: "You answer questions about the weather.", tools: [weather] })

const program = Effect.gen(function* () {
  const ref = yield* ActorSystem.spawn(assistant, { name: "assistant" })
  const answer = yield* ref.ask(Agent.Protocol.Ask({ prompt: "Do I need a coat in Oslo?" }), { timeout: "1 minute" })
  console.log(answer)
})

// Offline, a scripted model plays the model's turns. For a real one: OpenAi.layerConfig() (reads OPENAI_API_KEY).
const model = ScriptedModel.layer([Turn.toolCall("weather", { city: "Oslo" }), Turn.text("Yes: it is 3 °C in Oslo.")])

NodeRuntime.runMain(program.pipe(Effect.provide(Layer.mergeAll(ActorSystem.layer(), model))))
