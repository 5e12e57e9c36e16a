import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Schedule, Stream } from "effect"
import { Budget, LanguageModel, Pricing, ScriptedModel, Turn } from "../src/index.ts"

const prices = Pricing.layer({ "priced-model": { input: 1, output: 10 } })

describe("budgets", () => {
  it.effect("refuses a call that would exceed the token budget, before sending it", () =>
    Effect.gen(function* () {
      // 10 input + 25 output tokens
      yield* LanguageModel.generate({ prompt: "hi", maxOutputTokens: 50 })
      assert.deepStrictEqual(yield* Budget.spent, { tokens: 35, cost: 0, calls: 1 })
      // 35 spent + 70 requested > 100
      const refused = yield* Effect.flip(LanguageModel.generate({ prompt: "more", maxOutputTokens: 70 }))
      assert.strictEqual(refused._tag, "BudgetExceeded")
      assert.deepStrictEqual(
        refused._tag === "BudgetExceeded" && [refused.limit, refused.max, refused.spent, refused.requested],
        ["tokens", 100, 35, 70]
      )
      assert.isFalse(refused.retryable)
      assert.strictEqual((yield* ScriptedModel.requests).length, 1)
      // 35 + 60 fits
      yield* LanguageModel.generate({ prompt: "less", maxOutputTokens: 60 })
      assert.strictEqual((yield* Budget.spent).tokens, 70)
    }).pipe(
      Effect.provide(
        Layer.mergeAll(
          ScriptedModel.layer(() => Turn.text("x".repeat(100))),
          Budget.layer({ maxTokens: 100 })
        )
      )
    )
  )

  it.effect("refuses by cost, priced by the price table, streams included", () =>
    Effect.gen(function* () {
      // 1000 in, 1000 out at $1/$10 per million = $0.011
      const events = yield* Stream.runCollect(LanguageModel.stream({ prompt: "hi", maxOutputTokens: 1000 }))
      const completed = events.at(-1)
      assert.strictEqual(completed?._tag === "Completed" && completed.response.cost, 0.011)
      const spent = yield* Budget.spent
      assert.closeTo(spent.cost, 0.011, 1e-12)
      // 0.011 spent + 1000 * $10/M = 0.021 > 0.02
      const refused = yield* Effect.flip(Stream.runDrain(LanguageModel.stream({ prompt: "x", maxOutputTokens: 1000 })))
      assert.strictEqual(refused._tag === "BudgetExceeded" && refused.limit, "cost")
      assert.strictEqual((yield* ScriptedModel.requests).length, 1)
    }).pipe(
      Effect.provide(
        Layer.mergeAll(
          ScriptedModel.layer(() => Turn.text("ok", { usage: { inputTokens: 1000, outputTokens: 1000 } }), {
            model: "priced-model"
          }),
          Budget.layer({ maxCost: 0.02 }),
          prices
        )
      )
    )
  )

  it.effect("a cost limit refuses models without a price", () =>
    Effect.gen(function* () {
      const refused = yield* Effect.flip(LanguageModel.generate({ prompt: "hi" }))
      assert.strictEqual(refused._tag === "BudgetExceeded" && refused.limit, "cost")
      assert.include(refused.message, "no price")
    }).pipe(Effect.provide(Layer.mergeAll(ScriptedModel.layer([Turn.text("x")]), Budget.layer({ maxCost: 1 }), prices)))
  )

  it.effect("calls in flight hold their reservation", () =>
    Effect.gen(function* () {
      const model = yield* LanguageModel.LanguageModel
      const slow = yield* Effect.forkChild(model.generate({ prompt: "slow", maxOutputTokens: 60 }))
      // the slow call has reserved its 60 tokens once the model received it
      while ((yield* ScriptedModel.requests).length === 0) yield* Effect.yieldNow
      const refused = yield* Effect.flip(model.generate({ prompt: "fast", maxOutputTokens: 60 }))
      assert.strictEqual(refused._tag === "BudgetExceeded" && refused.spent, 60)
      yield* Fiber.interrupt(slow)
      // the reservation is released with the interrupted call
      yield* model.generate({ prompt: "after", maxOutputTokens: 60 })
    }).pipe(
      Effect.provide(
        Layer.mergeAll(
          ScriptedModel.layer([Turn.text("never", { delay: "1 hour" }), Turn.text("ok")]),
          Budget.layer({ maxTokens: 100 })
        )
      )
    )
  )

  it.effect("a retried call reserves once", () =>
    Effect.gen(function* () {
      const response = yield* LanguageModel.generate({ prompt: "hi", maxOutputTokens: 60 })
      assert.strictEqual(response.text, "ok")
      assert.strictEqual((yield* ScriptedModel.requests).length, 2)
    }).pipe(
      Effect.provide(
        Layer.mergeAll(
          ScriptedModel.layer([Turn.error(503), Turn.text("ok")], { retry: Schedule.recurs(1) }),
          Budget.layer({ maxTokens: 100 })
        )
      )
    )
  )

  it.effect("each agent gets its own budget", () =>
    Effect.gen(function* () {
      const a = yield* Budget.make({ maxTokens: 50 })
      const b = yield* Budget.make({ maxTokens: 50 })
      const call = LanguageModel.generate({ prompt: "hi", maxOutputTokens: 30 })
      yield* call.pipe(Effect.provideService(Budget.Budget, a))
      yield* call.pipe(Effect.provideService(Budget.Budget, b))
      assert.strictEqual((yield* a.spent).tokens, 11)
      assert.strictEqual((yield* b.spent).tokens, 11)
    }).pipe(Effect.provide(ScriptedModel.layer(() => Turn.text("hi"))))
  )
})
