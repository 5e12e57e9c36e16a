import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Schedule, Schema, Stream } from "effect"
import { LanguageModel as AiLanguageModel, Tool as AiTool, Toolkit } from "effect/ai"
import { EffectAi, OpenAiTestServer, ScriptedModel, Turn } from "../src/index.ts"

const Weather = AiTool.make("Weather", {
  description: "Temperature in a city",
  parameters: Schema.Struct({ city: Schema.String }),
  success: Schema.Struct({ celsius: Schema.Finite })
})
const WeatherToolkit = Toolkit.make(Weather)
const WeatherHandlers = WeatherToolkit.toLayer({ Weather: ({ city }) => Effect.succeed({ celsius: city.length }) })

describe("effect/ai interop", () => {
  it.effect("LanguageModel.generateText runs on our model", () =>
    Effect.gen(function* () {
      const response = yield* AiLanguageModel.generateText({ prompt: "Say hi" })
      assert.strictEqual(response.text, "Hi there")
      assert.strictEqual(response.finishReason, "stop")
      assert.strictEqual(response.usage.inputTokens.total, 10)
      const [request] = yield* ScriptedModel.requests
      assert.deepStrictEqual(request?.messages, [{ _tag: "User", text: "Say hi" }])
    }).pipe(Effect.provide(EffectAi.layer.pipe(Layer.provideMerge(ScriptedModel.layer([Turn.text("Hi there")])))))
  )

  it.effect("an effect/ai prompt with files reaches our model with them", () =>
    Effect.gen(function* () {
      yield* AiLanguageModel.generateText({
        prompt: [
          {
            role: "user",
            content: [
              { type: "text", text: "What is this?" },
              { type: "file", mediaType: "image/png", data: new Uint8Array([1, 2, 3]) },
              {
                type: "file",
                mediaType: "application/pdf",
                data: new URL("https://example.com/a.pdf"),
                fileName: "a.pdf"
              }
            ]
          }
        ]
      })
      const [request] = yield* ScriptedModel.requests
      assert.deepStrictEqual(request?.messages, [
        {
          _tag: "User",
          text: "What is this?",
          files: [
            { mediaType: "image/png", data: "AQID" },
            { mediaType: "application/pdf", url: "https://example.com/a.pdf", name: "a.pdf" }
          ]
        }
      ])
    }).pipe(Effect.provide(EffectAi.layer.pipe(Layer.provideMerge(ScriptedModel.layer([Turn.text("A picture.")])))))
  )

  it.effect("generateObject, streamText and toolkit tools (real SDK over HTTP)", () =>
    Effect.gen(function* () {
      const { value } = yield* AiLanguageModel.generateObject({
        prompt: "A city",
        objectName: "city",
        schema: Schema.Struct({ name: Schema.String, motto: Schema.optional(Schema.String) })
      })
      assert.deepStrictEqual(value, { name: "Oslo" })

      const parts = yield* Stream.runCollect(AiLanguageModel.streamText({ prompt: "Say hi" }))
      assert.deepStrictEqual(
        parts.map((p) => p.type),
        ["text-start", "text-delta", "text-delta", "text-end", "response-metadata", "finish"]
      )

      const withTool = yield* AiLanguageModel.generateText({ prompt: "Weather in Oslo?", toolkit: WeatherToolkit })
      assert.deepStrictEqual(
        withTool.toolResults.map((r) => [r.name, r.result]),
        [["Weather", { celsius: 4 }]]
      )
      const server = yield* OpenAiTestServer.OpenAiTestServer
      const requests = yield* server.requests
      assert.deepStrictEqual(requests[2]?.tools, ["Weather"])
    }).pipe(
      Effect.provide(
        EffectAi.layer.pipe(
          Layer.provideMerge(
            OpenAiTestServer.layerModel([
              Turn.object({ name: "Oslo", motto: null }),
              Turn.text("Hi there", { chunkSize: 4 }),
              Turn.toolCall("Weather", { city: "Oslo" })
            ])
          )
        )
      ),
      Effect.provide(WeatherHandlers)
    )
  )

  it.effect("our errors arrive as AiErrors with the matching reason", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(AiLanguageModel.generateText({ prompt: "hi" }))
      assert.strictEqual(error.reason._tag, "RateLimitError")
      assert.isTrue(error.isRetryable)
    }).pipe(
      Effect.provide(
        EffectAi.layer.pipe(Layer.provide(ScriptedModel.layer([Turn.error(429)], { retry: Schedule.recurs(0) })))
      )
    )
  )
})
