/**
 * One suite, run against every provider over its real SDK and its own wire: OpenAI's Responses API and Chat
 * Completions (the `openai` SDK against OpenAiTestServer) and Anthropic's Messages API (the
 * `@anthropic-ai/sdk` against AnthropicTestServer). Text, streams, tools, structured output, errors,
 * multimodal input, reasoning effort and replay work the same on all of them.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Deferred, Duration, Effect, Fiber, Layer, Schedule, Schema, Stream } from "effect"
import {
  AnthropicTestServer,
  LanguageModel,
  type LlmError,
  Message,
  OpenAiTestServer,
  Pricing,
  Tool,
  ToolLoop,
  Turn
} from "../src/index.ts"

/** What every test server recorded, whatever its wire. */
class Recorder extends Context.Service<
  Recorder,
  {
    readonly requests: Effect.Effect<ReadonlyArray<Turn.Request & { readonly body: Readonly<Record<string, unknown>> }>>
    readonly awaitAbort: (index: number) => Effect.Effect<void>
  }
>()("test/Recorder") {}

interface Backend {
  readonly name: string
  readonly provider: "openai" | "anthropic"
  readonly layer: (
    script: Turn.Script,
    options?: {
      readonly config?: Record<string, unknown>
      readonly retry?: Schedule.Schedule<unknown, LlmError.LlmError>
    }
  ) => Layer.Layer<LanguageModel.LanguageModel | Recorder>
}

const policy = { retry: Schedule.spaced("1 millis").pipe(Schedule.upTo({ times: 2 })) }

const backends: ReadonlyArray<Backend> = [
  ...(["responses", "chat"] as const).map(
    (api): Backend => ({
      name: `openai ${api}`,
      provider: "openai",
      layer: (script, options) =>
        Layer.effect(Recorder, Effect.map(OpenAiTestServer.OpenAiTestServer, Recorder.of)).pipe(
          Layer.provideMerge(OpenAiTestServer.layerModel(script, { ...policy, ...options, api }))
        )
    })
  ),
  {
    name: "anthropic",
    provider: "anthropic",
    layer: (script, options) =>
      Layer.effect(Recorder, Effect.map(AnthropicTestServer.AnthropicTestServer, Recorder.of)).pipe(
        Layer.provideMerge(AnthropicTestServer.layerModel(script, { ...policy, ...options, model: "gpt-test" }))
      )
  }
]

const weather = Tool.make("weather", {
  description: "Current temperature in a city",
  parameters: Schema.Struct({ city: Schema.String }),
  success: Schema.Struct({ celsius: Schema.Finite }),
  handler: ({ city }) => Effect.succeed({ celsius: city === "Oslo" ? 3 : 21 })
})

const City = Schema.Struct({ name: Schema.String, population: Schema.Int, motto: Schema.optional(Schema.String) })

const pdf = new TextEncoder().encode("%PDF-1.7 a tiny document")
const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

/** The JSON schema of the structured output, wherever the wire puts it. */
const outputSchemaOf = (body: Readonly<Record<string, unknown>>): unknown => {
  const b = body as {
    text?: { format?: { schema?: unknown } }
    response_format?: { json_schema?: { schema?: unknown } }
    output_config?: { format?: { schema?: unknown } }
  }
  return b.text?.format?.schema ?? b.response_format?.json_schema?.schema ?? b.output_config?.format?.schema
}

/** The reasoning effort, wherever the wire puts it. */
const effortOf = (body: Readonly<Record<string, unknown>>): unknown => {
  const b = body as {
    reasoning?: { effort?: unknown }
    reasoning_effort?: unknown
    output_config?: { effort?: unknown }
  }
  return b.reasoning?.effort ?? b.reasoning_effort ?? b.output_config?.effort
}

for (const backend of backends) {
  describe(`provider: ${backend.name}`, () => {
    it.effect("text, whole and streamed, with usage and cost", () =>
      Effect.gen(function* () {
        const usage = { inputTokens: 1000, cachedInputTokens: 200, outputTokens: 100, reasoningTokens: 0 }
        const whole = yield* LanguageModel.generate({ system: "Be brief.", prompt: "Hi" })
        const events = yield* Stream.runCollect(LanguageModel.stream({ prompt: "Hi again" }))
        assert.strictEqual(whole.text, "Hello there")
        assert.deepStrictEqual(whole.usage, usage)
        assert.closeTo(whole.cost ?? 0, (800 * 1 + 200 * 0.5 + 100 * 10) / 1e6, 1e-12)
        assert.deepStrictEqual(
          events.map((e) => (e._tag === "TextDelta" ? e.delta : e._tag)),
          ["Hello", " ther", "e", "Completed"]
        )
        const [first] = yield* (yield* Recorder).requests
        assert.deepStrictEqual(first?.messages, [Message.system("Be brief."), Message.user("Hi")])
      }).pipe(
        Pricing.withPrices({ "gpt-test": { input: 1, cachedInput: 0.5, output: 10 } }),
        Effect.provide(
          backend.layer(() =>
            Turn.text("Hello there", {
              chunkSize: 5,
              usage: { inputTokens: 1000, cachedInputTokens: 200, outputTokens: 100 }
            })
          )
        )
      )
    )

    for (const stream of [false, true]) {
      it.effect(`a tool loop with a typed tool${stream ? ", streamed" : ""}`, () =>
        Effect.gen(function* () {
          const result = yield* ToolLoop.run({
            prompt: "Coat in Oslo?",
            tools: [weather],
            ...(stream ? { onEvent: () => Effect.void } : {})
          })
          assert.strictEqual(result.text, "Yes, 3 °C.")
          const [, second] = yield* (yield* Recorder).requests
          assert.deepStrictEqual(second?.tools, ["weather"])
          assert.deepStrictEqual(
            second?.messages
              .slice(-2)
              .map((m) => (m._tag === "ToolCall" || m._tag === "ToolResult" ? [m._tag, m.id] : [])),
            [
              ["ToolCall", "call_0_0"],
              ["ToolResult", "call_0_0"]
            ]
          )
          const toolResult = second?.messages.at(-1)
          assert.strictEqual(toolResult?._tag === "ToolResult" && toolResult.output, '{"celsius":3}')
        }).pipe(Effect.provide(backend.layer([Turn.toolCall("weather", { city: "Oslo" }), Turn.text("Yes, 3 °C.")])))
      )
    }

    it.effect(
      "structured output: the schema is sent strict and the answer decoded; a bad answer is InvalidOutput",
      () =>
        Effect.gen(function* () {
          const { value } = yield* LanguageModel.generateObject({ prompt: "Invent a city", schema: City, name: "city" })
          assert.deepStrictEqual(value, { name: "Troupeville", population: 1200 })
          const invalid = yield* Effect.flip(LanguageModel.generateObject({ prompt: "Again", schema: City }))
          assert.strictEqual(invalid._tag, "InvalidOutput")
          const [first] = yield* (yield* Recorder).requests
          assert.deepInclude(outputSchemaOf(first!.body) as object, {
            type: "object",
            required: ["name", "population", "motto"],
            additionalProperties: false
          })
        }).pipe(
          Effect.provide(
            backend.layer([
              Turn.object({ name: "Troupeville", population: 1200, motto: null }),
              Turn.object({ name: "Nowhere", population: "many" })
            ])
          )
        )
    )

    it.effect("a tool loop with tools and structured output together", () =>
      Effect.gen(function* () {
        const result = yield* ToolLoop.run({
          prompt: "Report on Oslo",
          tools: [weather],
          output: Schema.Struct({ city: Schema.String, celsius: Schema.Finite })
        })
        assert.deepStrictEqual(result.value, { city: "Oslo", celsius: 3 })
      }).pipe(
        Effect.provide(
          backend.layer([Turn.toolCall("weather", { city: "Oslo" }), Turn.object({ city: "Oslo", celsius: 3 })])
        )
      )
    )

    it.effect("errors map to the same typed errors: HTTP statuses and errors inside streams", () =>
      Effect.gen(function* () {
        const cases: ReadonlyArray<readonly [LlmError.LlmError["_tag"], boolean, number]> = [
          ["RateLimited", true, 2000],
          ["BadRequest", false, 0],
          ["AuthenticationFailed", false, 0],
          ["ServerError", true, 0]
        ]
        for (const [tag, retryable, retryAfter] of cases) {
          const error = yield* Effect.flip(LanguageModel.generate({ prompt: "hi" }))
          assert.deepStrictEqual([error._tag, error.retryable], [tag, retryable])
          if (error._tag === "RateLimited") assert.strictEqual(Duration.toMillis(error.retryAfter!), retryAfter)
        }
        const overloaded = yield* Effect.flip(Stream.runDrain(LanguageModel.stream({ prompt: "hi" })))
        assert.deepStrictEqual([overloaded._tag, overloaded.retryable], ["ServerError", true])
        const tooLong = yield* Effect.flip(Stream.runDrain(LanguageModel.stream({ prompt: "hi" })))
        assert.deepStrictEqual([tooLong._tag, tooLong.retryable], ["BadRequest", false])
        const truncated = yield* Effect.flip(LanguageModel.generate({ prompt: "hi" }))
        assert.strictEqual(truncated._tag === "Truncated" && truncated.partialText, "partial")
        const refused = yield* Effect.flip(Stream.runDrain(LanguageModel.stream({ prompt: "hi" })))
        assert.strictEqual(refused._tag === "Refused" && refused.refusal, "I will not.")
      }).pipe(
        Effect.provide(
          backend.layer(
            [
              Turn.error(429, { retryAfter: "2 seconds" }),
              Turn.error(400),
              Turn.error(401),
              Turn.error(backend.provider === "anthropic" ? 529 : 503),
              Turn.text("x", {
                streamError: { code: backend.provider === "anthropic" ? "overloaded_error" : "server_error" }
              }),
              Turn.text("x", {
                streamError: {
                  code: backend.provider === "anthropic" ? "invalid_request_error" : "context_length_exceeded"
                }
              }),
              Turn.text("partial", { finish: "length" }),
              { refusal: "I will not." }
            ],
            { retry: Schedule.recurs(0) }
          )
        )
      )
    )

    it.effect("multimodal input: images and documents, inline and by URL, reach the model", () =>
      Effect.gen(function* () {
        const url = "https://example.com/chart.png"
        yield* LanguageModel.generate({
          prompt: [
            Message.user("What do these show?", [
              Message.image(png),
              Message.image(url),
              Message.file(pdf, "application/pdf", "report.pdf")
            ])
          ]
        })
        const [request] = yield* (yield* Recorder).requests
        const user = request?.messages.find((m): m is Message.User => m._tag === "User")
        assert.strictEqual(user?.text, "What do these show?")
        const files = user?.files ?? []
        assert.deepInclude(files[0] as object, { mediaType: "image/png", data: Buffer.from(png).toString("base64") })
        assert.deepInclude(files[1] as object, { url })
        assert.deepInclude(files[2] as object, {
          mediaType: "application/pdf",
          data: Buffer.from(pdf).toString("base64")
        })
      }).pipe(Effect.provide(backend.layer([Turn.text("A chart and a report.")])))
    )

    it.effect("reasoning effort reaches the model; the model's setting applies when the request sets none", () =>
      Effect.gen(function* () {
        yield* LanguageModel.generate({ prompt: "Think hard", reasoningEffort: "high" })
        yield* LanguageModel.generate({ prompt: "Think as usual" })
        const [hard, usual] = yield* (yield* Recorder).requests
        assert.strictEqual(effortOf(hard!.body), "high")
        assert.strictEqual(effortOf(usual!.body), "low")
      }).pipe(
        Effect.provide(
          backend.layer([Turn.text("a"), Turn.text("b")], {
            config: { models: { "gpt-test": { reasoningEffort: "low" } } }
          })
        )
      )
    )

    it.effect("interrupting a stream aborts the request", () =>
      Effect.gen(function* () {
        const started = yield* Deferred.make<void>()
        const fiber = yield* Effect.forkChild(
          Stream.runForEach(LanguageModel.stream({ prompt: "hi" }), () => Deferred.succeed(started, undefined))
        )
        yield* Deferred.await(started)
        yield* Fiber.interrupt(fiber)
        yield* (yield* Recorder).awaitAbort(0)
      }).pipe(Effect.provide(backend.layer([Turn.text("hello world", { stallAfter: 1, chunkSize: 5 })])))
    )
  })
}

describe("provider: anthropic, its own", () => {
  const thinking = { summary: ["The user wants Oslo."], encryptedContent: "sig-0" }

  for (const stream of [false, true]) {
    it.effect(`thinking blocks are kept with their signature and replayed first${stream ? " (streamed)" : ""}`, () =>
      Effect.gen(function* () {
        const result = yield* ToolLoop.run({
          prompt: "Coat in Oslo?",
          tools: [weather],
          ...(stream ? { onEvent: () => Effect.void } : {})
        })
        assert.strictEqual(result.text, "Yes.")
        const [first, second] = yield* (yield* AnthropicTestServer.AnthropicTestServer).requests
        assert.deepStrictEqual(first?.body.thinking, { type: "adaptive" })
        const assistant = (
          second!.body.messages as ReadonlyArray<{ role: string; content: ReadonlyArray<{ type: string }> }>
        ).find((m) => m.role === "assistant")
        assert.deepStrictEqual(
          assistant?.content.map((b) => b.type),
          ["thinking", "tool_use"]
        )
        assert.deepInclude(second?.messages, {
          _tag: "Reasoning",
          id: "thinking",
          summary: thinking.summary,
          encryptedContent: "sig-0"
        })
      }).pipe(
        Effect.provide(
          AnthropicTestServer.layerModel(
            [Turn.toolCall("weather", { city: "Oslo" }, { reasoning: thinking }), Turn.text("Yes.")],
            {
              config: { models: { claude: { thinking: "adaptive" } } }
            }
          )
        )
      )
    )
  }

  it.effect("a missing usage is estimated; max tokens default to 4096 and are reserved from the budget", () =>
    Effect.gen(function* () {
      const response = yield* LanguageModel.generate({ prompt: "hi" })
      assert.isTrue(response.usage.estimated)
      const [request] = yield* (yield* AnthropicTestServer.AnthropicTestServer).requests
      assert.strictEqual(request?.body.max_tokens, 4096)
    }).pipe(Effect.provide(AnthropicTestServer.layerModel([Turn.text("hello", { omit: ["usage"] })])))
  )
})
