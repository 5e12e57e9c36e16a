import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted, Schedule, Stream } from "effect"
import { Anthropic, LanguageModel } from "../src/index.ts"
import { consoleCapture, httpServer } from "./fixtures/httpServer.ts"

/** A server that answers every request with `events` (written one by one); `requests` counts them. */
const serve = (events: ReadonlyArray<string>) =>
  httpServer((_, res) => {
    res.writeHead(200, { "content-type": "text/event-stream", "request-id": "req_anthropic_malformed" })
    for (const event of events) res.write(event)
    res.end()
  })

const event = (name: string, data: unknown) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`

const messageStart = event("message_start", {
  type: "message_start",
  message: {
    id: "msg_1",
    type: "message",
    role: "assistant",
    model: "claude-test",
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: { input_tokens: 3, output_tokens: 0 }
  }
})
const blockStart = event("content_block_start", {
  type: "content_block_start",
  index: 0,
  content_block: { type: "text", text: "" }
})
const delta = (text: string) =>
  event("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text } })
const ending = [
  event("content_block_stop", { type: "content_block_stop", index: 0 }),
  event("message_delta", {
    type: "message_delta",
    delta: { stop_reason: "end_turn", stop_sequence: null },
    usage: { output_tokens: 2 }
  }),
  event("message_stop", { type: "message_stop" })
]

const model = (url: string) =>
  Anthropic.layer({ apiKey: Redacted.make("k"), baseUrl: url, model: "claude-test" }, { retry: Schedule.recurs(2) })

const { printed, capture } = consoleCapture()

describe("an Anthropic stream", () => {
  it.live(
    "an event that is not JSON: MalformedResponse showing it, with the request id, not retried, nothing printed",
    () =>
      Effect.gen(function* () {
        const bad = `{"type": "content_block_delta", "delta": ${"x".repeat(400)}`
        const { url, requests } = yield* serve([
          messageStart,
          blockStart,
          delta("hi"),
          `event: content_block_delta\ndata: ${bad}\n\n`,
          ...ending
        ])
        capture()
        const error = yield* Effect.flip(
          LanguageModel.stream({ prompt: "hi" }).pipe(Stream.runDrain, Effect.provide(model(url)))
        )
        assert.strictEqual(error._tag, "MalformedResponse", String(error))
        assert.include(error.message, '{\\"type\\": \\"content_block_delta\\", \\"delta\\": xxx')
        assert.include(error.message, "…")
        assert.isBelow(error.message.length, 400)
        assert.strictEqual((error as { requestId?: string }).requestId, "req_anthropic_malformed")
        assert.strictEqual(requests(), 1)
        assert.deepStrictEqual(printed, [])
      }).pipe(Effect.scoped)
  )

  it.live("events split across reads, CRLF line ends, comments and pings are read", () =>
    Effect.gen(function* () {
      const whole = [
        ": a comment\r\n",
        messageStart.replaceAll("\n", "\r\n"),
        'event: ping\ndata: {"type": "ping"}\n\n',
        blockStart.replaceAll("\n", "\r"),
        delta("hel"),
        delta("lo"),
        ...ending
      ].join("")
      // one character per write: every line end and every character split across reads
      const { url } = yield* serve([...whole])
      const events = yield* LanguageModel.stream({ prompt: "hi" }).pipe(Stream.runCollect, Effect.provide(model(url)))
      const text = events.flatMap((e) => (e._tag === "TextDelta" ? [e.delta] : [])).join("")
      assert.strictEqual(text, "hello")
    }).pipe(Effect.scoped)
  )

  it.live("an error event is classified by its type (overloaded: a retried ServerError), nothing printed", () =>
    Effect.gen(function* () {
      const { url, requests } = yield* serve([
        messageStart,
        event("error", { type: "error", error: { type: "overloaded_error", message: "Overloaded" } })
      ])
      capture()
      const error = yield* Effect.flip(
        LanguageModel.stream({ prompt: "hi" }).pipe(Stream.runDrain, Effect.provide(model(url)))
      )
      assert.strictEqual(error._tag, "ServerError", String(error))
      assert.include(error.message, "Overloaded")
      assert.strictEqual(requests(), 3)
      assert.deepStrictEqual(printed, [])
    }).pipe(Effect.scoped)
  )
})
