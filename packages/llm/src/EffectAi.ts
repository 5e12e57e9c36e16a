/**
 * Offers our {@link LanguageModel} as Effect's own `effect/ai` `LanguageModel`, so that code written for
 * `effect/ai` (`LanguageModel.generateText`, `generateObject`, `streamText`, `Toolkit`, `Chat`) runs on it,
 * with our retries, timeouts, budgets, pricing and metrics underneath.
 *
 * Tool parameters and structured output use OpenAI's strict-mode conversion (`OpenAiStructuredOutput`).
 * Our errors become `AiError`s with the matching reason (`RateLimited` becomes `RateLimitError` with its
 * `retryAfter`, and so on).
 *
 * @example
 * ```ts
 * import { LanguageModel as AiLanguageModel } from "effect/ai"
 *
 * const program = AiLanguageModel.generateText({ prompt: "Say hi" }).pipe(
 *   Effect.provide(EffectAi.layer),
 *   Effect.provide(OpenAi.layerConfig())
 * )
 * ```
 */
import { Effect, Layer, type Schema, Stream } from "effect"
// (by module: the `effect/ai` index would also load its MCP client and server)
import * as AiError from "effect/ai/AiError"
import * as AiLanguageModel from "effect/ai/LanguageModel"
import * as OpenAiStructuredOutput from "effect/ai/OpenAiStructuredOutput"
import type * as Prompt from "effect/ai/Prompt"
import type * as AiResponse from "effect/ai/Response"
import * as AiTool from "effect/ai/Tool"
import { LanguageModel, type Request } from "./LanguageModel.ts"
import type { LlmError } from "./LlmError.ts"
import * as Message from "./Message.ts"
import type * as Response from "./Response.ts"
import type * as Tool from "./Tool.ts"

const stringify = (u: unknown): string => (typeof u === "string" ? u : JSON.stringify(u))

/** A file part: by URL, as a string (a URL or base64 data), or as bytes. */
const fileOf = (part: Prompt.FilePart): Message.File => {
  const named = part.fileName === undefined ? {} : { name: part.fileName }
  if (part.data instanceof URL) return { mediaType: part.mediaType, url: part.data.href, ...named }
  if (typeof part.data === "string") {
    return /^(https?|data):/.test(part.data)
      ? { ...Message.file(part.data, part.mediaType), ...named }
      : { mediaType: part.mediaType, data: part.data, ...named }
  }
  return Message.file(part.data, part.mediaType, part.fileName)
}

/** An `effect/ai` prompt as our transcript (provider-executed parts are not supported and dropped). */
const toMessages = (prompt: Prompt.Prompt): ReadonlyArray<Message.Message> =>
  prompt.content.flatMap((message): ReadonlyArray<Message.Message> => {
    switch (message.role) {
      case "system":
        return [Message.system(message.content)]
      case "user":
        return [
          Message.user(
            message.content.flatMap((part) => (part.type === "text" ? [part.text] : [])).join(""),
            message.content.flatMap((part) => (part.type === "file" ? [fileOf(part)] : []))
          )
        ]
      case "assistant":
        return message.content.flatMap(
          (part): ReadonlyArray<Message.Message> =>
            part.type === "text"
              ? [Message.assistant(part.text)]
              : part.type === "tool-call" && !part.providerExecuted
                ? [Message.toolCall(part.id, part.name, stringify(part.params))]
                : []
        )
      default:
        return message.content.flatMap((part) =>
          part.type === "tool-result" ? [Message.toolResult(part, stringify(part.result), part.isFailure)] : []
        )
    }
  })

const toRequest = (options: AiLanguageModel.ProviderOptions): Request => {
  const choice = options.toolChoice
  const allowed = typeof choice === "object" && "oneOf" in choice ? new Set<string>(choice.oneOf) : undefined
  const tools: ReadonlyArray<Tool.Definition> = options.tools
    .filter((tool) => allowed === undefined || allowed.has(tool.name))
    .map((tool) => ({
      name: tool.name,
      description: AiTool.getDescription(tool) ?? "",
      jsonSchema: AiTool.getJsonSchema(tool, { transformer: OpenAiStructuredOutput.toCodecOpenAI })
    }))
  return {
    prompt: toMessages(options.prompt),
    tools,
    toolChoice:
      typeof choice === "string" ? choice : "tool" in choice ? { tool: choice.tool } : (choice.mode ?? "auto"),
    ...(options.responseFormat.type === "json"
      ? {
          output: {
            name: options.responseFormat.objectName,
            schema: options.responseFormat.schema as Schema.Codec<unknown, unknown>
          }
        }
      : {})
  }
}

const usageOf = (response: Response.Response) => ({
  inputTokens: {
    total: response.usage.inputTokens,
    uncached: response.usage.inputTokens - response.usage.cachedInputTokens,
    cacheRead: response.usage.cachedInputTokens
  },
  outputTokens: { total: response.usage.outputTokens, reasoning: response.usage.reasoningTokens }
})

const parseParams = (args: string): unknown => {
  try {
    return JSON.parse(args)
  } catch {
    return args
  }
}

const toolCallPart = (call: Message.ToolCall): AiResponse.ToolCallPartEncoded => ({
  type: "tool-call",
  id: call.id,
  name: call.name,
  params: parseParams(call.arguments)
})

const endParts = (
  response: Response.Response
): readonly [AiResponse.ResponseMetadataPartEncoded, AiResponse.FinishPartEncoded] => [
  { type: "response-metadata", id: response.id, modelId: response.model },
  { type: "finish", reason: response.finishReason, usage: usageOf(response) }
]

/** Our error as an `AiError`. */
export const toAiError = (error: LlmError, method: string): AiError.AiError =>
  AiError.make({
    module: "@troupe/llm",
    method,
    reason: (() => {
      const description = error.message
      switch (error._tag) {
        case "RateLimited":
          return error.retryable
            ? new AiError.RateLimitError(error.retryAfter === undefined ? {} : { retryAfter: error.retryAfter })
            : new AiError.QuotaExhaustedError({})
        case "TimedOut":
        case "ConnectionFailed":
          return new AiError.NetworkError({ reason: "TransportError", method: "POST", url: "", description })
        case "AuthenticationFailed":
          return new AiError.AuthenticationError({ kind: "InvalidKey", description })
        case "PermissionDenied":
          return new AiError.AuthenticationError({ kind: "InsufficientPermissions", description })
        case "BadRequest":
        case "NotFound":
          return new AiError.InvalidRequestError({ description })
        case "ServerError":
        case "MalformedResponse":
          return new AiError.InternalProviderError({ description })
        case "ContentFiltered":
        case "Refused":
          return new AiError.ContentPolicyError({ description })
        case "Truncated":
          return new AiError.InvalidOutputError({ description })
        case "InvalidOutput":
          return new AiError.StructuredOutputError({ description, responseText: error.raw })
        case "BudgetExceeded":
          return new AiError.QuotaExhaustedError({})
      }
    })()
  })

/** Makes the `effect/ai` language model from ours. */
export const make = (model: LanguageModel["Service"]): Effect.Effect<AiLanguageModel.LanguageModel> =>
  AiLanguageModel.make({
    codecTransformer: OpenAiStructuredOutput.toCodecOpenAI,
    generateText: (options) =>
      model.generate(toRequest(options)).pipe(
        Effect.mapError((e) => toAiError(e, "generateText")),
        Effect.map(
          (response): Array<AiResponse.PartEncoded> => [
            ...(response.text ? [{ type: "text" as const, text: response.text }] : []),
            ...response.toolCalls.map(toolCallPart),
            ...endParts(response)
          ]
        )
      ),
    streamText: (options) =>
      Stream.suspend(() => {
        let textOpen = false
        const closeText = (): ReadonlyArray<AiResponse.StreamPartEncoded> => {
          if (!textOpen) return []
          textOpen = false
          return [{ type: "text-end", id: "text" }]
        }
        return model.stream(toRequest(options)).pipe(
          Stream.mapError((e) => toAiError(e, "streamText")),
          Stream.flatMap((event) => {
            const parts: Array<AiResponse.StreamPartEncoded> = []
            switch (event._tag) {
              case "TextDelta":
                if (!textOpen) parts.push({ type: "text-start", id: "text" })
                textOpen = true
                parts.push({ type: "text-delta", id: "text", delta: event.delta })
                break
              case "ToolCallStarted":
                parts.push(...closeText(), { type: "tool-params-start", id: event.id, name: event.name })
                break
              case "ToolCallDelta":
                parts.push({ type: "tool-params-delta", id: event.id, delta: event.delta })
                break
              case "ToolCallDone":
                parts.push({ type: "tool-params-end", id: event.call.id }, toolCallPart(event.call))
                break
              case "Completed":
                parts.push(...closeText(), ...endParts(event.response))
                break
            }
            return Stream.fromIterable(parts)
          })
        )
      })
  })

/** A layer offering the language model in context as `effect/ai`'s `LanguageModel`. */
export const layer: Layer.Layer<AiLanguageModel.LanguageModel, never, LanguageModel> = Layer.effect(
  AiLanguageModel.LanguageModel,
  Effect.flatMap(LanguageModel, make)
)
