/**
 * A real HTTP server on loopback that speaks Anthropic's Messages API, for testing the official
 * `@anthropic-ai/sdk` offline: the counterpart of {@link OpenAiTestServer}, driven by the same {@link Turn}s.
 *
 * It serves `POST /v1/messages`, as a whole message or as SSE (`message_start`, `ping`,
 * `content_block_start`/`_delta`/`_stop` for text, tool use and thinking, `message_delta`, `message_stop`),
 * errors with Anthropic's bodies (`rate_limit_error`, 529 `overloaded_error`, …) and its `request-id` and
 * `retry-after` headers, errors inside a stream (`event: error`), and the turns' delays, stalls and drops.
 * Like Anthropic, it refuses a request without `max_tokens`, a thinking block without its signature, and,
 * with thinking on, a tool-using assistant turn that does not start with its thinking block. A turn's
 * `reasoning` is sent as a thinking block whose signature is its `encryptedContent`.
 *
 * @example
 * ```ts
 * const program = Effect.gen(function*() {
 *   const server = yield* AnthropicTestServer.make([Turn.text("hi")])
 *   const model = yield* Anthropic.make({ apiKey: Redacted.make("test"), baseUrl: server.url, model: "claude-test" })
 *   const { text } = yield* model.generate({ prompt: "hello" })
 * }).pipe(Effect.scoped)
 * ```
 */
import { Context, Effect, Layer, Redacted, type Scope } from "effect"
import * as Anthropic from "./Anthropic.ts"
import { type Api, dialect } from "./internal/anthropicWire.ts"
import * as TestServer from "./internal/testServer.ts"
import * as LanguageModel from "./LanguageModel.ts"
import type * as Turn from "./Turn.ts"

/** A request the server received. */
export type Recorded = TestServer.Recorded<Api>

/** A running test server: the base URL to give the SDK (no `/v1`), the requests, the client's aborts. */
export class AnthropicTestServer extends Context.Service<AnthropicTestServer, TestServer.Running<Api>>()(
  "@troupe/llm/AnthropicTestServer"
) {}

/** Options of the server: `ignore: ["max_tokens"]` plays a server that does not honour the limit. */
export interface Options {
  readonly ignore?: ReadonlyArray<"max_tokens"> | undefined
}

/** Starts a server on 127.0.0.1 (a free port) for as long as the scope lasts. */
export const make = (
  script: Turn.Script,
  options?: Options
): Effect.Effect<AnthropicTestServer["Service"], never, Scope.Scope> =>
  TestServer.make("AnthropicTestServer", dialect, script, options)

/** A layer with a running test server. */
export const layer = (script: Turn.Script, options?: Options): Layer.Layer<AnthropicTestServer> =>
  Layer.effect(AnthropicTestServer, make(script, options))

/** Options of {@link layerModel}: the model name, the rest of the model's configuration, its policy, the server's. */
export interface ModelOptions extends Anthropic.Options, Options {
  readonly model?: string | undefined
  readonly config?: Omit<typeof Anthropic.Config.Encoded, "apiKey" | "baseUrl" | "model"> | undefined
}

/** A test server and the real {@link Anthropic} language model pointed at it, offline. */
export const layerModel = (
  script: Turn.Script,
  options?: ModelOptions
): Layer.Layer<LanguageModel.LanguageModel | AnthropicTestServer> =>
  Layer.effect(
    LanguageModel.LanguageModel,
    Effect.flatMap(AnthropicTestServer, (server) =>
      Effect.orDie(
        Anthropic.make(
          {
            ...options?.config,
            apiKey: Redacted.make("test-key"),
            baseUrl: server.url,
            model: options?.model ?? "claude-test"
          },
          options
        )
      )
    )
  ).pipe(Layer.provideMerge(layer(script, options)))
