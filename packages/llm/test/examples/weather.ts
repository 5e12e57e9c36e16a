import { ScriptedModel, Tool, ToolLoop, Turn } from "@troupe/llm"
import { Effect, Schema } from "effect"

const weather = Tool.make("weather", {
  description: "Current temperature in a city, in °C",
  parameters: Schema.Struct({ city: Schema.String }),
  success: Schema.Struct({ celsius: Schema.Finite }),
  handler: ({ city }) => Effect.succeed({ celsius: city === "Oslo" ? 3 : 21 })
})

const answer = ToolLoop.run({
  system: "You answer questions about the weather.",
  prompt: "Do I need a coat in Oslo today?",
  tools: [weather],
  maxSteps: 4
})

// Offline, a scripted model plays the model's turns. For a real one: OpenAi.layerConfig()
const model = ScriptedModel.layer([Turn.toolCall("weather", { city: "Oslo" }), Turn.text("Yes: it is 3 °C in Oslo.")])

export const main = answer.pipe(Effect.provide(model))
