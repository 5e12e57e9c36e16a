/**
 * A server that answers 200 with a body that is not JSON: a web page where the API was expected (a base URL
 * without its `/v1`, a proxy's login page). The connection worked, so this is not a `ConnectionFailed`: it is
 * a `ServerError` ("an answer the client cannot read", as docs/llm.md's table says) that says what came and
 * what to check.
 */
import * as Http from "node:http"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted, Schedule } from "effect"
import { LanguageModel, OpenAi } from "../src/index.ts"

/** A server that answers every request 200 with a web page. */
const webPage = Effect.acquireRelease(
  Effect.promise(
    () =>
      new Promise<{ url: string; server: Http.Server }>((resolve) => {
        const server = Http.createServer((req, res) => {
          req.resume()
          req.on("end", () => res.writeHead(200, { "content-type": "text/html" }).end("<html><h1>Welcome</h1></html>"))
        })
        server.listen(0, "127.0.0.1", () => {
          const { port } = server.address() as { port: number }
          resolve({ url: `http://127.0.0.1:${port}`, server })
        })
      })
  ),
  ({ server }) => Effect.promise(() => new Promise((resolve) => server.close(resolve)))
)

describe("a 200 answer that is not JSON", () => {
  for (const api of ["chat", "responses"] as const) {
    it.live(`${api}: a ServerError saying what came, not a ConnectionFailed`, () =>
      Effect.gen(function* () {
        const { url } = yield* webPage
        const error = yield* Effect.flip(
          LanguageModel.generate({ prompt: "hi" }).pipe(
            Effect.provide(
              OpenAi.layer({ apiKey: Redacted.make("k"), baseUrl: url, model: "m", api }, { retry: Schedule.recurs(0) })
            )
          )
        )
        assert.strictEqual(error._tag, "ServerError")
        assert.include(error.message, "not JSON")
        assert.include(error.message, "text/html")
        assert.include(error.message, "<html><h1>Welcome")
      }).pipe(Effect.scoped)
    )
  }
})
