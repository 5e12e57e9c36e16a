/**
 * The language model an agent thinks with: generate text, stream it, or generate an object validated by a
 * Schema, with tools, over the Responses API or Chat Completions (see {@link OpenAi}) or a script (see
 * {@link ScriptedModel}).
 *
 * Every implementation is built with {@link make} from a {@link Provider}, so all of them behave the same:
 * - retries by a Schedule (default: exponential from 500 ms with jitter, 3 retries) of the errors whose
 *   `retryable` is true, waiting at least what a rate limit's `retry-after` asks, and never once a stream
 *   has emitted output; the schedule counts requests (a stream that fails after events that carry no
 *   output is one request);
 * - a stream whose output goes well past its max output tokens (a server that ignores the limit) is cut:
 *   the request is aborted and the call fails with {@link Truncated}, charged what was produced;
 * - timeouts to the response head (`connect`), to the first stream event, between stream events (`idle`),
 *   per attempt and overall, each a {@link TimedOut} naming its phase;
 * - interruption aborts the HTTP request;
 * - a {@link Budget} in context is checked before the call and charged after it; usage and cost
 *   (by {@link Pricing}) are recorded on the response, the span and the metrics of {@link Telemetry}.
 *
 * @example
 * ```ts
 * const program = Effect.gen(function*() {
 *   const model = yield* LanguageModel.LanguageModel
 *   const { text } = yield* model.generate({ prompt: "Say hi" })
 *   const { value } = yield* model.generateObject({
 *     prompt: "Invent a city",
 *     schema: Schema.Struct({ name: Schema.String, population: Schema.Number })
 *   })
 * })
 * ```
 */
import {
  Context,
  type Duration,
  type Effect,
  type JsonSchema,
  type Schedule,
  type Schema,
  type Scope,
  Stream
} from "effect"
import { calls } from "./internal/calls.ts"
import type { LlmError, TimeoutPhase } from "./LlmError.ts"
import type * as Message from "./Message.ts"
import type * as Response from "./Response.ts"
import type * as Tool from "./Tool.ts"
import type * as Usage from "./Usage.ts"

/**
 * How hard a reasoning model thinks. Each provider takes the levels it knows: OpenAI's `reasoning.effort`
 * (`max` is sent as `xhigh`), Anthropic's `output_config.effort` (`none` and `minimal` are sent as `low`).
 */
export type ReasoningEffort = "none" | "minimal" | "low" | "medium" | "high" | "xhigh" | "max"

/** Which tool the model must call: any or none (`auto`), none, at least one, or a given one. */
export type ToolChoice = "auto" | "none" | "required" | { readonly tool: string }

/** A request to a model. */
export interface Request {
  /** A user message, or a whole transcript. */
  readonly prompt: string | ReadonlyArray<Message.Message>
  /** Instructions, sent as a system message before the prompt. */
  readonly system?: string | undefined
  /** The model; the layer's default model when absent. */
  readonly model?: string | undefined
  /** Tools the model may call (their handlers are not run here: see {@link ToolLoop}). */
  readonly tools?: ReadonlyArray<Tool.Definition> | undefined
  readonly toolChoice?: ToolChoice | undefined
  /** The most output tokens; also what a {@link Budget} reserves for the call. */
  readonly maxOutputTokens?: number | undefined
  readonly temperature?: number | undefined
  /** How hard a reasoning model thinks; the model's setting (or the server's default) when absent. */
  readonly reasoningEffort?: ReasoningEffort | undefined
  /** Constrains the answer to JSON for this schema (strict structured output); the text is that JSON. */
  readonly output?: OutputSchema | undefined
}

/** A schema the answer must follow. */
export interface OutputSchema {
  /** A name for the format, e.g. `"weather_report"` (letters, digits, `_` and `-`). */
  readonly name: string
  readonly description?: string | undefined
  /** Must be a struct: OpenAI wants an object at the root. */
  readonly schema: Schema.Codec<unknown, unknown>
}

/** A request for an object: the answer is decoded with `schema`. */
export interface ObjectRequest<A> extends Omit<Request, "output"> {
  readonly schema: Schema.Codec<A, unknown>
  /** The name of the format; default `"output"`. */
  readonly name?: string | undefined
  readonly description?: string | undefined
}

/** An object and the response it was decoded from. */
export interface ObjectResponse<A> {
  readonly value: A
  readonly response: Response.Response
}

/** The language model service. */
export class LanguageModel extends Context.Service<
  LanguageModel,
  {
    /** Asks for an answer. */
    readonly generate: (request: Request) => Effect.Effect<Response.Response, LlmError>
    /** Asks for an answer as a stream of events; the last event is `Completed`. */
    readonly stream: (request: Request) => Stream.Stream<Response.StreamEvent, LlmError>
    /** Asks for an object: its JSON Schema is sent in strict mode and the answer decoded (or `InvalidOutput`). */
    readonly generateObject: <A>(request: ObjectRequest<A>) => Effect.Effect<ObjectResponse<A>, LlmError>
  }
>()("@troupe/llm/LanguageModel") {}

/** Asks the model in context for an answer. */
export const generate = (request: Request): Effect.Effect<Response.Response, LlmError, LanguageModel> =>
  LanguageModel.use((model) => model.generate(request))

/** Asks the model in context for a streamed answer. */
export const stream = (request: Request): Stream.Stream<Response.StreamEvent, LlmError, LanguageModel> =>
  Stream.unwrap(LanguageModel.useSync((model) => model.stream(request)))

/** Asks the model in context for an object decoded by a schema. */
export const generateObject = <A>(
  request: ObjectRequest<A>
): Effect.Effect<ObjectResponse<A>, LlmError, LanguageModel> =>
  LanguageModel.use((model) => model.generateObject(request))

// ---------------------------------------------------------------------------------------------------------
// Providers

/** What a provider receives: a request with its model, messages and schemas resolved. */
export interface ProviderRequest {
  readonly model: string
  readonly messages: ReadonlyArray<Message.Message>
  readonly tools: ReadonlyArray<Tool.Definition>
  readonly toolChoice: ToolChoice | undefined
  readonly maxOutputTokens: number | undefined
  readonly temperature: number | undefined
  readonly reasoningEffort: ReasoningEffort | undefined
  readonly output:
    | { readonly name: string; readonly description: string | undefined; readonly jsonSchema: JsonSchema.JsonSchema }
    | undefined
}

/** How the output ended, as the provider reports it. */
export type ProviderFinish = "stop" | "tool-calls" | "length" | "content-filter"

/** A provider's whole answer, before usage, cost and the finish reason are checked. */
export interface ProviderResult {
  readonly id: string
  readonly model: string
  readonly messages: ReadonlyArray<Message.Message>
  readonly finish: ProviderFinish
  /** Set when the model refused. */
  readonly refusal?: string | undefined
  /** `undefined` when the server reported none: the usage is then estimated (see {@link Usage}). */
  readonly usage: Usage.Usage | undefined
  readonly requestId?: string | undefined
}

/** A provider's stream event: the public events, `Progress` (any other wire event) and `Finished`. */
export type ProviderEvent =
  | Response.TextDelta
  | Response.ToolCallStarted
  | Response.ToolCallDelta
  | Response.ToolCallDone
  | { readonly _tag: "Progress" }
  | { readonly _tag: "Finished"; readonly result: ProviderResult }

/**
 * A backend. Each operation is in two phases: the outer effect succeeds when the response head arrived
 * (the `connect` phase), the inner effect or stream reads the body. Closing the scope must abort the
 * request.
 */
export interface Provider {
  /** Reported as `gen_ai.provider.name`, e.g. `"openai"`, `"anthropic"`. */
  readonly name: string
  /** Where requests go, reported as `server.address` and `server.port`. */
  readonly server?: { readonly address: string; readonly port: number } | undefined
  readonly generate: (
    request: ProviderRequest
  ) => Effect.Effect<Effect.Effect<ProviderResult, LlmError>, LlmError, Scope.Scope>
  readonly stream: (
    request: ProviderRequest
  ) => Effect.Effect<Stream.Stream<ProviderEvent, LlmError>, LlmError, Scope.Scope>
}

/** Timeouts by phase (see {@link TimeoutPhase}); `Duration.infinity` turns one off. */
export interface Timeouts {
  /** Until the response head. Default 30 seconds. */
  readonly connect?: Duration.Input | undefined
  /** From the response head to the first stream event. Default 2 minutes. */
  readonly firstEvent?: Duration.Input | undefined
  /** Between two stream events. Default 1 minute. */
  readonly idle?: Duration.Input | undefined
  /** One attempt. Default 10 minutes. */
  readonly attempt?: Duration.Input | undefined
  /** The whole call, retries included. Default 15 minutes. */
  readonly overall?: Duration.Input | undefined
}

/** How calls behave: retries, timeouts, defaults. */
export interface Policy {
  /**
   * When to retry a retryable error; the input is the error. The delay is raised to a rate limit's
   * `retry-after` when that is longer. Default {@link defaultRetry}.
   */
  readonly retry?: Schedule.Schedule<unknown, LlmError> | undefined
  readonly timeouts?: Timeouts | undefined
  /** The max output tokens of requests that do not set one. */
  readonly maxOutputTokens?: number | undefined
}

/** Options of {@link make}. */
export interface Options extends Policy {
  /** The model of requests that do not name one. */
  readonly model: string
}

export { defaultRetry } from "./internal/calls.ts"

/** Builds the service from a provider: retries, timeouts, budget, pricing, spans and metrics. */
export const make = (provider: Provider, options: Options): LanguageModel["Service"] =>
  LanguageModel.of(calls(provider, options))
