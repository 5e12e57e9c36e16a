import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, type Layer, Ref, Schema } from "effect"
import {
  type LanguageModel,
  type Message,
  OpenAiTestServer,
  ScriptedModel,
  Tool,
  ToolLoop,
  Turn
} from "../src/index.ts"

class CityUnknown extends Schema.TaggedError<CityUnknown>()("CityUnknown", { city: Schema.String }) {
  override get message() {
    return `no weather for ${this.city}`
  }
}

const weather = Tool.make("weather", {
  description: "Current temperature in a city",
  parameters: Schema.Struct({ city: Schema.String, unit: Schema.optional(Schema.Literals(["C", "F"])) }),
  success: Schema.Struct({ celsius: Schema.Finite }),
  handler: ({ city }) =>
    city === "Atlantis" ? Effect.fail(new CityUnknown({ city })) : Effect.succeed({ celsius: city === "Oslo" ? 3 : 21 })
})

const clock = Tool.make("clock", {
  description: "The local time in a city",
  parameters: Schema.Struct({ city: Schema.String }),
  success: Schema.String,
  handler: ({ city }) => Effect.succeed(city === "Oslo" ? "09:00" : "10:00")
})

const results = (transcript: ReadonlyArray<Message.Message>) =>
  transcript.filter((m): m is Message.ToolResult => m._tag === "ToolResult")

describe("tools", () => {
  it.effect("a tool decodes its arguments, runs and encodes its result", () =>
    Effect.gen(function* () {
      const ok = yield* weather.call({
        _tag: "ToolCall",
        id: "1",
        name: "weather",
        arguments: '{"city":"Oslo","unit":null}'
      })
      assert.deepStrictEqual(ok, {
        _tag: "ToolResult",
        id: "1",
        name: "weather",
        output: '{"celsius":3}',
        isError: false
      })
      const text = yield* clock.call({ _tag: "ToolCall", id: "2", name: "clock", arguments: '{"city":"Oslo"}' })
      assert.strictEqual(text.output, "09:00")
      assert.deepStrictEqual(weather.jsonSchema, {
        type: "object",
        properties: {
          city: { type: "string" },
          unit: { anyOf: [{ type: "string", enum: ["C", "F"] }, { type: "null" }, { type: "null" }] }
        },
        required: ["city", "unit"],
        additionalProperties: false
      })
    })
  )

  it.effect("bad arguments become an error result listing the issues", () =>
    Effect.gen(function* () {
      const wrongType = yield* weather.call({ _tag: "ToolCall", id: "1", name: "weather", arguments: '{"city":3}' })
      assert.isTrue(wrongType.isError)
      assert.include(wrongType.output, 'The arguments of tool "weather" did not match the schema')
      assert.include(wrongType.output, "at city: Expected string")
      const notJson = yield* weather.call({ _tag: "ToolCall", id: "2", name: "weather", arguments: "{city:" })
      assert.isTrue(notJson.isError)
      assert.include(notJson.output, "is not valid JSON")
    })
  )

  it.effect("failureMode 'return' reports handler failures to the model", () =>
    Effect.gen(function* () {
      const forgiving = Tool.make("weather", {
        description: "Weather",
        parameters: Schema.Struct({ city: Schema.String }),
        success: Schema.Struct({ celsius: Schema.Finite }),
        failureMode: "return",
        handler: ({ city }) => Effect.fail(new CityUnknown({ city }))
      })
      const result = yield* forgiving.call({
        _tag: "ToolCall",
        id: "1",
        name: "weather",
        arguments: '{"city":"Atlantis"}'
      })
      assert.deepStrictEqual([result.isError, result.output], [true, "CityUnknown: no weather for Atlantis"])
    })
  )
})

const twoToolsScript = [
  Turn.toolCalls([
    { name: "weather", arguments: { city: "Oslo", unit: null } },
    { name: "clock", arguments: { city: "Oslo" } }
  ]),
  Turn.text("In Oslo it is 09:00 and 3 °C.")
]

const twoToolsLoop = (layer: Layer.Layer<LanguageModel.LanguageModel>) =>
  Effect.gen(function* () {
    const result = yield* ToolLoop.run({
      system: "You answer questions about cities.",
      prompt: "Time and weather in Oslo?",
      tools: [weather, clock]
    })
    assert.strictEqual(result.value, "In Oslo it is 09:00 and 3 °C.")
    assert.strictEqual(result.responses.length, 2)
    assert.deepStrictEqual(
      result.added.map((m) => m._tag),
      ["ToolCall", "ToolCall", "ToolResult", "ToolResult", "Assistant"]
    )
    assert.deepStrictEqual(
      results(result.transcript).map((r) => [r.name, r.output]),
      [
        ["weather", '{"celsius":3}'],
        ["clock", "09:00"]
      ]
    )
    assert.strictEqual(result.transcript.length, 2 + result.added.length)
    assert.strictEqual(result.usage.inputTokens, 20)
  }).pipe(Effect.provide(layer))

describe("the tool loop", () => {
  it.effect("runs two tools and answers (scripted)", () => twoToolsLoop(ScriptedModel.layer(twoToolsScript)))
  it.effect("runs two tools and answers (Responses API over HTTP)", () =>
    twoToolsLoop(OpenAiTestServer.layerModel(twoToolsScript, { api: "responses" }))
  )
  it.effect("runs two tools and answers (Chat Completions over HTTP)", () =>
    twoToolsLoop(OpenAiTestServer.layerModel(twoToolsScript, { api: "chat" }))
  )

  it.effect("sends the tool results back to the model in the next request", () =>
    Effect.gen(function* () {
      yield* ToolLoop.run({ prompt: "Time and weather in Oslo?", tools: [weather, clock] })
      const server = yield* OpenAiTestServer.OpenAiTestServer
      const [first, second] = yield* server.requests
      assert.deepStrictEqual(first?.tools, ["weather", "clock"])
      assert.deepStrictEqual(
        second?.messages.map((m) => m._tag),
        ["User", "ToolCall", "ToolCall", "ToolResult", "ToolResult"]
      )
      assert.deepStrictEqual(
        results(second!.messages).map((r) => [r.id, r.name, r.output]),
        [
          ["call_0_0", "weather", '{"celsius":3}'],
          ["call_0_1", "clock", "09:00"]
        ]
      )
    }).pipe(Effect.provide(OpenAiTestServer.layerModel(twoToolsScript, { api: "chat" })))
  )

  it.effect("bad arguments and unknown tools go back to the model, and the loop recovers", () =>
    Effect.gen(function* () {
      const result = yield* ToolLoop.run({ prompt: "Weather in Oslo?", tools: [weather] })
      assert.strictEqual(result.text, "3 °C")
      const [bad, unknown, good] = results(result.transcript)
      assert.isTrue(bad?.isError)
      assert.include(bad?.output, "at city: Expected string")
      assert.isTrue(unknown?.isError)
      assert.include(unknown?.output, 'There is no tool named "forecast". Available tools: weather.')
      assert.deepStrictEqual([good?.isError, good?.output], [false, '{"celsius":3}'])
      const requests = yield* ScriptedModel.requests
      assert.include(results(requests[1]!.messages)[0]?.output, "Expected string")
    }).pipe(
      Effect.provide(
        ScriptedModel.layer([
          Turn.toolCall("weather", { city: 3, unit: null }),
          Turn.toolCall("forecast", { city: "Oslo" }),
          Turn.toolCall("weather", { city: "Oslo", unit: null }),
          Turn.text("3 °C")
        ])
      )
    )
  )

  it.effect("a failing tool ends the loop with its typed error", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(ToolLoop.run({ prompt: "Weather in Atlantis?", tools: [weather] }))
      assert.strictEqual(error._tag, "CityUnknown")
    }).pipe(Effect.provide(ScriptedModel.layer([Turn.toolCall("weather", { city: "Atlantis", unit: null })])))
  )

  it.effect("the steps are bounded", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(ToolLoop.run({ prompt: "loop", tools: [clock], maxSteps: 3 }))
      assert.strictEqual(error._tag, "MaxStepsExceeded")
      assert.strictEqual((yield* ScriptedModel.requests).length, 3)
    }).pipe(Effect.provide(ScriptedModel.layer(() => Turn.toolCall("clock", { city: "Oslo" }))))
  )

  it.effect("the tool calls of one step run concurrently (configurable)", () =>
    Effect.gen(function* () {
      const started = yield* Ref.make(0)
      const both = yield* Deferred.make<void>()
      const rendezvous = Tool.make("rendezvous", {
        description: "Waits for the other call",
        parameters: Schema.Struct({}),
        success: Schema.String,
        handler: () =>
          Ref.updateAndGet(started, (n) => n + 1).pipe(
            Effect.tap((n) => (n === 2 ? Deferred.succeed(both, undefined) : Effect.void)),
            Effect.andThen(Deferred.await(both)),
            Effect.as("met")
          )
      })
      const result = yield* ToolLoop.run({ prompt: "meet", tools: [rendezvous], concurrency: 2 })
      assert.deepStrictEqual(
        results(result.transcript).map((r) => r.output),
        ["met", "met"]
      )
    }).pipe(
      Effect.provide(
        ScriptedModel.layer([
          Turn.toolCalls([
            { name: "rendezvous", arguments: {} },
            { name: "rendezvous", arguments: {} }
          ]),
          Turn.text("done")
        ])
      )
    )
  )

  const Report = Schema.Struct({ city: Schema.String, celsius: Schema.Finite })

  it.effect("structured final output: decoded, and an invalid answer is sent back with its issues", () =>
    Effect.gen(function* () {
      const result = yield* ToolLoop.run({ prompt: "Weather in Oslo as JSON", tools: [weather], output: Report })
      assert.deepStrictEqual(result.value, { city: "Oslo", celsius: 3 })
      const requests = yield* ScriptedModel.requests
      assert.strictEqual(requests[0]?.output?.name, "output")
      const correction = requests[2]?.messages.at(-1)
      assert.strictEqual(correction?._tag, "User")
      assert.include(correction?._tag === "User" ? correction.text : "", "at celsius: Expected number")
    }).pipe(
      Effect.provide(
        ScriptedModel.layer([
          Turn.toolCall("weather", { city: "Oslo", unit: null }),
          Turn.object({ city: "Oslo", celsius: "cold" }),
          Turn.object({ city: "Oslo", celsius: 3 })
        ])
      )
    )
  )

  it.effect("structured final output fails with InvalidOutput once maxOutputRetries are spent", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(ToolLoop.run({ prompt: "Weather in Oslo", output: Report, maxOutputRetries: 2 }))
      assert.strictEqual(error._tag, "InvalidOutput")
      assert.strictEqual(error._tag === "InvalidOutput" && error.raw, "still not json")
      assert.strictEqual((yield* ScriptedModel.requests).length, 3)
    }).pipe(
      Effect.provide(
        ScriptedModel.layer([
          Turn.object({ city: "Oslo", celsius: "cold" }),
          Turn.text("not json"),
          Turn.text("still not json"),
          Turn.object({ city: "Oslo", celsius: 3 })
        ])
      )
    )
  )

  it.effect("onEvent streams the model's events and the tool results", () =>
    Effect.gen(function* () {
      const events: Array<string> = []
      yield* ToolLoop.run({
        prompt: "Time in Oslo?",
        tools: [clock],
        onEvent: (event) => Effect.sync(() => events.push(event._tag))
      })
      assert.deepStrictEqual(events, [
        "ToolCallStarted",
        "ToolCallDelta",
        "ToolCallDone",
        "Completed",
        "ToolResult",
        "TextDelta",
        "Completed"
      ])
      assert.isTrue((yield* ScriptedModel.requests).every((r) => r.stream))
    }).pipe(Effect.provide(ScriptedModel.layer([Turn.toolCall("clock", { city: "Oslo" }), Turn.text("09:00")])))
  )
})
