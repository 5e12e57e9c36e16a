import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted, Schedule, Stream } from "effect"
import { LanguageModel, OpenAi } from "../src/index.ts"
import { consoleCapture, httpServer } from "./fixtures/httpServer.ts"

/** A server that answers every request with `events`; `requests` counts them. */
const serve = (events: (api: "chat" | "responses") => ReadonlyArray<string>) =>
  Effect.map(
    httpServer((request, res) => {
      res.writeHead(200, { "content-type": "text/event-stream", "x-request-id": "req_malformed" })
      for (const event of events(request.path.endsWith("/responses") ? "responses" : "chat")) res.write(event)
      res.end()
    }),
    (server) => ({ ...server, url: `${server.url}/v1` })
  )

const first = {
  chat: `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { content: "hi" }, finish_reason: null }] })}\n\n`,
  responses: `event: response.created\ndata: ${JSON.stringify({ type: "response.created", sequence_number: 0, response: { id: "r", object: "response", created_at: 1, model: "m", status: "in_progress", output: [] } })}\n\n`
}

const { printed, capture } = consoleCapture()

describe("a stream with an event that is not JSON", () => {
  for (const api of ["chat", "responses"] as const) {
    it.live(`${api}: MalformedResponse showing the event, not retried, nothing printed`, () =>
      Effect.gen(function* () {
        const bad = `{"choices": [{"delta": ${"x".repeat(400)}`
        const { url, requests } = yield* serve((api) => [first[api], `data: ${bad}\n\n`, "data: [DONE]\n\n"])
        capture()
        const error = yield* Effect.flip(
          LanguageModel.stream({ prompt: "hi" }).pipe(
            Stream.runDrain,
            Effect.provide(
              OpenAi.layer({ apiKey: Redacted.make("k"), baseUrl: url, model: "m", api }, { retry: Schedule.recurs(2) })
            )
          )
        )
        assert.strictEqual(error._tag, "MalformedResponse", String(error))
        assert.include(error.message, '{\\"choices\\": [{\\"delta\\": xxx')
        assert.include(error.message, "…")
        assert.isBelow(error.message.length, 400)
        assert.strictEqual((error as { requestId?: string }).requestId, "req_malformed")
        assert.strictEqual(requests(), 1)
        assert.deepStrictEqual(printed, [])
      }).pipe(Effect.scoped)
    )
  }

  it.live("chat: events split across reads, CRLF line ends, comments and multi-line data still read", () =>
    Effect.gen(function* () {
      const chunk = (content: string) =>
        JSON.stringify({
          id: "c",
          object: "chat.completion.chunk",
          created: 1,
          model: "m",
          choices: [{ index: 0, delta: { content }, finish_reason: null }]
        })
      const done = JSON.stringify({
        id: "c",
        object: "chat.completion.chunk",
        created: 1,
        model: "m",
        choices: [{ index: 0, delta: {}, finish_reason: "stop" }]
      })
      const whole = `: a comment\r\ndata: ${chunk("he")}\r\n\r\ndata: ${chunk("llo").replace(',"created"', '\ndata: ,"created"')}\n\ndata:${done}\r\rdata: [DONE]\n\n`
      // one byte per write: every line end and every character split across reads
      const { url } = yield* serve(() => [...whole])
      const events = yield* LanguageModel.stream({ prompt: "hi" }).pipe(
        Stream.runCollect,
        Effect.provide(OpenAi.layer({ apiKey: Redacted.make("k"), baseUrl: url, model: "m", api: "chat" }))
      )
      const text = events.flatMap((e) => (e._tag === "TextDelta" ? [e.delta] : [])).join("")
      assert.strictEqual(text, "hello")
    }).pipe(Effect.scoped)
  )
})
