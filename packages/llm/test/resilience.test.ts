import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Schedule, Schema, Stream } from "effect"
import { TestClock } from "effect/testing"
import { LanguageModel, OpenAiTestServer, ScriptedModel, Tool, ToolLoop, Turn } from "../src/index.ts"

describe("retries", () => {
  it.live("a 429 is retried after its retry-after, then answered (server, real SDK)", () =>
    Effect.gen(function* () {
      const server = yield* OpenAiTestServer.OpenAiTestServer
      const response = yield* LanguageModel.generate({ prompt: "hi" })
      assert.strictEqual(response.text, "finally")
      const [first, second] = yield* server.requests
      assert.isDefined(second)
      // the schedule's own delay is ~10 ms: the gap can only come from retry-after
      assert.isAtLeast(second!.receivedAt - first!.receivedAt, 290)
    }).pipe(
      Effect.provide(
        OpenAiTestServer.layerModel([Turn.error(429, { retryAfter: "300 millis" }), Turn.text("finally")], {
          retry: Schedule.spaced("10 millis").pipe(Schedule.upTo({ times: 2 }))
        })
      )
    )
  )

  it.effect("retry-after is honoured on the clock (scripted, TestClock)", () =>
    Effect.gen(function* () {
      const fiber = yield* Effect.forkChild(LanguageModel.generate({ prompt: "hi" }))
      yield* TestClock.adjust("9 seconds")
      assert.strictEqual((yield* ScriptedModel.requests).length, 1)
      yield* TestClock.adjust("1 second")
      const response = yield* Fiber.join(fiber)
      assert.strictEqual(response.text, "ok")
      assert.strictEqual((yield* ScriptedModel.requests).length, 2)
    }).pipe(Effect.provide(ScriptedModel.layer([Turn.error(429, { retryAfter: "10 seconds" }), Turn.text("ok")])))
  )

  it.effect("errors that are not retryable are not retried", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(LanguageModel.generate({ prompt: "hi" }))
      assert.strictEqual(error._tag, "AuthenticationFailed")
      assert.strictEqual((yield* ScriptedModel.requests).length, 1)
    }).pipe(Effect.provide(ScriptedModel.layer([Turn.error(401), Turn.text("never")])))
  )

  it.live("a stream is retried before its first output, never after", () =>
    Effect.gen(function* () {
      const first = yield* Stream.runCollect(LanguageModel.stream({ prompt: "hi" }))
      assert.strictEqual(first.at(-1)?._tag, "Completed")
      assert.strictEqual((yield* ScriptedModel.requests).length, 2)
      const seen: Array<string> = []
      const error = yield* Effect.flip(
        Stream.runForEach(LanguageModel.stream({ prompt: "again" }), (e) => Effect.sync(() => seen.push(e._tag)))
      )
      assert.strictEqual(error._tag, "ConnectionFailed")
      assert.deepStrictEqual(seen, ["TextDelta"])
      assert.strictEqual((yield* ScriptedModel.requests).length, 3)
    }).pipe(
      Effect.provide(
        ScriptedModel.layer(
          [
            Turn.error(503),
            Turn.text("recovered"),
            Turn.text("hello world", { dropAfter: 1, chunkSize: 5 }),
            Turn.text("must not be asked")
          ],
          { retry: Schedule.spaced("1 millis") }
        )
      )
    )
  )
})

describe("timeouts", () => {
  const noRetry = Schedule.recurs(0)

  it.live("idle: a stream that stalls mid-answer fails, and the request is aborted", () =>
    Effect.gen(function* () {
      const server = yield* OpenAiTestServer.OpenAiTestServer
      const seen: Array<string> = []
      const error = yield* Effect.flip(
        Stream.runForEach(LanguageModel.stream({ prompt: "hi" }), (e) => Effect.sync(() => seen.push(e._tag)))
      )
      assert.strictEqual(error._tag === "TimedOut" && error.phase, "idle")
      assert.deepStrictEqual(seen, ["TextDelta"])
      yield* server.awaitAbort(0)
    }).pipe(
      Effect.provide(
        OpenAiTestServer.layerModel([Turn.text("hello world", { stallAfter: 1, chunkSize: 5 })], {
          retry: noRetry,
          timeouts: { idle: "200 millis" }
        })
      )
    )
  )

  // Each phase's timeout alone is short (the others a minute): on a loaded machine a response head can come later
  // than 150 ms, and a short connect timeout would then rightly fire first in another phase's case.
  const LONG = "1 minute"
  it.live("a stream with no first event times out in the first-event phase", () =>
    Effect.gen(function* () {
      const server = yield* OpenAiTestServer.OpenAiTestServer
      const error = yield* Effect.flip(Stream.runDrain(LanguageModel.stream({ prompt: "a" })))
      assert.strictEqual(error._tag === "TimedOut" && error.phase, "first-event")
      yield* server.awaitAbort(0)
    }).pipe(
      Effect.provide(
        OpenAiTestServer.layerModel([Turn.text("x", { stallAfter: 0 })], {
          retry: noRetry,
          timeouts: { firstEvent: "150 millis", connect: LONG, attempt: LONG }
        })
      )
    )
  )

  it.live("a response head that never comes times out in the connect phase, retryable", () =>
    Effect.gen(function* () {
      const server = yield* OpenAiTestServer.OpenAiTestServer
      const error = yield* Effect.flip(LanguageModel.generate({ prompt: "b" }))
      assert.strictEqual(error._tag === "TimedOut" && error.phase, "connect")
      assert.isTrue(error.retryable)
      yield* server.awaitAbort(0)
    }).pipe(
      Effect.provide(
        OpenAiTestServer.layerModel([Turn.text("x", { delay: "1 hour" })], {
          retry: noRetry,
          timeouts: { connect: "150 millis", attempt: LONG }
        })
      )
    )
  )

  it.live("a body that stalls after its head times out in the attempt phase", () =>
    Effect.gen(function* () {
      const server = yield* OpenAiTestServer.OpenAiTestServer
      const error = yield* Effect.flip(LanguageModel.generate({ prompt: "c" }))
      assert.strictEqual(error._tag === "TimedOut" && error.phase, "attempt")
      yield* server.awaitAbort(0)
    }).pipe(
      Effect.provide(
        OpenAiTestServer.layerModel([Turn.text("x", { stallAfter: 0 })], {
          retry: noRetry,
          timeouts: { connect: LONG, attempt: "300 millis" }
        })
      )
    )
  )

  it.live("a slow stream within its idle timeout completes", () =>
    Effect.gen(function* () {
      const events = yield* Stream.runCollect(LanguageModel.stream({ prompt: "hi" }))
      assert.deepStrictEqual(
        events.map((e) => e._tag),
        ["TextDelta", "TextDelta", "TextDelta", "Completed"]
      )
    }).pipe(
      Effect.provide(
        OpenAiTestServer.layerModel([Turn.text("slow but steady", { chunkSize: 6, interval: "30 millis" })], {
          api: "chat",
          timeouts: { idle: "1 second" }
        })
      )
    )
  )

  it.effect("overall: retries stop at the deadline (TestClock)", () =>
    Effect.gen(function* () {
      const fiber = yield* Effect.forkChild(Effect.flip(LanguageModel.generate({ prompt: "hi" })))
      yield* TestClock.adjust("5 seconds")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag === "TimedOut" && error.phase, "overall")
      assert.isFalse(error.retryable)
      assert.strictEqual((yield* ScriptedModel.requests).length, 5)
    }).pipe(
      Effect.provide(
        ScriptedModel.layer(() => Turn.error(500), {
          retry: Schedule.spaced("1 second"),
          timeouts: { overall: "4500 millis" }
        })
      )
    )
  )
})

describe("cancellation", () => {
  it.effect("interrupting a stream aborts the HTTP request (the server sees it)", () =>
    Effect.gen(function* () {
      const server = yield* OpenAiTestServer.OpenAiTestServer
      const started = yield* Deferred.make<void>()
      const fiber = yield* Effect.forkChild(
        Stream.runForEach(LanguageModel.stream({ prompt: "hi" }), () => Deferred.succeed(started, undefined))
      )
      yield* Deferred.await(started)
      yield* Fiber.interrupt(fiber)
      yield* server.awaitAbort(0)
      assert.deepStrictEqual(yield* server.aborted, [0])
    }).pipe(Effect.provide(OpenAiTestServer.layerModel([Turn.text("hello world", { stallAfter: 1 })], { api: "chat" })))
  )

  it.effect("interrupting a call waiting for the response head aborts the request", () =>
    Effect.gen(function* () {
      const server = yield* OpenAiTestServer.OpenAiTestServer
      const fiber = yield* Effect.forkChild(LanguageModel.generate({ prompt: "hi" }))
      yield* server.awaitRequests(1)
      yield* Fiber.interrupt(fiber)
      yield* server.awaitAbort(0)
    }).pipe(Effect.provide(OpenAiTestServer.layerModel([Turn.text("late", { delay: "1 hour" })])))
  )

  it.effect("interrupting a tool loop reaches the running tools", () =>
    Effect.gen(function* () {
      const running = yield* Deferred.make<void>()
      const interrupted = yield* Deferred.make<void>()
      const slow = Tool.make("slow", {
        description: "Never finishes",
        parameters: Schema.Struct({}),
        success: Schema.String,
        handler: () =>
          Deferred.succeed(running, undefined).pipe(
            Effect.andThen(Effect.never),
            Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))
          )
      })
      const fiber = yield* Effect.forkChild(ToolLoop.run({ prompt: "go", tools: [slow] }))
      yield* Deferred.await(running)
      yield* Fiber.interrupt(fiber)
      yield* Deferred.await(interrupted)
    }).pipe(Effect.provide(ScriptedModel.layer([Turn.toolCall("slow", {})])))
  )
})
