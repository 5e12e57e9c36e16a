/**
 * The heap of a node after 10,000 agent turns with tools, with its inspector watching: back within 2 MB of where
 * it was after the warm-up, once collected. Two shapes: one long-lived agent whose conversation is bounded
 * (`maxMessages`), and one agent per conversation (spawned, asked, stopped: the inspector keeps the 1,000 most
 * recently active). Behind TROUPE_LONG=1 (about 80 s on 2 cores under load).
 */
import { assert, describe, it } from "@effect/vitest"
import { Agent, ScriptedModel, Tool, Turn } from "@troupe/llm"
import { ActorSystem } from "@troupe/runtime"
import { Effect, Layer, Schema } from "effect"
import { heapUsed } from "../../../test/support/heap.ts"
import { Inspector } from "../src/index.ts"

const long = process.env.TROUPE_LONG === "1"

const weather = Tool.make("weather", {
  description: "Current temperature in a city, in °C",
  parameters: Schema.Struct({ city: Schema.String }),
  success: Schema.Struct({ celsius: Schema.Finite }),
  handler: () => Effect.succeed({ celsius: 3 })
})

// each turn: a tool call, its result, the answer
const model = ScriptedModel.layer(
  ({ messages }) =>
    messages.at(-1)?._tag === "ToolResult" ? Turn.text("It is 3 °C.") : Turn.toolCall("weather", { city: "Oslo" }),
  { record: false }
)

const ask = Agent.Protocol.Ask({ prompt: "Do I need a coat in Oslo?" })

describe.runIf(long)("the heap after 10,000 agent turns with tools, an inspector watching", () => {
  for (const shape of ["one agent", "an agent per conversation"] as const) {
    it.live(
      shape,
      () =>
        Effect.gen(function* () {
          const system = yield* ActorSystem.ActorSystem
          yield* Inspector.start(system, { port: 0 })
          const one = yield* ActorSystem.spawn(Agent.make({ name: "one", tools: [weather], maxMessages: 12 }))
          const turns = (from: number, count: number) =>
            Effect.gen(function* () {
              for (let i = from; i < from + count; i++) {
                if (shape === "one agent") yield* one.ask(ask)
                else {
                  const ref = yield* ActorSystem.spawn(Agent.make({ name: "chat", tools: [weather] }), {
                    name: `chat-${i}`
                  })
                  yield* ref.ask(ask)
                  yield* system.stop(ref)
                }
              }
              // the inspector has read every event when it shows the last turn
              yield* Effect.sleep("600 millis")
            })
          yield* turns(0, 1_500)
          const before = yield* heapUsed
          yield* turns(1_500, 10_000)
          const after = yield* heapUsed
          assert.isBelow(after - before, 2 * 1024 * 1024, `heap grew by ${after - before} bytes`)
        }).pipe(Effect.scoped, Effect.provide(Layer.mergeAll(ActorSystem.layer(), model))),
      120_000
    )
  }
})
