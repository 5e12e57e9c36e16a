import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted, Stream } from "effect"
import { LanguageModel, OpenAi } from "../src/index.ts"
import { httpServer } from "./fixtures/httpServer.ts"

/** A server that answers every request with a completion (or a stream of chunks) that has no choices. */
const noChoices = (body: Record<string, unknown>) =>
  httpServer((request, res) => {
    const base = { id: "chatcmpl-1", model: "m", created: 1, ...body }
    if (JSON.parse(request.body).stream) {
      res.writeHead(200, { "content-type": "text/event-stream" })
      const chunk = { ...base, object: "chat.completion.chunk" }
      res.write(`data: ${JSON.stringify(chunk)}\n\n`)
      res.write(`data: ${JSON.stringify(chunk)}\n\n`)
      res.end("data: [DONE]\n\n")
    } else
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ ...base, object: "chat.completion" }))
  })

const model = (url: string) => OpenAi.layer({ apiKey: Redacted.make("k"), baseUrl: url, model: "m", api: "chat" })

describe("a Chat Completions answer with no choices", () => {
  for (const [name, body] of [
    ["choices: []", { choices: [] }],
    ["choices: [] beside prompt_filter_results", { choices: [], prompt_filter_results: [] }]
  ] as const) {
    it.live(`${name}: MalformedResponse saying what came, not an empty answer, not retried`, () =>
      Effect.gen(function* () {
        const server = yield* noChoices(body)
        const error = yield* Effect.flip(
          LanguageModel.generate({ prompt: "hi" }).pipe(Effect.provide(model(server.url)))
        )
        assert.strictEqual(error._tag, "MalformedResponse")
        assert.include(error.message, "no choices")
        assert.include(error.message, '"id":"chatcmpl-1"')
        assert.strictEqual(server.requests(), 1)
      }).pipe(Effect.scoped)
    )
  }

  it.live("a stream whose chunks never have a choice: MalformedResponse, not a connection that broke", () =>
    Effect.gen(function* () {
      const server = yield* noChoices({ choices: [] })
      const error = yield* Effect.flip(
        LanguageModel.stream({ prompt: "hi" }).pipe(Stream.runDrain, Effect.provide(model(server.url)))
      )
      assert.strictEqual(error._tag, "MalformedResponse")
      assert.include(error.message, "no choices in any of its 2 stream chunks")
      assert.strictEqual(server.requests(), 1)
    }).pipe(Effect.scoped)
  )
})
