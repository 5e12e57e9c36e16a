import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { LanguageModel, OpenAiTestServer, Turn } from "../src/index.ts"

const City = Schema.Struct({
  name: Schema.String,
  population: Schema.Int,
  nickname: Schema.optional(Schema.String),
  districts: Schema.Array(Schema.Struct({ name: Schema.String }))
})

describe("structured output", () => {
  for (const api of ["responses", "chat"] as const) {
    it.effect(`valid output is decoded, the schema sent in strict mode (${api})`, () =>
      Effect.gen(function* () {
        const server = yield* OpenAiTestServer.OpenAiTestServer
        const { value, response } = yield* LanguageModel.generateObject({
          prompt: "Invent a city",
          schema: City,
          name: "city"
        })
        assert.deepStrictEqual(value, { name: "Troupe", population: 12, districts: [{ name: "Old town" }] })
        assert.strictEqual(
          response.text,
          '{"name":"Troupe","population":12,"nickname":null,"districts":[{"name":"Old town"}]}'
        )
        const [request] = yield* server.requests
        const body = request!.body
        const format =
          api === "responses"
            ? (body.text as { format: Record<string, unknown> }).format
            : (body.response_format as { json_schema: Record<string, unknown> }).json_schema
        assert.strictEqual(format.name, "city")
        assert.strictEqual(format.strict, true)
        const schema = format.schema as {
          required: Array<string>
          additionalProperties: boolean
          properties: Record<string, { anyOf?: Array<{ type: string }>; items?: { additionalProperties: boolean } }>
        }
        assert.deepStrictEqual(schema.required, ["name", "population", "nickname", "districts"])
        assert.isFalse(schema.additionalProperties)
        assert.isTrue(schema.properties.nickname?.anyOf?.some((s) => s.type === "null"))
        assert.isFalse(schema.properties.districts?.items?.additionalProperties)
      }).pipe(
        Effect.provide(
          OpenAiTestServer.layerModel(
            [Turn.object({ name: "Troupe", population: 12, nickname: null, districts: [{ name: "Old town" }] })],
            { api }
          )
        )
      )
    )

    it.effect(`invalid output is an InvalidOutput with the raw text and the issues (${api})`, () =>
      Effect.gen(function* () {
        const wrong = yield* Effect.flip(LanguageModel.generateObject({ prompt: "Invent a city", schema: City }))
        assert.strictEqual(wrong._tag, "InvalidOutput")
        if (wrong._tag !== "InvalidOutput") return
        assert.strictEqual(wrong.raw, '{"name":"Troupe","population":1.5,"nickname":null,"districts":[{}]}')
        assert.deepStrictEqual(
          wrong.issues.map((i) => i.path),
          ["population", "districts[0].name"]
        )
        const notJson = yield* Effect.flip(LanguageModel.generateObject({ prompt: "Invent a city", schema: City }))
        assert.strictEqual(notJson._tag === "InvalidOutput" && notJson.raw, "Sure! Here is a city:")
        assert.include(notJson.message, "is not valid JSON")
      }).pipe(
        Effect.provide(
          OpenAiTestServer.layerModel(
            [
              Turn.object({ name: "Troupe", population: 1.5, nickname: null, districts: [{}] }),
              Turn.text("Sure! Here is a city:")
            ],
            { api }
          )
        )
      )
    )
  }
})
