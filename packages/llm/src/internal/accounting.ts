/**
 * What a model call counts and charges: its context (agent, conversation, price, budget) and span attributes
 * when it begins, the budget it reserves (and the output limit that follows from it), the usage it is charged
 * (reported or estimated), how its answer turns into a response or an error, its metrics when it ends.
 */
import { Clock, Effect, Exit, Metric, Option, type Scope } from "effect"
import * as AgentEvent from "../AgentEvent.ts"
import { Budget } from "../Budget.ts"
import type { Provider, ProviderRequest, ProviderResult } from "../LanguageModel.ts"
import { BudgetExceeded, ContentFiltered, isLlmError, type LlmError, Refused, Truncated } from "../LlmError.ts"
import type * as Message from "../Message.ts"
import * as Pricing from "../Pricing.ts"
import type * as Response from "../Response.ts"
import * as Telemetry from "../Telemetry.ts"
import * as Usage from "../Usage.ts"

/** How far past its limit a stream may run before it is cut: twice the limit, and 16 tokens. */
export const overrun = (limit: number) => 2 * limit + 16

/** A call being made: its request, price, budget, metric attributes and start. */
export interface Call {
  readonly request: ProviderRequest
  readonly price: Pricing.Price | undefined
  readonly budget: Budget["Service"] | undefined
  readonly attributes: Readonly<Record<string, string>>
  /** The attributes of the GenAI metrics. */
  readonly genAi: Readonly<Record<string, string>>
  readonly start: number
}

/** The accounting of a provider's calls. */
export const make = (provider: Provider) => {
  /** Reads the call's context, counts it and describes it on its span. */
  const begin = (request: ProviderRequest): Effect.Effect<Call> =>
    Effect.gen(function* () {
      const agent = yield* Telemetry.Agent
      const conversation = yield* Telemetry.Conversation
      const attributes = { model: request.model, agent }
      yield* Effect.annotateCurrentSpan({
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider.name,
        "gen_ai.request.model": request.model,
        "gen_ai.output.type": request.output === undefined ? "text" : "json",
        ...(request.temperature === undefined ? {} : { "gen_ai.request.temperature": request.temperature }),
        ...(conversation === undefined ? {} : { "gen_ai.conversation.id": conversation }),
        ...(provider.server === undefined
          ? {}
          : { "server.address": provider.server.address, "server.port": provider.server.port }),
        "troupe.agent": agent
      })
      yield* Metric.update(Metric.withAttributes(Telemetry.calls, attributes), 1)
      return {
        request,
        price: Pricing.priceOf(yield* Pricing.Pricing, request.model),
        budget: Option.getOrUndefined(yield* Effect.serviceOption(Budget)),
        attributes,
        genAi: {
          "gen_ai.operation.name": "chat",
          "gen_ai.provider.name": provider.name,
          "gen_ai.request.model": request.model
        },
        start: yield* Clock.currentTimeMillis
      }
    })

  /** What goes with the messages and counts as input: tool definitions and the output schema. */
  const extrasOf = (request: ProviderRequest): ReadonlyArray<unknown> => [
    ...request.tools.map((tool) => [tool.name, tool.description, tool.jsonSchema]),
    ...(request.output ? [request.output.jsonSchema] : [])
  ]

  /**
   * Reserves what the call may spend in its budget, until the scope closes, and returns the request to
   * send: one that sets no max output tokens gets what is left of the budget after its estimated input.
   */
  const reserve = ({ budget, price, request }: Call): Effect.Effect<ProviderRequest, LlmError, Scope.Scope> =>
    Effect.gen(function* () {
      if (!budget) return request
      let maxOutput = request.maxOutputTokens
      if (maxOutput === undefined) {
        const left = yield* budget.remaining
        const input = Usage.estimateMessages(request.messages, extrasOf(request))
        const caps = [
          left.tokens === undefined ? undefined : left.tokens - input,
          left.cost === undefined || !price
            ? undefined
            : Math.floor(((left.cost - (input * price.input) / 1_000_000) * 1_000_000) / price.output)
        ].filter((cap): cap is number => cap !== undefined)
        if (caps.length > 0) {
          maxOutput = Math.min(...caps)
          if (maxOutput < 1) {
            const limit = left.tokens !== undefined && left.tokens - input < 1 ? "tokens" : "cost"
            return yield* new BudgetExceeded({
              message: `no budget left for an answer: about ${input} input tokens would use what is left of the ${limit} budget`,
              limit,
              max: (limit === "tokens" ? budget.limits.maxTokens : budget.limits.maxCost) ?? 0,
              spent:
                ((limit === "tokens" ? budget.limits.maxTokens : budget.limits.maxCost) ?? 0) -
                ((limit === "tokens" ? left.tokens : left.cost) ?? 0),
              requested: limit === "tokens" ? input : price ? (input * price.input) / 1_000_000 : 0
            })
          }
        }
      }
      const tokens = maxOutput ?? 0
      yield* budget.reserve({ tokens, cost: price && (tokens * price.output) / 1_000_000 })
      return maxOutput === request.maxOutputTokens ? request : { ...request, maxOutputTokens: maxOutput }
    }).pipe(
      Effect.tap((sent) =>
        sent.maxOutputTokens === undefined
          ? Effect.void
          : Effect.annotateCurrentSpan("gen_ai.request.max_tokens", sent.maxOutputTokens)
      )
    )

  /** Records latency and errors. */
  const end = (call: Call, exit: Exit.Exit<unknown, unknown>) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      yield* Metric.update(Metric.withAttributes(Telemetry.latency, call.attributes), now - call.start)
      const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
      const errorType = error && isLlmError(error.error) ? error.error._tag : undefined
      yield* Metric.update(
        Metric.withAttributes(Telemetry.operationDuration, {
          ...call.genAi,
          ...(errorType === undefined ? {} : { "error.type": errorType })
        }),
        (now - call.start) / 1000
      )
      if (errorType !== undefined) {
        yield* Effect.annotateCurrentSpan("error.type", errorType)
        yield* Metric.update(Metric.withAttributes(Telemetry.errors, { ...call.attributes, error: errorType }), 1)
      }
    })

  /** Charges what a call produced to its budget, metrics and span; returns its cost. */
  const charge = (call: Call, model: string, usage: Usage.Usage): Effect.Effect<number | undefined> =>
    Effect.gen(function* () {
      const cost = call.price && Pricing.cost(call.price, usage)
      if (call.budget) yield* call.budget.record({ tokens: Usage.total(usage), cost })
      yield* Metric.update(Metric.withAttributes(Telemetry.inputTokens, call.attributes), usage.inputTokens)
      yield* Metric.update(Metric.withAttributes(Telemetry.outputTokens, call.attributes), usage.outputTokens)
      const tokens = { ...call.genAi, "gen_ai.response.model": model }
      yield* Metric.update(
        Metric.withAttributes(Telemetry.tokenUsage, { ...tokens, "gen_ai.token.type": "input" }),
        usage.inputTokens
      )
      yield* Metric.update(
        Metric.withAttributes(Telemetry.tokenUsage, { ...tokens, "gen_ai.token.type": "output" }),
        usage.outputTokens
      )
      if (cost !== undefined) yield* Metric.update(Metric.withAttributes(Telemetry.cost, call.attributes), cost)
      yield* AgentEvent.publish(
        new AgentEvent.ModelCalled({
          agent: call.attributes.agent,
          model,
          usage,
          cost,
          millis: (yield* Clock.currentTimeMillis) - call.start,
          budget: call.budget && { limits: call.budget.limits, spent: yield* call.budget.spent }
        })
      )
      yield* Effect.annotateCurrentSpan({
        "gen_ai.response.model": model,
        "gen_ai.usage.input_tokens": usage.inputTokens,
        "gen_ai.usage.output_tokens": usage.outputTokens,
        "gen_ai.usage.cache_read.input_tokens": usage.cachedInputTokens,
        ...(usage.estimated ? { "troupe.llm.usage_estimated": true } : {}),
        ...(cost === undefined ? {} : { "troupe.llm.cost_usd": cost })
      })
      return cost
    })

  /** The usage to charge: the server's, or an estimate when it reported none (or zeros for an answer). */
  const usageOf = (request: ProviderRequest, result: ProviderResult): Usage.Usage =>
    result.usage !== undefined && (Usage.total(result.usage) > 0 || result.messages.length === 0)
      ? result.usage
      : Usage.estimate(request.messages, result.messages, extrasOf(request))

  /** How far past its limit a stream may run before it is cut: twice the limit, and 16 tokens. */
  const overrun = (limit: number) => 2 * limit + 16

  /** Charges usage and cost, then turns refusals, truncation and filtering into errors. */
  const settle = (
    call: Call,
    request: ProviderRequest,
    result: ProviderResult
  ): Effect.Effect<Response.Response, LlmError> =>
    Effect.gen(function* () {
      const usage = usageOf(request, result)
      const cost = yield* charge(call, result.model, usage)
      yield* Effect.annotateCurrentSpan({
        "gen_ai.response.id": result.id,
        "gen_ai.response.finish_reasons": [
          result.refusal !== undefined
            ? "refusal"
            : { "tool-calls": "tool_calls", "content-filter": "content_filter", stop: "stop", length: "length" }[
                result.finish
              ]
        ]
      })
      if (request.maxOutputTokens !== undefined && usage.outputTokens > overrun(request.maxOutputTokens)) {
        yield* Effect.logWarning(
          `the server ignored the output limit of ${request.maxOutputTokens} tokens and produced ${usage.outputTokens} ` +
            `for model ${request.model}: check which parameter it reads (OpenAi's maxTokensField)`
        )
      }
      const text = result.messages.flatMap((m) => (m._tag === "Assistant" ? [m.text] : [])).join("")
      if (result.refusal !== undefined) {
        return yield* new Refused({ message: `the model refused: ${result.refusal}`, refusal: result.refusal, usage })
      }
      if (result.finish === "length") {
        return yield* new Truncated({ message: "the output reached max output tokens", partialText: text, usage })
      }
      if (result.finish === "content-filter") {
        return yield* new ContentFiltered({
          message: "the content filter stopped the output",
          partialText: text,
          usage
        })
      }
      const toolCalls = result.messages.filter((m): m is Message.ToolCall => m._tag === "ToolCall")
      return {
        id: result.id,
        model: result.model,
        messages: result.messages,
        text,
        toolCalls,
        finishReason: toolCalls.length > 0 ? "tool-calls" : "stop",
        usage,
        ...(cost === undefined ? {} : { cost }),
        ...(result.requestId === undefined ? {} : { requestId: result.requestId })
      } satisfies Response.Response
    })

  return { begin, extrasOf, reserve, end, charge, settle }
}
