/**
 * A model server whose stream has an event that is not JSON (`data: {"choices": [` cut short, a proxy's line in the
 * middle): it was a `ConnectionFailed` (the openai SDK's bare `SyntaxError`), retried, and the SDK printed to the
 * console ("Could not parse message into JSON"). It is a `MalformedResponse` showing what came (cut to 200
 * characters), not retried, and nothing is printed. A real HTTP server on loopback speaks the OpenAI wire.
 */
import * as Http from "node:http"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted, Schedule, Stream } from "effect"
import { afterEach, vi } from "vitest"
import { LanguageModel, OpenAi } from "../src/index.ts"

/** A server that answers every request with `events`; `requests` counts them. */
const serve = (events: (api: "chat" | "responses") => ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<{ url: string; server: Http.Server; requests: () => number }>((resolve) => {
          let requests = 0
          const server = Http.createServer((req, res) => {
            requests++
            req.resume()
            req.on("end", () => {
              res.writeHead(200, { "content-type": "text/event-stream", "x-request-id": "req_malformed" })
              for (const event of events(req.url?.endsWith("/responses") ? "responses" : "chat")) res.write(event)
              res.end()
            })
          })
          server.listen(0, "127.0.0.1", () => {
            const { port } = server.address() as { port: number }
            resolve({ url: `http://127.0.0.1:${port}/v1`, server, requests: () => requests })
          })
        })
    ),
    ({ server }) => Effect.promise(() => new Promise((resolve) => server.close(resolve)))
  )

const first = {
  chat: `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { content: "hi" }, finish_reason: null }] })}\n\n`,
  responses: `event: response.created\ndata: ${JSON.stringify({ type: "response.created", sequence_number: 0, response: { id: "r", object: "response", created_at: 1, model: "m", status: "in_progress", output: [] } })}\n\n`
}

const printed: Array<string> = []
afterEach(() => {
  vi.restoreAllMocks()
  printed.length = 0
})
/** Everything written to the console (and to stdout/stderr) while the test runs. */
const capture = () => {
  for (const method of ["log", "error", "warn", "info", "debug"] as const) {
    vi.spyOn(console, method).mockImplementation((...args: Array<unknown>) => {
      printed.push(args.map(String).join(" "))
    })
  }
}

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
