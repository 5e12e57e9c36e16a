/**
 * The {@link LanguageModel} over the official `openai` SDK, for OpenAI and any OpenAI-compatible server
 * (vLLM, Ollama, LM Studio, llama.cpp, LiteLLM, Azure-style gateways…): set `baseUrl` and `apiKey`.
 *
 * `api` chooses the wire API: `"responses"` (the Responses API, default) or `"chat"` (Chat Completions,
 * which more compatible servers speak). The SDK's own retries are off (`maxRetries: 0`) and its timeout is
 * pushed out of the way: retries, timeouts and cancellation belong to {@link LanguageModel}.
 *
 * @example
 * ```ts
 * // From the environment: OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_MODEL, OPENAI_API
 * const Model = OpenAi.layerConfig()
 * // Or explicitly, e.g. a local server:
 * const Local = OpenAi.layer({
 *   apiKey: Redacted.make("unused"),
 *   baseUrl: "http://localhost:11434/v1",
 *   model: "llama3.2",
 *   api: "chat"
 * })
 * ```
 */
import { Effect, Config as EffectConfig, Layer, Option, Redacted, Schema, Stream } from "effect"
import type OpenAI from "openai"
import { byModel } from "./internal/byModel.ts"
import * as Chat from "./internal/chatApi.ts"
import { checkTimeouts } from "./internal/durations.ts"
import { fromSdkError } from "./internal/errors.ts"
import { AbsoluteUrl, checkStream, endedEarly, read, sdkCalls, sdkTimeout, serverOf } from "./internal/provider.ts"
import * as Responses from "./internal/responsesApi.ts"
import * as Sdk from "./internal/sdk.ts"
import { sseJson } from "./internal/sse.ts"
import * as LanguageModel from "./LanguageModel.ts"
import { BadRequest, type LlmError } from "./LlmError.ts"

/** Which wire API to speak. */
export const Api = Schema.Literals(["responses", "chat"])
export type Api = typeof Api.Type

/**
 * Which Chat Completions parameter carries the max output tokens: `max_completion_tokens` (OpenAI's, which
 * its reasoning models require) or `max_tokens` (the older one, which most compatible servers read and
 * some only read).
 */
export const MaxTokensField = Schema.Literals(["max_completion_tokens", "max_tokens"])
export type MaxTokensField = typeof MaxTokensField.Type

/** Settings of one model, or of every model whose name starts with the key (see `models`). */
export const ModelSettings = Schema.Struct({
  maxTokensField: Schema.optionalKey(MaxTokensField),
  /** The reasoning effort of requests that set none. */
  reasoningEffort: Schema.optionalKey(Schema.Literals(["none", "minimal", "low", "medium", "high", "xhigh", "max"]))
})
export type ModelSettings = typeof ModelSettings.Type

/** Where the model is and how to reach it; decoded when a layer is built. */
export const Config = Schema.Struct({
  apiKey: Schema.Redacted(Schema.String),
  /** The API's base URL, `/v1` included; OpenAI's when absent. */
  baseUrl: Schema.optionalKey(AbsoluteUrl),
  /** The default model. */
  model: Schema.NonEmptyString,
  /** Default `"responses"`. */
  api: Schema.optionalKey(Api),
  organization: Schema.optionalKey(Schema.String),
  project: Schema.optionalKey(Schema.String),
  /** The max output tokens of requests that do not set one. */
  maxOutputTokens: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThan(0))),
  /**
   * Chat Completions: the parameter for max output tokens. Default: `max_completion_tokens` for OpenAI
   * (no `baseUrl`, or an `openai.com`/`openai.azure.com` host), `max_tokens` for every other server.
   */
  maxTokensField: Schema.optionalKey(MaxTokensField),
  /**
   * Settings per model, by exact name or longest prefix (`"o4-mini"` also covers `"o4-mini-2025-04-16"`);
   * they win over the settings above.
   */
  models: Schema.optionalKey(Schema.Record(Schema.String, ModelSettings)),
  /**
   * Responses API: `false` asks the server to keep nothing (zero data retention); reasoning items are then
   * asked for with their encrypted content, which is replayed on the next turn. Default: the server's.
   */
  store: Schema.optionalKey(Schema.Boolean)
})
export type Config = typeof Config.Type

/** Whether a base URL is OpenAI's own (or Azure OpenAI's). */
const isOpenAi = (baseUrl: string | undefined): boolean => {
  if (baseUrl === undefined) return true
  const host = new URL(baseUrl).hostname
  return host === "openai.com" || host.endsWith(".openai.com") || host.endsWith(".openai.azure.com")
}

/** The settings for a model: its own (by `models`), over the configuration's, over the defaults. */
export const settingsFor = (
  config: Pick<Config, "baseUrl" | "maxTokensField" | "models">,
  model: string
): ModelSettings & Required<Pick<ModelSettings, "maxTokensField">> => ({
  maxTokensField: isOpenAi(config.baseUrl) ? "max_completion_tokens" : "max_tokens",
  ...(config.maxTokensField === undefined ? {} : { maxTokensField: config.maxTokensField }),
  ...(config.models === undefined ? {} : byModel(config.models, model))
})

/** What cannot be configuration: retry policy, timeouts, and a `fetch` to use instead of the global one. */
export interface Options extends LanguageModel.Policy {
  readonly fetch?: typeof globalThis.fetch | undefined
}

/** The configuration from the environment: `OPENAI_API_KEY` (required), `OPENAI_BASE_URL`, `OPENAI_MODEL`
 * (default `gpt-4.1-mini`), `OPENAI_API` (`responses` or `chat`), `OPENAI_ORG_ID`, `OPENAI_PROJECT_ID`. */
export const fromEnv: EffectConfig.Config<Config> = EffectConfig.all({
  apiKey: EffectConfig.Redacted("OPENAI_API_KEY"),
  baseUrl: EffectConfig.option(EffectConfig.String("OPENAI_BASE_URL")),
  model: EffectConfig.withDefault(EffectConfig.String("OPENAI_MODEL"), "gpt-4.1-mini"),
  api: EffectConfig.withDefault(EffectConfig.Literals(["responses", "chat"], "OPENAI_API"), "responses" as const),
  organization: EffectConfig.option(EffectConfig.String("OPENAI_ORG_ID")),
  project: EffectConfig.option(EffectConfig.String("OPENAI_PROJECT_ID"))
}).pipe(
  EffectConfig.map(({ baseUrl, organization, project, ...rest }) => ({
    ...rest,
    ...Option.match(baseUrl, { onNone: () => ({}), onSome: (baseUrl) => ({ baseUrl }) }),
    ...Option.match(organization, { onNone: () => ({}), onSome: (organization) => ({ organization }) }),
    ...Option.match(project, { onNone: () => ({}), onSome: (project) => ({ project }) })
  }))
)

/**
 * Makes the provider for a client; `config` gives the settings per model (see {@link settingsFor}). Its calls
 * classify failures by the classes of the `openai` package, imported at the first call (see {@link client}).
 */
export const provider = (
  client: OpenAI,
  api: Api,
  config: Omit<Config, "apiKey" | "model"> = {}
): LanguageModel.Provider => {
  /** The request with the model's settings applied: its default reasoning effort. */
  const withSettings = (request: LanguageModel.ProviderRequest) => {
    const { reasoningEffort } = settingsFor(config, request.model)
    return request.reasoningEffort !== undefined || reasoningEffort === undefined
      ? request
      : { ...request, reasoningEffort }
  }
  const chatParams = (request: LanguageModel.ProviderRequest) =>
    Chat.toParams(withSettings(request), settingsFor(config, request.model).maxTokensField)
  const responsesParams = (request: LanguageModel.ProviderRequest) => Responses.toParams(withSettings(request), config)
  /** Chat Completions refuses some requests before they are sent (a document by URL). */
  const checked = <A, R>(request: LanguageModel.ProviderRequest, f: Effect.Effect<A, LlmError, R>) =>
    Effect.suspend(() => {
      const problem = Chat.unsupported(request)
      return problem === undefined ? f : Effect.fail(new BadRequest({ message: problem }))
    })
  const server = serverOf(client.baseURL)
  /** The calls, with the SDK's error classes (imported once; a resolved import after that). */
  const calls = Effect.map(Sdk.openAi, (sdk) => ({ sdk, ...sdkCalls(fromSdkError(sdk), "x-request-id") }))

  if (api === "responses") {
    return {
      name: "openai",
      server,
      generate: (request) =>
        Effect.flatMap(calls, ({ send, answer }) =>
          send((signal) =>
            client.responses.create({ ...responsesParams(request), stream: false }, { signal }).asResponse()
          ).pipe(Effect.map(answer("response", Responses.fromResponse)))
        ),
      stream: (request) =>
        Effect.flatMap(calls, ({ sdk, send, events, requestIdOf }) =>
          send((signal) =>
            client.responses.create({ ...responsesParams(request), stream: true }, { signal }).asResponse()
          ).pipe(
            Effect.tap(checkStream),
            Effect.map((response) =>
              events(
                sseJson(
                  response,
                  requestIdOf(response),
                  sdk.APIError
                ) as AsyncIterable<OpenAI.Responses.ResponseStreamEvent>,
                Responses.eventMapper(requestIdOf(response))
              )
            )
          )
        )
    }
  }
  return {
    name: "openai",
    server,
    generate: (request) =>
      Effect.flatMap(calls, ({ send, answer }) =>
        checked(
          request,
          send((signal) =>
            client.chat.completions.create({ ...chatParams(request), stream: false }, { signal }).asResponse()
          )
        ).pipe(Effect.map(answer("completion", Chat.fromCompletion)))
      ),
    stream: (request) =>
      Effect.flatMap(calls, ({ sdk, send, requestIdOf }) =>
        checked(
          request,
          send((signal) =>
            client.chat.completions
              .create({ ...chatParams(request), stream: true, stream_options: { include_usage: true } }, { signal })
              .asResponse()
          )
        ).pipe(
          Effect.tap(checkStream),
          Effect.map((response) => {
            const chunks = Chat.chunkMapper(requestIdOf(response))
            const data = sseJson(
              response,
              requestIdOf(response),
              sdk.APIError
            ) as AsyncIterable<OpenAI.Chat.ChatCompletionChunk>
            return Stream.fromAsyncIterable(data, fromSdkError(sdk)).pipe(
              Stream.mapEffect((chunk) => read("stream chunk", () => chunks.map(chunk))),
              Stream.flattenIterable,
              Stream.concat(
                Stream.suspend(() =>
                  chunks.finished
                    ? Stream.fromEffect(
                        read(
                          "stream",
                          (): LanguageModel.ProviderEvent => ({ _tag: "Finished", result: chunks.finish() })
                        )
                      )
                    : Stream.fail(chunks.unfinished() ?? endedEarly())
                )
              )
            )
          })
        )
      )
  }
}

/**
 * Builds the SDK client: its retries off, its timeout out of the way. The `openai` package is imported here, when
 * first needed, not with `@troupe/llm`.
 *
 * @example
 * const openai = yield* OpenAi.client({ apiKey: Redacted.make(key), model: "gpt-4.1-mini" })
 */
export const client = (config: Config, options?: Options): Effect.Effect<OpenAI> =>
  Effect.map(
    Sdk.openAi,
    ({ default: OpenAI }) =>
      new OpenAI({
        apiKey: Redacted.value(config.apiKey),
        ...(config.baseUrl === undefined ? {} : { baseURL: config.baseUrl }),
        ...(config.organization === undefined ? {} : { organization: config.organization }),
        ...(config.project === undefined ? {} : { project: config.project }),
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
      Effect.map(client(decoded, options), (openai) =>
        LanguageModel.make(provider(openai, decoded.api ?? "responses", decoded), {
          ...options,
          model: decoded.model,
          maxOutputTokens: options?.maxOutputTokens ?? decoded.maxOutputTokens
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
