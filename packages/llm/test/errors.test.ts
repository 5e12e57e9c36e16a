import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Layer, Redacted, Schedule, Stream } from "effect"
import { LanguageModel, type LlmError, OpenAi, OpenAiTestServer, ScriptedModel, Turn } from "../src/index.ts"
import { fromStatus, retryAfterFromHeaders } from "../src/internal/errors.ts"

const noRetry = { retry: Schedule.recurs(0) }

/** Each backend, answering with the given turns and never retrying. */
const backends = (
  turns: ReadonlyArray<Turn.Turn>
): ReadonlyArray<readonly [string, Layer.Layer<LanguageModel.LanguageModel>]> => [
  ["scripted", ScriptedModel.layer(turns, noRetry)],
  ["responses", OpenAiTestServer.layerModel(turns, { ...noRetry, api: "responses" })],
  ["chat", OpenAiTestServer.layerModel(turns, { ...noRetry, api: "chat" })]
]

const statusCases: ReadonlyArray<readonly [Turn.ErrorSpec, LlmError.LlmError["_tag"], boolean]> = [
  [{ status: 400, code: "invalid_value" }, "BadRequest", false],
  [{ status: 401 }, "AuthenticationFailed", false],
  [{ status: 403 }, "PermissionDenied", false],
  [{ status: 404, message: "The model `nope` does not exist" }, "NotFound", false],
  [{ status: 408 }, "ServerError", true],
  [{ status: 409 }, "ServerError", true],
  [{ status: 413 }, "BadRequest", false],
  [{ status: 422 }, "BadRequest", false],
  [{ status: 429, retryAfter: "2 seconds" }, "RateLimited", true],
  [{ status: 429, code: "insufficient_quota" }, "RateLimited", false],
  [{ status: 400, code: "content_filter" }, "ContentFiltered", false],
  [{ status: 500 }, "ServerError", true],
  [{ status: 503 }, "ServerError", true]
]

describe("error mapping", () => {
  for (const [name, layer] of backends(statusCases.map(([error]) => ({ error })))) {
    it.effect(`HTTP statuses to typed errors (${name})`, () =>
      Effect.gen(function* () {
        for (const [spec, tag, retryable] of statusCases) {
          const error = yield* Effect.flip(LanguageModel.generate({ prompt: "hi" }))
          assert.strictEqual(error._tag, tag, `status ${spec.status}`)
          assert.strictEqual(error.retryable, retryable, `status ${spec.status} retryable`)
          if (spec.message) assert.include(error.message, spec.message)
          if (error._tag === "RateLimited" && spec.retryAfter) {
            assert.strictEqual(Duration.toMillis(error.retryAfter!), 2000)
          }
          if (error._tag === "BadRequest" && spec.code) assert.strictEqual(error.code, spec.code)
        }
      }).pipe(Effect.provide(layer))
    )
  }

  const finishes: ReadonlyArray<Turn.Turn> = [
    Turn.text("partial", { finish: "length" }),
    Turn.text("bad", { finish: "content-filter" }),
    { refusal: "I cannot help with that." },
    Turn.text("partial", { finish: "length" }),
    Turn.text("bad", { finish: "content-filter" }),
    { refusal: "I cannot help with that." },
    Turn.text("hello world", { dropAfter: 1, chunkSize: 5 }),
    Turn.text("hello", { dropAfter: 0 })
  ]
  for (const [name, layer] of backends(finishes)) {
    it.effect(`truncation, filtering, refusal and dropped connections (${name})`, () =>
      Effect.gen(function* () {
        const viaGenerate = yield* Effect.forEach([1, 2, 3], () =>
          Effect.flip(LanguageModel.generate({ prompt: "hi" }))
        )
        const viaStream = yield* Effect.forEach([1, 2, 3, 4, 5], () =>
          Effect.flip(Stream.runDrain(LanguageModel.stream({ prompt: "hi" })))
        )
        for (const errors of [viaGenerate, viaStream]) {
          const [truncated, filtered, refused] = errors
          assert.strictEqual(truncated?._tag, "Truncated")
          assert.strictEqual(truncated?._tag === "Truncated" && truncated.partialText, "partial")
          assert.strictEqual(filtered?._tag, "ContentFiltered")
          assert.strictEqual(refused?._tag === "Refused" && refused.refusal, "I cannot help with that.")
          assert.isTrue(errors.slice(0, 3).every((e) => !e.retryable))
        }
        assert.deepStrictEqual(
          viaStream.slice(3).map((e) => [e._tag, e.retryable]),
          [
            ["ConnectionFailed", true],
            ["ConnectionFailed", true]
          ]
        )
      }).pipe(Effect.provide(layer))
    )
  }

  it.effect("an answer of an unexpected shape is a ServerError, not a defect", () =>
    Effect.gen(function* () {
      const bodies = { responses: '{"id":"r","output":5}', chat: '{"id":"c"}' }
      for (const api of ["responses", "chat"] as const) {
        const fetch = () =>
          Promise.resolve(new Response(bodies[api], { status: 200, headers: { "content-type": "application/json" } }))
        const model = yield* OpenAi.make(
          { apiKey: Redacted.make("k"), model: "m", api, baseUrl: "http://127.0.0.1:9/v1" },
          { fetch, retry: Schedule.recurs(0) }
        )
        const error = yield* Effect.flip(model.generate({ prompt: "hi" }))
        assert.strictEqual(error._tag, "ServerError")
        assert.include(error.message, "unexpected shape")
      }
    })
  )

  it("errors reported inside a stream are classified by their code", () => {
    assert.strictEqual(fromStatus(undefined, { message: "slow down", code: "rate_limit_exceeded" })._tag, "RateLimited")
    assert.strictEqual(fromStatus(undefined, { message: "oops", code: "server_error" })._tag, "ServerError")
    assert.isFalse(fromStatus(undefined, { message: "no money", code: "insufficient_quota" }).retryable)
  })

  it("retry-after: milliseconds first, then seconds or an HTTP date", () => {
    const now = Date.parse("2026-01-01T00:00:00Z")
    const of = (headers: Record<string, string>) => retryAfterFromHeaders(new Headers(headers), now)
    assert.strictEqual(Duration.toMillis(of({ "retry-after-ms": "250", "retry-after": "9" })!), 250)
    assert.strictEqual(Duration.toMillis(of({ "retry-after": "1.5" })!), 1500)
    assert.strictEqual(Duration.toMillis(of({ "retry-after": "Thu, 01 Jan 2026 00:00:03 GMT" })!), 3000)
    assert.isUndefined(of({ "retry-after": "soon-ish" }))
    assert.isUndefined(of({}))
  })
})

describe("the test server", () => {
  it.effect("answers unknown routes and bad bodies with OpenAI-shaped errors", () =>
    Effect.gen(function* () {
      const server = yield* OpenAiTestServer.make([])
      const notFound = yield* Effect.promise(() => fetch(`${server.url}/embeddings`, { method: "POST", body: "{}" }))
      assert.strictEqual(notFound.status, 404)
      const badBody = yield* Effect.promise(() => fetch(`${server.url}/responses`, { method: "POST", body: "{" }))
      assert.strictEqual(badBody.status, 400)
      const body = yield* Effect.promise(() => badBody.json() as Promise<{ error: { type: string } }>)
      assert.strictEqual(body.error.type, "invalid_request_error")
      const exhausted = yield* Effect.promise(() =>
        fetch(`${server.url}/responses`, { method: "POST", body: '{"model":"m","input":"hi"}' })
      )
      assert.strictEqual(exhausted.status, 500)
    })
  )

  it.effect("a scripted model with no turn left is a defect naming the request", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(LanguageModel.generate({ prompt: "hi" }))
      assert.isTrue(exit._tag === "Failure" && String(exit.cause).includes("no turn for request #0"))
    }).pipe(Effect.provide(Layer.fresh(ScriptedModel.layer([]))))
  )
})
