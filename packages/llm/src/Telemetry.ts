/**
 * What the language model reports about itself: which agent is calling, and metrics per model and agent.
 *
 * Every call runs in a span (`LanguageModel.generate`, `LanguageModel.stream`, `LanguageModel.generateObject`)
 * with the attributes `gen_ai.system`, `gen_ai.request.model`, `gen_ai.usage.input_tokens`,
 * `gen_ai.usage.output_tokens`, `troupe.llm.cost_usd` and `troupe.agent`. The metrics below carry the
 * attributes `model` and `agent` (and `error`, the error's tag, on {@link errors}).
 *
 * @example
 * ```ts
 * const answer = model.generate({ prompt: "hi" }).pipe(Telemetry.withAgent("planner"))
 * ```
 */
import { Context, Effect, Metric } from "effect"
import { dual } from "effect/Function"

/** The name of the agent making calls, for metrics and spans. `"none"` outside any agent. */
export const Agent = Context.Reference<string>("@troupe/llm/Agent", { defaultValue: () => "none" })

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
