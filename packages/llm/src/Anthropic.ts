/**
 * The {@link LanguageModel} over Anthropic's Messages API, through its official SDK (`@anthropic-ai/sdk`).
 * Everything the language model does is the same as over OpenAI: events, tools, structured output (sent as
 * `output_config.format`), usage and cost, retries, timeouts, cancellation, budgets, telemetry
 * (`gen_ai.provider.name` is `anthropic`).
 *
 * What differs is Anthropic's and is handled here: max tokens are required (the request's, else the
 * configuration's `maxOutputTokens`, else 4,096); system messages become the `system` parameter; thinking
 * blocks come back as `Reasoning` items whose signature is kept and replayed (turn thinking on per model with
 * `thinking`); reasoning effort is `output_config.effort`; HTTP 529 (overloaded) is a retryable
 * `ServerError`; errors inside a stream are classified by their type, as HTTP ones are; an event of a stream whose
 * data is not JSON is a `MalformedResponse` showing it (not retried, nothing printed).
 *
 * @example
 * ```ts
 * // From the environment: ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL, ANTHROPIC_MODEL
 * const Model = Anthropic.layerConfig()
 * // Or explicitly:
 * const Claude = Anthropic.layer({
 *   apiKey: Redacted.make(process.env.ANTHROPIC_API_KEY!),
 *   model: "claude-sonnet-4-5",
 *   models: { "claude-opus": { thinking: "adaptive" } }
 * })
 * ```
 */
import type AnthropicSdk from "@anthropic-ai/sdk"
import { Effect, Config as EffectConfig, Layer, Option, Redacted, Schema } from "effect"
import * as Api from "./internal/anthropicApi.ts"
import { byModel } from "./internal/byModel.ts"
import { checkTimeouts } from "./internal/durations.ts"
import { AbsoluteUrl, checkStream, sdkCalls, sdkTimeout, serverOf } from "./internal/provider.ts"
import * as Sdk from "./internal/sdk.ts"
import * as LanguageModel from "./LanguageModel.ts"

/** Settings of one model, or of every model whose name starts with the key (see `models`). */
export const ModelSettings = Schema.Struct({
  /** Think before answering: `"adaptive"`, or `{ budgetTokens }` (less than the max tokens). Default: off. */
  thinking: Schema.optionalKey(
    Schema.Union([
      Schema.Literal("adaptive"),
      Schema.Struct({ budgetTokens: Schema.Int.check(Schema.isGreaterThan(0)) })
    ])
  ),
  /** The reasoning effort of requests that set none. */
  reasoningEffort: Schema.optionalKey(Schema.Literals(["none", "minimal", "low", "medium", "high", "xhigh", "max"]))
})
export type ModelSettings = typeof ModelSettings.Type

/** Where the model is and how to reach it; decoded when a layer is built. */
export const Config = Schema.Struct({
  apiKey: Schema.Redacted(Schema.String),
  /** The API's base URL, without `/v1`; Anthropic's when absent. */
  baseUrl: Schema.optionalKey(AbsoluteUrl),
  /** The default model. */
  model: Schema.NonEmptyString,
  /** The max output tokens of requests that do not set one. Default 4,096 (Anthropic requires a limit). */
  maxOutputTokens: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThan(0))),
  /** Settings per model, by exact name or longest prefix. */
  models: Schema.optionalKey(Schema.Record(Schema.String, ModelSettings))
})
export type Config = typeof Config.Type

/** What cannot be configuration: retry policy, timeouts, and a `fetch` to use instead of the global one. */
export interface Options extends LanguageModel.Policy {
  readonly fetch?: typeof globalThis.fetch | undefined
}

/** The configuration from the environment: `ANTHROPIC_API_KEY` (required), `ANTHROPIC_BASE_URL`, `ANTHROPIC_MODEL`
 * (default `claude-sonnet-4-5`). */
export const fromEnv: EffectConfig.Config<Config> = EffectConfig.all({
  apiKey: EffectConfig.Redacted("ANTHROPIC_API_KEY"),
  baseUrl: EffectConfig.option(EffectConfig.String("ANTHROPIC_BASE_URL")),
  model: EffectConfig.withDefault(EffectConfig.String("ANTHROPIC_MODEL"), "claude-sonnet-4-5")
}).pipe(
  EffectConfig.map(({ baseUrl, ...rest }) => ({
    ...rest,
    ...Option.match(baseUrl, { onNone: () => ({}), onSome: (baseUrl) => ({ baseUrl }) })
  }))
)

/**
 * Makes the provider for a client; `config` gives the settings per model. Its calls classify failures by the
 * classes of the `@anthropic-ai/sdk` package, imported at the first call (see {@link client}).
 */
export const provider = (client: AnthropicSdk, config: Pick<Config, "models"> = {}): LanguageModel.Provider => {
  const params = (request: LanguageModel.ProviderRequest) => {
    const settings = config.models === undefined ? undefined : byModel(config.models, request.model)
    const reasoningEffort = request.reasoningEffort ?? settings?.reasoningEffort
    return Api.toParams(
      reasoningEffort === request.reasoningEffort ? request : { ...request, reasoningEffort },
      settings?.thinking
    )
  }
  /** The calls, with the SDK's error classes (imported once; a resolved import after that). */
  const calls = Effect.map(Sdk.anthropic, (sdk) => ({ sdk, ...sdkCalls(Api.fromSdkError(sdk), "request-id") }))
  return {
    name: "anthropic",
    server: serverOf(client.baseURL),
    generate: (request) =>
      Effect.flatMap(calls, ({ send, answer }) =>
        send((signal) => client.messages.create({ ...params(request), stream: false }, { signal }).asResponse()).pipe(
          Effect.map(answer("message", Api.fromMessage))
        )
      ),
    stream: (request) =>
      Effect.flatMap(calls, ({ sdk, send, events, requestIdOf }) =>
        send((signal) => client.messages.create({ ...params(request), stream: true }, { signal }).asResponse()).pipe(
          Effect.tap(checkStream),
          Effect.map((response) =>
            events(
              Api.streamEvents(response, requestIdOf(response), sdk.APIError),
              Api.eventMapper(requestIdOf(response))
            )
          )
        )
      )
  }
}

/**
 * Builds the SDK client: its retries off, its timeout out of the way. The `@anthropic-ai/sdk` package is imported
 * here, when first needed, not with `@troupe/llm`.
 *
 * @example
 * const anthropic = yield* Anthropic.client({ apiKey: Redacted.make(key), model: "claude-sonnet-4-5" })
 */
export const client = (config: Config, options?: Options): Effect.Effect<AnthropicSdk> =>
  Effect.map(
    Sdk.anthropic,
    ({ default: AnthropicSdk }) =>
      new AnthropicSdk({
        apiKey: Redacted.value(config.apiKey),
        ...(config.baseUrl === undefined ? {} : { baseURL: config.baseUrl }),
        ...(options?.fetch === undefined ? {} : { fetch: options.fetch }),
        maxRetries: 0,
        timeout: sdkTimeout
      })
  )

/**
 * Makes the language model from a configuration (decoded first: a bad one fails with a `SchemaError`, as does a
 * timeout in `options` that is not a duration, naming it).
 */
export const make = (
  config: typeof Config.Encoded,
  options?: Options
): Effect.Effect<LanguageModel.LanguageModel["Service"], Schema.SchemaError> =>
  Effect.zip(Schema.decodeUnknownEffect(Config, { errors: "all" })(config), checkTimeouts(options)).pipe(
    Effect.flatMap(([decoded]) =>
      Effect.map(client(decoded, options), (anthropic) =>
        LanguageModel.make(provider(anthropic, decoded), {
          ...options,
          model: decoded.model,
          maxOutputTokens: options?.maxOutputTokens ?? decoded.maxOutputTokens ?? Api.defaultMaxTokens
        })
      )
    )
  )

/** A layer with the language model for a configuration. */
export const layer = (
  config: typeof Config.Encoded,
  options?: Options
): Layer.Layer<LanguageModel.LanguageModel, Schema.SchemaError> =>
  Layer.effect(LanguageModel.LanguageModel, make(config, options))

/** A layer with the language model configured from the environment (see {@link fromEnv}). */
export const layerConfig = (
  options?: Options
): Layer.Layer<LanguageModel.LanguageModel, EffectConfig.ConfigError | Schema.SchemaError> =>
  Layer.effect(
    LanguageModel.LanguageModel,
    Effect.flatMap(fromEnv, (config) => make(config, options))
  )
