import { assert, describe, it } from "@effect/vitest"
import { Effect, type Layer, Metric, Stream, Tracer } from "effect"
import { LanguageModel, OpenAiTestServer, Pricing, ScriptedModel, Telemetry, Turn, Usage } from "../src/index.ts"

const usage = { inputTokens: 1200, cachedInputTokens: 200, outputTokens: 300, reasoningTokens: 100 }
const prices = { "gpt-test": { input: 2, cachedInput: 0.5, output: 8 } }
// (1000 * 2 + 200 * 0.5 + 300 * 8) / 1e6
const expectedCost = 0.0045

const both = (layer: Layer.Layer<LanguageModel.LanguageModel>) =>
  Effect.gen(function* () {
    const generated = yield* LanguageModel.generate({ prompt: "hi" })
    const streamed = yield* Stream.runCollect(LanguageModel.stream({ prompt: "hi" }))
    const completed = streamed.at(-1)
    return [generated, completed?._tag === "Completed" ? completed.response : undefined] as const
  }).pipe(Pricing.withPrices(prices), Effect.provide(layer))

describe("usage and cost", () => {
  for (const api of ["responses", "chat"] as const) {
    it.effect(`usage is normalised and priced (${api})`, () =>
      Effect.gen(function* () {
        const script = [Turn.text("a", { usage }), Turn.text("b", { usage })]
        for (const response of yield* both(OpenAiTestServer.layerModel(script, { api }))) {
          assert.deepStrictEqual(response?.usage, usage)
          assert.closeTo(response?.cost ?? 0, expectedCost, 1e-12)
        }
      })
    )
  }

  it.effect("the scripted model reports the same usage", () =>
    Effect.gen(function* () {
      const script = [Turn.text("a", { usage }), Turn.text("b", { usage })]
      for (const response of yield* both(ScriptedModel.layer(script, { model: "gpt-test" }))) {
        assert.deepStrictEqual(response?.usage, usage)
        assert.closeTo(response?.cost ?? 0, expectedCost, 1e-12)
      }
    })
  )

  it("the raw usage objects of both APIs normalise alike", () => {
    assert.deepStrictEqual(
      Usage.fromResponses({
        input_tokens: 1200,
        input_tokens_details: { cached_tokens: 200 },
        output_tokens: 300,
        output_tokens_details: { reasoning_tokens: 100 }
      }),
      usage
    )
    assert.deepStrictEqual(
      Usage.fromChat({
        prompt_tokens: 1200,
        completion_tokens: 300,
        prompt_tokens_details: { cached_tokens: 200 },
        completion_tokens_details: { reasoning_tokens: 100 }
      }),
      usage
    )
    assert.deepStrictEqual(
      Usage.fromChat({ prompt_tokens: 5, completion_tokens: 7 }),
      Usage.make({ inputTokens: 5, outputTokens: 7 })
    )
    assert.isUndefined(Usage.fromResponses(undefined))
    assert.isUndefined(Usage.fromChat(null))
  })

  it("a model is priced by exact name, else by its longest known prefix", () => {
    const table = { "gpt-4.1": { input: 2, output: 8 }, "gpt-4.1-mini": { input: 0.4, output: 1.6 } }
    assert.strictEqual(Pricing.priceOf(table, "gpt-4.1-mini-2025-04-14")?.input, 0.4)
    assert.strictEqual(Pricing.priceOf(table, "gpt-4.1-2025-04-14")?.input, 2)
    assert.isUndefined(Pricing.priceOf(table, "llama3"))
    assert.isDefined(Pricing.priceOf(Pricing.examplePrices, "gpt-4o-mini"))
  })
})

describe("telemetry", () => {
  it.effect("metrics per model and agent, and a span with model, tokens and cost", () =>
    Effect.gen(function* () {
      const spans: Array<Tracer.NativeSpan> = []
      const tracer = Tracer.make({
        span: (options) => {
          const span = new Tracer.NativeSpan(options)
          spans.push(span)
          return span
        }
      })
      const attributes = { model: "gpt-test", agent: "planner" }
      const calls = Metric.withAttributes(Telemetry.calls, attributes)
      const before = (yield* Metric.value(calls)).count
      yield* LanguageModel.generate({ prompt: "hi" }).pipe(Telemetry.withAgent("planner"), Effect.withTracer(tracer))
      yield* Effect.flip(LanguageModel.generate({ prompt: "hi" })).pipe(Telemetry.withAgent("planner"))
      assert.strictEqual((yield* Metric.value(calls)).count - before, 2)
      const errors = Metric.withAttributes(Telemetry.errors, { ...attributes, error: "BadRequest" })
      assert.isAtLeast((yield* Metric.value(errors)).count, 1)
      assert.isAtLeast((yield* Metric.value(Metric.withAttributes(Telemetry.outputTokens, attributes))).count, 300)
      assert.isAtLeast((yield* Metric.value(Metric.withAttributes(Telemetry.latency, attributes))).count, 2)
      const span = spans.find((s) => s.name === "chat gpt-test")
      assert.isDefined(span)
      assert.strictEqual(span?.kind, "client")
      const attrs = Object.fromEntries(span!.attributes)
      assert.deepInclude(attrs, {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "scripted",
        "gen_ai.request.model": "gpt-test",
        "gen_ai.response.model": "gpt-test",
        "gen_ai.response.id": "resp_0",
        "gen_ai.output.type": "text",
        "gen_ai.usage.input_tokens": 1200,
        "gen_ai.usage.output_tokens": 300,
        "gen_ai.usage.cache_read.input_tokens": 200,
        "troupe.agent": "planner"
      })
      assert.deepStrictEqual(attrs["gen_ai.response.finish_reasons"], ["stop"])
      assert.closeTo(attrs["troupe.llm.cost_usd"] as number, expectedCost, 1e-12)
    }).pipe(
      Pricing.withPrices(prices),
      Effect.provide(ScriptedModel.layer([Turn.text("a", { usage }), Turn.error(400)], { model: "gpt-test" }))
    )
  )
})
