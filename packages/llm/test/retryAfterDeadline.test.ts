/**
 * A 429 whose `retry-after` lies beyond the call's overall deadline (a daily limit: "retry after 1 hour"):
 * waiting cannot help, so the call fails at once with the `RateLimited` (its `retryAfter` says how long),
 * rather than sleeping to the deadline and failing with a `TimedOut` that hides the rate limit.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Stream } from "effect"
import { LanguageModel, OpenAiTestServer, Turn } from "../src/index.ts"

const limited = (api: "responses" | "chat") =>
  OpenAiTestServer.layerModel([Turn.error(429, { retryAfter: "1 hour" }), Turn.text("never")], {
    api,
    timeouts: { overall: "20 seconds" }
  })

describe("a retry-after beyond the overall deadline", () => {
  it.live("fails a call at once with RateLimited, its retry-after kept", () =>
    Effect.gen(function* () {
      const started = Date.now()
      const error = yield* Effect.flip(LanguageModel.generate({ prompt: "hi" }))
      assert.strictEqual(error._tag, "RateLimited")
      assert.isBelow(Date.now() - started, 10_000)
      assert.strictEqual(
        error._tag === "RateLimited" && error.retryAfter !== undefined && Duration.toMillis(error.retryAfter),
        3_600_000
      )
      assert.strictEqual((yield* (yield* OpenAiTestServer.OpenAiTestServer).requests).length, 1)
    }).pipe(Effect.provide(limited("responses")))
  )

  it.live("fails a stream at once with RateLimited", () =>
    Effect.gen(function* () {
      const started = Date.now()
      const error = yield* Effect.flip(Stream.runDrain(LanguageModel.stream({ prompt: "hi" })))
      assert.strictEqual(error._tag, "RateLimited")
      assert.isBelow(Date.now() - started, 10_000)
      assert.strictEqual((yield* (yield* OpenAiTestServer.OpenAiTestServer).requests).length, 1)
    }).pipe(Effect.provide(limited("chat")))
  )
})
