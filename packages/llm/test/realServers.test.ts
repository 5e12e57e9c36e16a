/**
 * What real OpenAI-compatible servers do, played by the test server, and what the client makes of it: the
 * findings of issue 16, each kept fixed by a test here.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted, Schedule, Schema, Stream } from "effect"
import {
  Budget,
  LanguageModel,
  type LlmError,
  type Message,
  OpenAi,
  OpenAiTestServer,
  ScriptedModel,
  Tool,
  ToolLoop,
  Turn
} from "../src/index.ts"

const apis = ["responses", "chat"] as const
const quick = (times: number) => Schedule.spaced("1 millis").pipe(Schedule.upTo({ times }))

const weather = Tool.make("weather", {
  description: "Current temperature in a city",
  parameters: Schema.Struct({ city: Schema.String }),
  success: Schema.Struct({ celsius: Schema.Finite }),
  handler: ({ city }) => Effect.succeed({ celsius: city === "Oslo" ? 3 : 21 })
})

describe("1. a retry budget is a budget of requests", () => {
  for (const api of apis) {
    it.live(
      `a stream failing after an event that carries no output is retried 3 times, not until the deadline (${api})`,
      () =>
        Effect.gen(function* () {
          const server = yield* OpenAiTestServer.OpenAiTestServer
          const error = yield* Effect.flip(Stream.runDrain(LanguageModel.stream({ prompt: "hi" })))
          assert.strictEqual(error._tag, "ServerError")
          assert.strictEqual((yield* server.requests).length, 4)
        }).pipe(
          Effect.provide(
            OpenAiTestServer.layerModel(() => Turn.text("never", { streamError: { after: 0, code: "server_error" } }), {
              api,
              retry: quick(3),
              timeouts: { overall: "3 seconds" }
            })
          )
        )
    )
  }

  it.live("a 429 without retry-after backs off by the schedule, within its budget", () =>
    Effect.gen(function* () {
      const server = yield* OpenAiTestServer.OpenAiTestServer
      const error = yield* Effect.flip(LanguageModel.generate({ prompt: "hi" }))
      assert.strictEqual(error._tag === "RateLimited" && error.retryAfter, undefined)
      const requests = yield* server.requests
      assert.strictEqual(requests.length, 3)
      const gaps = requests.slice(1).map((r, i) => r.receivedAt - requests[i]!.receivedAt)
      assert.isAtLeast(gaps[0]!, 45)
      assert.isAtLeast(gaps[1]!, 95)
    }).pipe(
      Effect.provide(
        OpenAiTestServer.layerModel(() => Turn.error(429), {
          api: "chat",
          retry: Schedule.exponential("50 millis").pipe(Schedule.upTo({ times: 2 }))
        })
      )
    )
  )
})

describe("2. errors inside a stream are classified by their code", () => {
  const cases: ReadonlyArray<readonly [Turn.StreamErrorSpec, LlmError.LlmError["_tag"], boolean]> = [
    [{ code: "context_length_exceeded" }, "BadRequest", false],
    [{ code: "invalid_prompt", event: "response.failed" }, "BadRequest", false],
    [{ code: 400 }, "BadRequest", false],
    [{ code: "invalid_api_key" }, "AuthenticationFailed", false],
    [{ code: "model_not_found" }, "NotFound", false],
    [{ code: "rate_limit_exceeded" }, "RateLimited", true],
    [{ code: "insufficient_quota" }, "RateLimited", false],
    [{ code: "server_error", event: "response.failed" }, "ServerError", true],
    [{ code: 503 }, "ServerError", true]
  ]
  const turns = cases.map(([streamError]) => Turn.text("never", { streamError }))
  const backends: ReadonlyArray<readonly [string, Layer.Layer<LanguageModel.LanguageModel>]> = [
    ["scripted", ScriptedModel.layer(turns, { retry: Schedule.recurs(0) })],
    ...apis.map((api) => [api, OpenAiTestServer.layerModel(turns, { api, retry: Schedule.recurs(0) })] as const)
  ]
  for (const [name, layer] of backends) {
    it.effect(`streamed errors become the same typed errors as HTTP statuses (${name})`, () =>
      Effect.gen(function* () {
        for (const [spec, tag, retryable] of cases) {
          const error = yield* Effect.flip(Stream.runDrain(LanguageModel.stream({ prompt: "hi" })))
          assert.strictEqual(error._tag, tag, `code ${spec.code}`)
          assert.strictEqual(error.retryable, retryable, `code ${spec.code} retryable`)
          if (error._tag === "BadRequest" && typeof spec.code === "string") assert.strictEqual(error.code, spec.code)
        }
      }).pipe(Effect.provide(layer))
    )
  }

  for (const api of apis) {
    it.effect(`context_length_exceeded in a stream is asked once, as when not streamed (${api})`, () =>
      Effect.gen(function* () {
        const server = yield* OpenAiTestServer.OpenAiTestServer
        const streamed = yield* Effect.flip(Stream.runDrain(LanguageModel.stream({ prompt: "hi" })))
        const whole = yield* Effect.flip(LanguageModel.generate({ prompt: "hi" }))
        assert.deepStrictEqual([streamed._tag, whole._tag], ["BadRequest", "BadRequest"])
        assert.strictEqual((yield* server.requests).length, 2)
      }).pipe(
        Effect.provide(
          OpenAiTestServer.layerModel(
            () => Turn.text("never", { streamError: { code: "context_length_exceeded", after: 0 } }),
            { api, retry: quick(3) }
          )
        )
      )
    )
  }
})

describe("3. max_tokens or max_completion_tokens, and budgets on what was produced", () => {
  const long = "word ".repeat(800) // 4000 characters: 1000 output tokens by the server's count

  it.effect("a compatible server gets max_tokens, which it honours", () =>
    Effect.gen(function* () {
      const server = yield* OpenAiTestServer.OpenAiTestServer
      const error = yield* Effect.flip(LanguageModel.generate({ prompt: "hi", maxOutputTokens: 40 }))
      assert.strictEqual(error._tag, "Truncated")
      assert.strictEqual(error._tag === "Truncated" && error.usage.outputTokens, 40)
      const [request] = yield* server.requests
      assert.strictEqual(request?.body.max_tokens, 40)
      assert.notProperty(request?.body, "max_completion_tokens")
    }).pipe(
      Effect.provide(OpenAiTestServer.layerModel([Turn.text(long)], { api: "chat", ignore: ["max_completion_tokens"] }))
    )
  )

  it.effect("OpenAI's own URL gets max_completion_tokens; a setting per model chooses otherwise", () =>
    Effect.gen(function* () {
      const bodies: Array<Record<string, unknown>> = []
      const fetch = (_url: string | URL | Request, init?: RequestInit) => {
        bodies.push(JSON.parse(String(init?.body)))
        return Promise.resolve(new Response("{}", { status: 500 }))
      }
      const openai = yield* OpenAi.make(
        { apiKey: Redacted.make("k"), model: "gpt-test", api: "chat" },
        { fetch, retry: Schedule.recurs(0) }
      )
      const local = yield* OpenAi.make(
        {
          apiKey: Redacted.make("k"),
          baseUrl: "http://127.0.0.1:9/v1",
          model: "llama",
          api: "chat",
          models: { "o4-proxy": { maxTokensField: "max_completion_tokens" } }
        },
        { fetch, retry: Schedule.recurs(0) }
      )
      yield* Effect.flip(openai.generate({ prompt: "hi", maxOutputTokens: 7 }))
      yield* Effect.flip(local.generate({ prompt: "hi", maxOutputTokens: 8 }))
      yield* Effect.flip(local.generate({ prompt: "hi", maxOutputTokens: 9, model: "o4-proxy-2026" }))
      assert.deepStrictEqual(
        bodies.map((b) => [b.max_tokens, b.max_completion_tokens]),
        [
          [undefined, 7],
          [8, undefined],
          [undefined, 9]
        ]
      )
    })
  )

  it.effect("a call that sets no max output tokens may produce what is left of its budget, no more", () =>
    Effect.gen(function* () {
      const server = yield* OpenAiTestServer.OpenAiTestServer
      const error = yield* Effect.flip(LanguageModel.generate({ prompt: "hi" }))
      assert.strictEqual(error._tag, "Truncated")
      const [request] = yield* server.requests
      // the limit sent is what is left after the estimated input ("hi": 5 tokens); the server counts 10
      assert.strictEqual(request?.body.max_tokens, 95)
      assert.strictEqual((yield* Budget.spent).tokens, 10 + 95)
    }).pipe(
      Effect.provide(
        Layer.mergeAll(
          OpenAiTestServer.layerModel([Turn.text(long)], { api: "chat", ignore: ["max_completion_tokens"] }),
          Budget.layer({ maxTokens: 100 })
        )
      )
    )
  )

  for (const api of apis) {
    it.effect(`a stream from a server that ignores every limit is cut, and charged what it produced (${api})`, () =>
      Effect.gen(function* () {
        const server = yield* OpenAiTestServer.OpenAiTestServer
        const error = yield* Effect.flip(Stream.runDrain(LanguageModel.stream({ prompt: "hi", maxOutputTokens: 40 })))
        assert.strictEqual(error._tag, "Truncated")
        const usage = error._tag === "Truncated" ? error.usage : undefined
        assert.isTrue(usage?.estimated)
        assert.isAtLeast(usage?.outputTokens ?? 0, 40)
        // cut as soon as the output passes twice the limit and 16 tokens: one delta (8 bytes, 2 tokens) past
        assert.isAtMost(usage?.outputTokens ?? 0, 2 * 40 + 16 + 2)
        const spent = yield* Budget.spent
        assert.strictEqual(spent.tokens, (usage?.inputTokens ?? 0) + (usage?.outputTokens ?? 0))
        yield* server.awaitAbort(0)
      }).pipe(
        Effect.provide(
          Layer.mergeAll(
            OpenAiTestServer.layerModel([Turn.text(long, { chunkSize: 8, interval: "2 millis" })], {
              api,
              ignore: ["max_tokens", "max_completion_tokens", "max_output_tokens"]
            }),
            Budget.layer({ maxTokens: 10_000 })
          )
        )
      )
    )
  }
})

describe("4. tool calls of partial shapes", () => {
  const loop = ToolLoop.run({ prompt: "Coat in Oslo?", tools: [weather] })
  for (const [what, omit, stream] of [
    ["without type", ["tool-call-type"], false],
    ["without index", ["tool-call-index"], true],
    ["without type or index", ["tool-call-type", "tool-call-index"], true]
  ] as const) {
    it.effect(`a tool call ${what} is understood (chat${stream ? ", streamed" : ""})`, () =>
      Effect.gen(function* () {
        const result = yield* stream
          ? ToolLoop.run({ prompt: "Coat?", tools: [weather], onEvent: () => Effect.void })
          : loop
        assert.strictEqual(result.text, "Yes.")
        const toolResults = result.transcript.filter((m): m is Message.ToolResult => m._tag === "ToolResult")
        assert.deepStrictEqual(
          toolResults.map((r) => r.output),
          ['{"celsius":3}', '{"celsius":21}']
        )
      }).pipe(
        Effect.provide(
          OpenAiTestServer.layerModel(
            [
              Turn.toolCalls(
                [
                  { name: "weather", arguments: { city: "Oslo" } },
                  { name: "weather", arguments: { city: "Rome" } }
                ],
                { omit }
              ),
              Turn.text("Yes.")
            ],
            { api: "chat" }
          )
        )
      )
    )
  }

  for (const stream of [false, true]) {
    it.effect(`a tool call without a name is refused with a typed error${stream ? " (streamed)" : ""}`, () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(
          stream ? ToolLoop.run({ prompt: "Coat?", tools: [weather], onEvent: () => Effect.void }) : loop
        )
        assert.strictEqual(error._tag, "MalformedResponse")
        assert.include(error.message, "name")
        assert.isFalse(error.retryable)
      }).pipe(
        Effect.provide(
          OpenAiTestServer.layerModel(
            [Turn.toolCall("weather", { city: "Oslo" }, { omit: ["tool-call-name", "tool-call-index"] })],
            { api: "chat" }
          )
        )
      )
    )
  }
})

describe("5. no usage, an estimate", () => {
  for (const api of apis) {
    it.effect(`an answer without usage is charged an estimate, marked as such (${api})`, () =>
      Effect.gen(function* () {
        const text = "x".repeat(400)
        const whole = yield* LanguageModel.generate({ prompt: "y".repeat(200) })
        const streamed = yield* Stream.runCollect(LanguageModel.stream({ prompt: "y".repeat(200) }))
        const last = streamed.at(-1)
        for (const response of [whole, last?._tag === "Completed" ? last.response : undefined]) {
          assert.strictEqual(response?.text, text)
          assert.isTrue(response?.usage.estimated)
          assert.strictEqual(response?.usage.outputTokens, 100) // 400 bytes / 4
          assert.isAtLeast(response?.usage.inputTokens ?? 0, 50) // 200 bytes / 4, and the framing
        }
        assert.isAtLeast((yield* Budget.spent).tokens, 300)
      }).pipe(
        Effect.provide(
          Layer.mergeAll(
            OpenAiTestServer.layerModel(() => Turn.text("x".repeat(400), { omit: ["usage"] }), { api }),
            Budget.layer({ maxTokens: 10_000 })
          )
        )
      )
    )
  }

  it.effect("a chat server that ignores stream_options sends no usage: estimated too", () =>
    Effect.gen(function* () {
      const events = yield* Stream.runCollect(LanguageModel.stream({ prompt: "hi" }))
      const last = events.at(-1)
      assert.isTrue(last?._tag === "Completed" && last.response.usage.estimated)
    }).pipe(
      Effect.provide(OpenAiTestServer.layerModel([Turn.text("hello")], { api: "chat", ignore: ["stream_options"] }))
    )
  )

  it.effect("reported usage is not marked estimated", () =>
    Effect.gen(function* () {
      const response = yield* LanguageModel.generate({ prompt: "hi" })
      assert.notProperty(response.usage, "estimated")
    }).pipe(Effect.provide(OpenAiTestServer.layerModel([Turn.text("hello")], { api: "chat" })))
  )
})

describe("6. Responses replay keeps item ids and reasoning", () => {
  const reasoning = { summary: ["Oslo is cold in winter."], encryptedContent: "gAAAA-sealed-0" }
  const script = [
    Turn.toolCall("weather", { city: "Oslo" }, { reasoning }),
    Turn.text("Yes, take a coat.", { reasoning: { summary: [], encryptedContent: "gAAAA-sealed-1" } }),
    Turn.text("You're welcome.")
  ]
  const conversation = Effect.gen(function* () {
    const server = yield* OpenAiTestServer.OpenAiTestServer
    const first = yield* ToolLoop.run({ prompt: "Coat in Oslo?", tools: [weather] })
    const second = yield* ToolLoop.run({ prompt: [...first.transcript, { _tag: "User", text: "Thanks" }] })
    assert.strictEqual(second.text, "You're welcome.")
    const requests = yield* server.requests
    return requests.map((r) => r.messages)
  })

  it.effect("a tool loop and the next turn replay reasoning, function calls and messages with their ids", () =>
    Effect.gen(function* () {
      const [, secondRequest, thirdRequest] = yield* conversation
      assert.deepInclude(secondRequest, { _tag: "Reasoning", id: "rs_0", summary: reasoning.summary })
      assert.deepInclude(secondRequest, {
        _tag: "ToolCall",
        id: "call_0_0",
        name: "weather",
        arguments: '{"city":"Oslo"}',
        itemId: "fc_0_0"
      })
      assert.deepInclude(thirdRequest, { _tag: "Assistant", text: "Yes, take a coat.", itemId: "msg_1" })
    }).pipe(Effect.provide(OpenAiTestServer.layerModel(script)))
  )

  it.effect("with store: false, encrypted reasoning is asked for and replayed", () =>
    Effect.gen(function* () {
      const [firstRequest, secondRequest, thirdRequest] = yield* conversation
      assert.isDefined(firstRequest)
      assert.deepInclude(secondRequest, { _tag: "Reasoning", id: "rs_0", ...reasoning })
      assert.deepInclude(thirdRequest, {
        _tag: "Reasoning",
        id: "rs_1",
        summary: [],
        encryptedContent: "gAAAA-sealed-1"
      })
    }).pipe(Effect.provide(OpenAiTestServer.layerModel(script, { config: { store: false } })))
  )

  it.effect("streamed answers keep them too", () =>
    Effect.gen(function* () {
      const server = yield* OpenAiTestServer.OpenAiTestServer
      const first = yield* ToolLoop.run({ prompt: "Coat in Oslo?", tools: [weather], onEvent: () => Effect.void })
      assert.strictEqual(first.text, "Yes, take a coat.")
      const [, second] = yield* server.requests
      assert.deepInclude(second?.messages, { _tag: "Reasoning", id: "rs_0", ...reasoning })
    }).pipe(Effect.provide(OpenAiTestServer.layerModel(script, { config: { store: false } })))
  )
})
