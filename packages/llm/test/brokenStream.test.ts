/**
 * A model server whose stream is not what it should be:
 * - a web page where the stream was expected (a base URL without its `/v1`, a proxy's login page), which ended
 *   with no event and looked like a connection cut short (`ConnectionFailed`, retried): now a `ServerError`
 *   saying what came and what to check, as for a whole answer that is not JSON (all three stream APIs);
 * - a Chat chunk whose `delta` is `null` (sent with the finish reason by some compatible servers), which was a
 *   `ServerError` ("Cannot read properties of null"): now read as an empty delta.
 */
import * as Http from "node:http"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted, Schedule, Stream } from "effect"
import { Anthropic, LanguageModel, OpenAi } from "../src/index.ts"

const serve = (answer: (res: Http.ServerResponse) => void) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<{ url: string; server: Http.Server }>((resolve) => {
          const server = Http.createServer((req, res) => {
            req.resume()
            req.on("end", () => answer(res))
          })
          server.listen(0, "127.0.0.1", () => {
            const { port } = server.address() as { port: number }
            resolve({ url: `http://127.0.0.1:${port}`, server })
          })
        })
    ),
    ({ server }) => Effect.promise(() => new Promise((resolve) => server.close(resolve)))
  )

const webPage = (res: Http.ServerResponse) =>
  res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end("<html><h1>Welcome</h1></html>")

const models = {
  chat: (url: string) =>
    OpenAi.layer({ apiKey: Redacted.make("k"), baseUrl: url, model: "m", api: "chat" }, { retry: Schedule.recurs(0) }),
  responses: (url: string) =>
    OpenAi.layer(
      { apiKey: Redacted.make("k"), baseUrl: url, model: "m", api: "responses" },
      { retry: Schedule.recurs(0) }
    ),
  anthropic: (url: string) =>
    Anthropic.layer({ apiKey: Redacted.make("k"), baseUrl: url, model: "m" }, { retry: Schedule.recurs(0) })
}

describe("a stream that is not what it should be", () => {
  for (const [api, layer] of Object.entries(models)) {
    it.live(`${api}: a web page where the stream was expected is a ServerError saying what came`, () =>
      Effect.gen(function* () {
        const { url } = yield* serve(webPage)
        const error = yield* Effect.flip(
          LanguageModel.stream({ prompt: "hi" }).pipe(Stream.runDrain, Effect.provide(layer(url)))
        )
        assert.strictEqual(error._tag, "ServerError")
        assert.include(error.message, "text/html")
        assert.include(error.message, "<html><h1>Welcome")
        assert.include(error.message, "base URL")
      }).pipe(Effect.scoped)
    )
  }

  it.live("chat: a chunk whose delta is null is an empty delta", () =>
    Effect.gen(function* () {
      const { url } = yield* serve((res) => {
        res.writeHead(200, { "content-type": "text/event-stream" })
        const chunk = (choice: unknown) =>
          `data: ${JSON.stringify({ id: "c", model: "m", created: 1, object: "chat.completion.chunk", choices: [choice] })}\n\n`
        res.write(chunk({ index: 0, delta: { content: "hi" }, finish_reason: null }))
        res.write(chunk({ index: 0, delta: null, finish_reason: "stop" }))
        res.end("data: [DONE]\n\n")
      })
      const events = yield* LanguageModel.stream({ prompt: "hi" }).pipe(
        Stream.runCollect,
        Effect.provide(models.chat(url))
      )
      assert.include(JSON.stringify(events), '"hi"')
    }).pipe(Effect.scoped)
  )
})
