/**
 * What agents, model calls and tool calls report, in the OpenTelemetry GenAI semantic conventions, and how
 * to export it over OTLP.
 *
 * **Spans.**
 * - `invoke_agent {agent}` (INTERNAL): one tool loop, i.e. an agent's answer to an ask, or an LLM role's
 *   move; `gen_ai.operation.name`, `gen_ai.agent.name`, `gen_ai.agent.id` (the actor's path),
 *   `gen_ai.conversation.id`, and the usage and cost summed over its model calls.
 * - `chat {model}` (CLIENT): one model call, retries included; `gen_ai.provider.name`,
 *   `gen_ai.request.model`, `gen_ai.request.max_tokens`, `gen_ai.request.temperature`, `gen_ai.output.type`,
 *   `server.address`, `server.port`, `gen_ai.response.id`, `gen_ai.response.model`,
 *   `gen_ai.response.finish_reasons`, `gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens`,
 *   `gen_ai.usage.cache_read.input_tokens`, `error.type` on failure, and `troupe.agent`,
 *   `troupe.llm.cost_usd`, `troupe.llm.usage_estimated`.
 * - `execute_tool {tool}` (INTERNAL): one tool call; `gen_ai.tool.name`, `gen_ai.tool.call.id`,
 *   `gen_ai.tool.type` (`function`, or `extension` for an MCP server's tool), `error.type` when the result
 *   is an error. An MCP tool's call has a `tools/call {tool}` (CLIENT) span below it.
 *
 * Actors' handlers have spans of their own, and the trace context travels with every message, to other
 * nodes too: an ask to a sub-agent on another node continues the same trace. Tracing is on when a tracer
 * is installed where the actor system is made (provide {@link layerOtlp} outside the system's layer).
 *
 * **Metrics** carry `model` and `agent` (so cost per agent is `troupe_llm_cost_usd_total` by `agent`), and
 * the GenAI histograms `gen_ai.client.token.usage` (by `gen_ai.token.type`) and
 * `gen_ai.client.operation.duration` (seconds), by `gen_ai.provider.name` and `gen_ai.request.model`.
 *
 * @example
 * ```ts
 * const answer = model.generate({ prompt: "hi" }).pipe(Telemetry.withAgent("planner"))
 * // export spans and metrics where a collector listens
 * const Observability = Telemetry.layerOtlp({ url: "http://localhost:4318", serviceName: "planner-node" })
 * ```
 */
import { Config, Context, Duration, Effect, Layer, Metric, Option, Schema } from "effect"
import { dual } from "effect/Function"
import { FetchHttpClient } from "effect/http"
import { Otlp, OtlpExporter } from "effect/observability"
import { DurationInput } from "./internal/durations.ts"

/** The name of the agent making calls, for metrics and spans. `"none"` outside any agent. */
export const Agent = Context.Reference<string>("@troupe/llm/Agent", { defaultValue: () => "none" })

/** The id of the agent making calls (`gen_ai.agent.id`): an agent's actor path. `undefined` outside one. */
export const AgentId = Context.Reference<string | undefined>("@troupe/llm/AgentId", { defaultValue: () => undefined })

/**
 * The conversation calls belong to (`gen_ai.conversation.id`): an agent's actor path, a session's id.
 * `undefined` outside one.
 */
export const Conversation = Context.Reference<string | undefined>("@troupe/llm/Conversation", {
  defaultValue: () => undefined
})

/** Attributes the model's calls to an agent. */
export const withAgent: {
  (agent: string): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, agent: string): Effect.Effect<A, E, R>
} = dual(2, <A, E, R>(self: Effect.Effect<A, E, R>, agent: string) => Effect.provideService(self, Agent, agent))

/** Model calls started. */
export const calls = Metric.counter("troupe_llm_calls_total", {
  description: "Language-model calls",
  incremental: true
})
/** Model calls that failed, by error tag. */
export const errors = Metric.counter("troupe_llm_errors_total", {
  description: "Language-model calls that failed",
  incremental: true
})
/** Input tokens used. */
export const inputTokens = Metric.counter("troupe_llm_input_tokens_total", {
  description: "Input tokens used",
  incremental: true
})
/** Output tokens used (reasoning included). */
export const outputTokens = Metric.counter("troupe_llm_output_tokens_total", {
  description: "Output tokens used",
  incremental: true
})
/** Cost in USD, by the configured price table. */
export const cost = Metric.counter("troupe_llm_cost_usd_total", { description: "Cost in USD", incremental: true })
/** Duration of calls in milliseconds, retries included. */
export const latency = Metric.histogram("troupe_llm_latency_ms", {
  description: "Language-model call duration (ms)",
  boundaries: Metric.exponentialBoundaries({ start: 50, factor: 2, count: 12 })
})

/** Tokens per call, by `gen_ai.token.type` (`input` or `output`): the GenAI conventions' histogram. */
export const tokenUsage = Metric.histogram("gen_ai.client.token.usage", {
  description: "Number of input and output tokens used",
  boundaries: Metric.exponentialBoundaries({ start: 1, factor: 4, count: 14 })
})

/** Duration of calls in seconds, retries included: the GenAI conventions' histogram. */
export const operationDuration = Metric.histogram("gen_ai.client.operation.duration", {
  description: "GenAI operation duration (s)",
  boundaries: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
})

/** `OTEL_EXPORTER_OTLP_ENDPOINT`: an http(s) URL (`localhost:4318` parses as a URL of scheme `localhost:`). */
const Endpoint = Schema.String.check(
  Schema.makeFilter(
    (s: string) =>
      (/^https?:\/\//.test(s) && URL.canParse(s)) || "expected the collector's http(s) URL, e.g. http://localhost:4318"
  )
)

/** `key=value` pairs, comma-separated; a value may hold `=` (base64 padding): a pair splits at its first `=`. */
const headerPairs = (headers: string): ReadonlyArray<readonly [string, string | undefined]> =>
  headers
    .split(",")
    .filter((pair) => pair.trim() !== "")
    .map((pair) => {
      const at = pair.indexOf("=")
      return at < 0 ? [pair.trim(), undefined] : [pair.slice(0, at).trim(), pair.slice(at + 1).trim()]
    })

/** `OTEL_EXPORTER_OTLP_HEADERS`: `key=value,…`, each value URL-encoded. */
const Headers = Schema.String.check(
  Schema.makeFilter((s: string) => {
    for (const [key, value] of headerPairs(s)) {
      if (key === "" || value === undefined) return `"${key}" is not key=value: give key=value pairs, comma-separated`
      try {
        decodeURIComponent(value)
      } catch {
        return `the value of ${key} is not URL-encoded (a % must start %XX): encode it, e.g. with encodeURIComponent`
      }
    }
    return true
  })
)

/** Options of {@link layerOtlp}. */
export interface OtlpOptions {
  /** The collector's base URL, e.g. `http://localhost:4318`; signals go to `/v1/traces`, `/v1/metrics`, `/v1/logs`. */
  readonly url: string
  /** `service.name` of every span and metric, e.g. the node's name. */
  readonly serviceName: string
  readonly serviceVersion?: string | undefined
  /** More resource attributes, e.g. `{ "deployment.environment": "staging" }`. */
  readonly attributes?: Readonly<Record<string, unknown>> | undefined
  /** Sent with every export, e.g. an API key. */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** OTLP/HTTP with JSON (default) or protobuf bodies. */
  readonly protocol?: "json" | "protobuf" | undefined
  /** How often to export. Default 5 seconds (spans and metrics); closing the layer exports what is left. */
  readonly exportInterval?: Duration.Input | undefined
}

/** The options of {@link layerOtlp} that plain JavaScript (or a config file) may get wrong, checked. */
const OtlpChecked = Schema.Struct({
  url: Endpoint,
  serviceName: Schema.String,
  exportInterval: Schema.optional(DurationInput),
  headers: Schema.optional(Schema.Record(Schema.String, Schema.String)),
  protocol: Schema.optional(Schema.Literals(["json", "protobuf"]))
})

/**
 * Exports spans, metrics and logs over OTLP/HTTP. Provide it where the actor system is made, so that its
 * actors are traced too; closing it exports what is left. Its `Flusher` exports on demand. An option that is
 * not one (a `url` that is not http(s), an `exportInterval` that is not a duration) fails the layer with a
 * `ConfigError` naming it.
 */
export const layerOtlp = (options: OtlpOptions): Layer.Layer<OtlpExporter.Flusher, Config.ConfigError> =>
  Layer.unwrap(
    Effect.map(
      Effect.mapError(
        Schema.decodeUnknownEffect(OtlpChecked, { errors: "all" })(options),
        (error) => new Config.ConfigError(error)
      ),
      () => exporter(options)
    )
  )

const exporter = (options: OtlpOptions): Layer.Layer<OtlpExporter.Flusher> => {
  const interval = options.exportInterval ?? Duration.seconds(5)
  const config = {
    baseUrl: options.url,
    resource: {
      serviceName: options.serviceName,
      ...(options.serviceVersion === undefined ? {} : { serviceVersion: options.serviceVersion }),
      ...(options.attributes === undefined ? {} : { attributes: { ...options.attributes } })
    },
    ...(options.headers === undefined ? {} : { headers: options.headers }),
    tracerExportInterval: interval,
    metricsExportInterval: interval,
    loggerExportInterval: interval,
    loggerMergeWithExisting: true
  }
  return (options.protocol === "protobuf" ? Otlp.layerProtobuf(config) : Otlp.layerJson(config)).pipe(
    Layer.provide(FetchHttpClient.layer)
  )
}

/**
 * Exports over OTLP/HTTP as the OpenTelemetry environment variables say, when an endpoint is set:
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (the collector's base URL), `OTEL_EXPORTER_OTLP_HEADERS` (`key=value,…`,
 * values URL-encoded), `OTEL_EXPORTER_OTLP_PROTOCOL` (`http/json`, the default, or `http/protobuf`),
 * `OTEL_SERVICE_NAME` (else `serviceName`). Nothing is exported when no endpoint is set or
 * `OTEL_SDK_DISABLED=true`. A malformed variable (an endpoint that is not a URL) fails the layer with a
 * `ConfigError` naming it.
 */
export const layerOtlpConfig = (options: {
  readonly serviceName: string
}): Layer.Layer<OtlpExporter.Flusher, Config.ConfigError> =>
  Layer.unwrap(
    Effect.gen(function* () {
      const env = yield* Config.all({
        disabled: Config.Boolean("OTEL_SDK_DISABLED").pipe(Config.withDefault(false)),
        endpoint: Config.option(Config.schema(Endpoint, "OTEL_EXPORTER_OTLP_ENDPOINT")),
        headers: Config.schema(Headers, "OTEL_EXPORTER_OTLP_HEADERS").pipe(Config.withDefault("")),
        protocol: Config.Literals(["http/json", "http/protobuf"], "OTEL_EXPORTER_OTLP_PROTOCOL").pipe(
          Config.withDefault("http/json" as const)
        ),
        serviceName: Config.String("OTEL_SERVICE_NAME").pipe(Config.withDefault(options.serviceName))
      })
      if (env.disabled || Option.isNone(env.endpoint)) return OtlpExporter.layerFlusher
      const headers = Object.fromEntries(
        headerPairs(env.headers).map(([key, value]) => [key, decodeURIComponent(value ?? "")])
      )
      return exporter({
        url: new URL(env.endpoint.value).href.replace(/\/$/, ""),
        serviceName: env.serviceName,
        headers,
        protocol: env.protocol === "http/protobuf" ? "protobuf" : "json"
      })
    })
  )
