/**
 * A real HTTP server on loopback that speaks the OpenAI wire format, for testing the real SDK offline.
 *
 * It serves `POST …/responses` (the Responses API) and `POST …/chat/completions` (Chat Completions), plain
 * JSON or SSE streams with the full event sequence the SDK expects, and answers each request with the next
 * {@link Turn} of its script: text, tool calls, reasoning items, refusals, truncation, HTTP errors with the
 * right bodies (429 with or without `retry-after`), slow, stalled and dropped streams. It records every
 * request (with the time it arrived, and its messages decoded back from the wire) and notices when a client
 * aborts one.
 *
 * It misbehaves as real servers do, when a turn or its options say so: errors inside a stream, with codes,
 * after a first event that carries no output (`streamError`); answers without usage, tool calls without
 * `type` or `index` (`omit`); parameters it ignores (`ignore: ["max_completion_tokens"]`: it honours a
 * max-tokens parameter by cutting the answer, unless it ignores it). Like OpenAI, it refuses a transcript
 * that replays a reasoning item without the id of the item that followed it, or without its encrypted
 * content when nothing is stored (`store: false`).
 *
 * @example
 * ```ts
 * const program = Effect.gen(function*() {
 *   const server = yield* OpenAiTestServer.make([Turn.text("hi")])
 *   const model = yield* OpenAi.make({ apiKey: Redacted.make("test"), baseUrl: server.url, model: "gpt-test" })
 *   const { text } = yield* model.generate({ prompt: "hello" })
 *   const [request] = yield* server.requests
 * }).pipe(Effect.scoped)
 * ```
 */
import { Context, Effect, Layer, Redacted, type Scope } from "effect"
import type { Api } from "./internal/openAiRequest.ts"
import { dialect } from "./internal/openAiWire.ts"
import * as TestServer from "./internal/testServer.ts"
import * as LanguageModel from "./LanguageModel.ts"
import * as OpenAi from "./OpenAi.ts"
import type * as Turn from "./Turn.ts"

/** A request the server received: its API, path, headers, body, arrival time, and messages decoded back. */
export type Recorded = TestServer.Recorded<Api>

/**
 * A running test server: `url` (the base URL to give the SDK, e.g. `http://127.0.0.1:43123/v1`),
 * `requests`, `awaitRequests(count)`, `awaitAbort(index)` (the client closed the connection before the answer
 * ended) and `aborted`.
 */
export class OpenAiTestServer extends Context.Service<OpenAiTestServer, TestServer.Running<Api>>()(
  "@troupe/llm/OpenAiTestServer"
) {}

/** A request parameter the server can be told to ignore, as many compatible servers do. */
export type Ignorable = "max_tokens" | "max_completion_tokens" | "max_output_tokens" | "stream_options"

/** Options of the server. */
export interface Options {
  /**
   * Parameters the server ignores. By default it honours every max-tokens parameter (it cuts the answer
   * at the limit and finishes with `length`) and `stream_options.include_usage`.
   */
  readonly ignore?: ReadonlyArray<Ignorable> | undefined
}

/** Starts a server on 127.0.0.1 (a free port) for as long as the scope lasts. */
export const make = (
  script: Turn.Script,
  options?: Options
): Effect.Effect<OpenAiTestServer["Service"], never, Scope.Scope> =>
  TestServer.make("OpenAiTestServer", dialect, script, options)

/** A layer with a running test server. */
export const layer = (script: Turn.Script, options?: Options): Layer.Layer<OpenAiTestServer> =>
  Layer.effect(OpenAiTestServer, make(script, options))

/**
 * Options of {@link layerModel}: the wire API (default `"responses"`), the model name, the rest of the
 * model's configuration, its policy, and the server's options.
 */
export interface ModelOptions extends OpenAi.Options, Options {
  readonly api?: OpenAi.Api | undefined
  readonly model?: string | undefined
  readonly config?: Omit<typeof OpenAi.Config.Encoded, "apiKey" | "baseUrl" | "model" | "api"> | undefined
}

/**
 * A test server and the real {@link OpenAi} language model pointed at it: the whole stack, SDK and socket
 * included, offline.
 */
export const layerModel = (
  script: Turn.Script,
  options?: ModelOptions
): Layer.Layer<LanguageModel.LanguageModel | OpenAiTestServer> =>
  Layer.effect(
    LanguageModel.LanguageModel,
    Effect.flatMap(OpenAiTestServer, (server) =>
      Effect.orDie(
        OpenAi.make(
          {
            ...options?.config,
            apiKey: Redacted.make("test-key"),
            baseUrl: server.url,
            model: options?.model ?? "gpt-test",
            api: options?.api ?? "responses"
          },
          options
        )
      )
    )
  ).pipe(Layer.provideMerge(layer(script, options)))
