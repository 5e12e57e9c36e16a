import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Redacted, Schedule } from "effect"
import { LanguageModel, OpenAi, OpenAiTestServer, Turn } from "../src/index.ts"

describe("configuration", () => {
  it.effect("a bad configuration fails the layer with a SchemaError saying where", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Layer.build(OpenAi.layer({ apiKey: Redacted.make("k"), baseUrl: "localhost:8000", model: "" }))
      )
      assert.strictEqual(error._tag, "SchemaError")
      assert.include(error.message, "baseUrl")
      assert.include(error.message, "model")
    })
  )

  it.effect("from the environment: key, base URL, model and API, against any compatible server", () =>
    Effect.gen(function* () {
      const server = yield* OpenAiTestServer.make([Turn.text("hello from chat")])
      const env = {
        OPENAI_API_KEY: "sk-env",
        OPENAI_BASE_URL: server.url,
        OPENAI_MODEL: "local-model",
        OPENAI_API: "chat"
      }
      const response = yield* LanguageModel.generate({ prompt: "hi" }).pipe(
        Effect.provide(OpenAi.layerConfig()),
        Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env })))
      )
      assert.strictEqual(response.text, "hello from chat")
      const [request] = yield* server.requests
      assert.strictEqual(request?.api, "chat")
      assert.strictEqual(request?.model, "local-model")
      assert.strictEqual(request?.headers.authorization, "Bearer sk-env")
    })
  )

  it.effect("a missing API key is a ConfigError", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Layer.build(OpenAi.layerConfig()).pipe(
          Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: { OPENAI_MODEL: "m" } })))
        )
      )
      assert.strictEqual(error._tag, "ConfigError")
    })
  )

  it.effect("the SDK does not retry on its own: one request per attempt", () =>
    Effect.gen(function* () {
      const server = yield* OpenAiTestServer.OpenAiTestServer
      const error = yield* Effect.flip(LanguageModel.generate({ prompt: "hi" }))
      assert.strictEqual(error._tag, "ServerError")
      assert.strictEqual((yield* server.requests).length, 1)
    }).pipe(
      Effect.provide(OpenAiTestServer.layerModel([Turn.error(500), Turn.text("no")], { retry: Schedule.recurs(0) }))
    )
  )

  it.effect("the layer's max output tokens is sent with requests that set none", () =>
    Effect.gen(function* () {
      const server = yield* OpenAiTestServer.make([Turn.text("a"), Turn.text("b")])
      const model = yield* OpenAi.make({
        apiKey: Redacted.make("k"),
        baseUrl: server.url,
        model: "m",
        maxOutputTokens: 64
      })
      yield* model.generate({ prompt: "hi" })
      yield* model.generate({ prompt: "hi", maxOutputTokens: 8, temperature: 0 })
      const [first, second] = yield* server.requests
      assert.strictEqual(first?.body.max_output_tokens, 64)
      assert.deepStrictEqual([second?.body.max_output_tokens, second?.body.temperature], [8, 0])
    })
  )
})
