/** Our requests and answers <-> Anthropic's Messages API (`POST /v1/messages`). */
import type {
  Message as AnthropicMessage,
  ContentBlock,
  ContentBlockParam,
  MessageCreateParamsBase,
  MessageParam,
  RawMessageStreamEvent
} from "@anthropic-ai/sdk/resources/messages/messages"
import { Duration, Predicate } from "effect"
import type {
  ProviderEvent,
  ProviderFinish,
  ProviderRequest,
  ProviderResult,
  ReasoningEffort
} from "../LanguageModel.ts"
import { ConnectionFailed, isLlmError, type LlmError, TimedOut } from "../LlmError.ts"
import * as Message from "../Message.ts"
import type * as Usage from "../Usage.ts"
import { fromStatus, retryAfterFromHeaders } from "./errors.ts"
import type * as Sdk from "./sdk.ts"
import { jsonOf, sseMessages } from "./sse.ts"

/** How a model thinks before it answers: adaptively, or with a budget of tokens. */
export type Thinking = "adaptive" | { readonly budgetTokens: number }

/** Anthropic requires max tokens: the default when neither the request nor the configuration sets them. */
export const defaultMaxTokens = 4096

/** Our effort levels as Anthropic's (it has no `none` or `minimal`). */
const anthropicEffort = (effort: ReasoningEffort) => (effort === "none" || effort === "minimal" ? "low" : effort)

/** Thinking blocks are replayed as they came: their ids say which kind they were. */
const thinkingId = (index: number) => `thinking_${index}`
const redactedId = (index: number) => `redacted_thinking_${index}`

const parseInput = (args: string): Record<string, unknown> => {
  try {
    const parsed: unknown = JSON.parse(args)
    return Predicate.isObject(parsed) && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {}
  } catch {
    return {}
  }
}

/** A file as a content block: an image, or a document (PDF), by URL or inline. */
const fileBlock = (file: Message.File): ContentBlockParam => {
  const image = file.mediaType.startsWith("image/")
  if ("url" in file) {
    return image
      ? { type: "image", source: { type: "url", url: file.url } }
      : { type: "document", source: { type: "url", url: file.url } }
  }
  return image
    ? { type: "image", source: { type: "base64", media_type: file.mediaType as "image/png", data: file.data } }
    : { type: "document", source: { type: "base64", media_type: "application/pdf", data: file.data } }
}

/**
 * Our transcript as Anthropic's messages: system messages become the `system` parameter; consecutive items
 * of one role become one message (tool results are user content); reasoning from Anthropic (thinking
 * blocks, with their signature) is replayed, other providers' reasoning is dropped.
 */
const toMessages = (messages: ReadonlyArray<Message.Message>) => {
  const system: Array<string> = []
  const out: Array<MessageParam & { content: Array<ContentBlockParam> }> = []
  const push = (role: "user" | "assistant", block: ContentBlockParam) => {
    const last = out.at(-1)
    if (last?.role === role) last.content.push(block)
    else out.push({ role, content: [block] })
  }
  for (const message of messages) {
    switch (message._tag) {
      case "System":
        system.push(message.text)
        break
      case "User":
        for (const file of message.files ?? []) push("user", fileBlock(file))
        push("user", { type: "text", text: message.text })
        break
      case "Assistant":
        push("assistant", { type: "text", text: message.text })
        break
      case "ToolCall":
        push("assistant", {
          type: "tool_use",
          id: message.id,
          name: message.name,
          input: parseInput(message.arguments)
        })
        break
      case "ToolResult":
        push("user", {
          type: "tool_result",
          tool_use_id: message.id,
          content: message.output,
          ...(message.isError ? { is_error: true } : {})
        })
        break
      case "Reasoning":
        if (message.encryptedContent === undefined) break
        if (message.id.startsWith("redacted_thinking_")) {
          push("assistant", { type: "redacted_thinking", data: message.encryptedContent })
        } else if (message.id.startsWith("thinking_")) {
          push("assistant", {
            type: "thinking",
            thinking: message.summary.join(""),
            signature: message.encryptedContent
          })
        }
        break
    }
  }
  return { system: system.join("\n\n"), messages: out }
}

/** The request body (without `stream`). */
export const toParams = (request: ProviderRequest, thinking: Thinking | undefined): MessageCreateParamsBase => {
  const { system, messages } = toMessages(request.messages)
  const choice = request.toolChoice
  return {
    model: request.model,
    max_tokens: request.maxOutputTokens ?? defaultMaxTokens,
    messages,
    ...(system ? { system } : {}),
    ...(request.tools.length > 0
      ? {
          tools: request.tools.map((tool) => ({
            name: tool.name,
            description: tool.description,
            input_schema: tool.jsonSchema as { type: "object" }
          }))
        }
      : {}),
    ...(choice === undefined
      ? {}
      : {
          tool_choice:
            choice === "auto"
              ? { type: "auto" as const }
              : choice === "none"
                ? { type: "none" as const }
                : choice === "required"
                  ? { type: "any" as const }
                  : { type: "tool" as const, name: choice.tool }
        }),
    ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
    ...(thinking === undefined
      ? {}
      : {
          thinking:
            thinking === "adaptive" ? { type: "adaptive" } : { type: "enabled", budget_tokens: thinking.budgetTokens }
        }),
    ...(request.output === undefined && request.reasoningEffort === undefined
      ? {}
      : {
          output_config: {
            ...(request.reasoningEffort === undefined ? {} : { effort: anthropicEffort(request.reasoningEffort) }),
            ...(request.output === undefined
              ? {}
              : {
                  format: { type: "json_schema" as const, schema: request.output.jsonSchema as Record<string, unknown> }
                })
          }
        })
  }
}

const finishOf = (reason: string | null | undefined, hasToolCalls: boolean): ProviderFinish =>
  reason === "max_tokens" || reason === "model_context_window_exceeded"
    ? "length"
    : hasToolCalls || reason === "tool_use"
      ? "tool-calls"
      : "stop"

interface WireUsage {
  readonly input_tokens?: number | null
  readonly output_tokens?: number | null
  readonly cache_read_input_tokens?: number | null
  readonly cache_creation_input_tokens?: number | null
  readonly output_tokens_details?: { readonly thinking_tokens?: number | null } | null
}

/** Anthropic's usage: its `input_tokens` leaves out cached tokens, which ours include. */
const usageOf = (usage: WireUsage | null | undefined): Usage.Usage | undefined => {
  if (!usage || (usage.input_tokens == null && usage.output_tokens == null)) return undefined
  const cacheRead = usage.cache_read_input_tokens ?? 0
  return {
    inputTokens: (usage.input_tokens ?? 0) + cacheRead + (usage.cache_creation_input_tokens ?? 0),
    outputTokens: usage.output_tokens ?? 0,
    cachedInputTokens: cacheRead,
    reasoningTokens: usage.output_tokens_details?.thinking_tokens ?? 0
  }
}

/** Content blocks as transcript items: text, tool calls, thinking (its signature kept to replay). */
const messagesOf = (content: ReadonlyArray<ContentBlock>): ReadonlyArray<Message.Message> => {
  const out: Array<Message.Message> = []
  content.forEach((block, index) => {
    if (block.type === "text") {
      const last = out.at(-1)
      if (last?._tag === "Assistant") out[out.length - 1] = Message.assistant(last.text + block.text)
      else out.push(Message.assistant(block.text))
    } else if (block.type === "tool_use") {
      // a streamed call's arguments are the JSON text as it came
      const streamed = (block as { readonly partial?: string }).partial
      out.push(Message.toolCall(block.id, block.name, streamed || JSON.stringify(block.input ?? {})))
    } else if (block.type === "thinking") {
      out.push({
        _tag: "Reasoning",
        id: thinkingId(index),
        summary: [block.thinking],
        encryptedContent: block.signature
      })
    } else if (block.type === "redacted_thinking") {
      out.push({ _tag: "Reasoning", id: redactedId(index), summary: [], encryptedContent: block.data })
    }
  })
  return out
}

/** A whole message. */
export const fromMessage = (message: AnthropicMessage, requestId: string | undefined): ProviderResult => {
  const messages = messagesOf(message.content ?? [])
  const text = messages.flatMap((m) => (m._tag === "Assistant" ? [m.text] : [])).join("")
  return {
    id: message.id,
    model: message.model,
    messages: message.stop_reason === "refusal" ? messages.filter((m) => m._tag !== "Assistant") : messages,
    finish: finishOf(
      message.stop_reason,
      messages.some((m) => m._tag === "ToolCall")
    ),
    ...(message.stop_reason === "refusal" ? { refusal: text || "the model declined to answer" } : {}),
    usage: usageOf(message.usage),
    ...(requestId === undefined ? {} : { requestId })
  }
}

/**
 * The events of a streamed answer's body, read as the SDK reads them but by our SSE reader (see `sse.ts`): `ping` and
 * events without a name are skipped, an `error` event throws the SDK's `APIError` (classified by its type, as an HTTP
 * error is), data that is not JSON throws `MalformedResponse` showing it, not retried (the SDK printed it to the
 * console and threw a bare `SyntaxError`, a retried `ConnectionFailed` to us).
 *
 * @example
 * for await (const event of streamEvents(response, requestId, sdk.APIError)) map(event)
 */
export async function* streamEvents(
  response: Response,
  requestId: string | undefined,
  APIError: Sdk.Anthropic["APIError"]
): AsyncGenerator<RawMessageStreamEvent> {
  for await (const { event, data } of sseMessages(response)) {
    if (event === undefined || event === "ping" || data === "") continue
    if (event === "error") {
      let body: unknown = data
      try {
        body = JSON.parse(data)
      } catch {
        // (an error event whose data is not JSON: its text is the error)
      }
      const type = (body as { readonly error?: { readonly type?: unknown } } | null)?.error?.type
      throw new APIError(
        undefined,
        body as object,
        undefined,
        response.headers,
        typeof type === "string" ? (type as never) : undefined
      )
    }
    yield jsonOf(data, requestId) as RawMessageStreamEvent
  }
}

/** Maps stream events, assembling the message as they come (content blocks by index). */
export const eventMapper = (requestId: string | undefined) => {
  let message: AnthropicMessage | undefined
  const blocks: Array<ContentBlock & { partial?: string }> = []
  return (event: RawMessageStreamEvent): ProviderEvent => {
    switch (event.type) {
      case "message_start":
        message = { ...event.message, content: [] }
        return { _tag: "Progress" }
      case "content_block_start": {
        const block: ContentBlock & { partial?: string } = { ...event.content_block }
        blocks[event.index] = block
        return block.type === "tool_use"
          ? { _tag: "ToolCallStarted", id: block.id, name: block.name }
          : { _tag: "Progress" }
      }
      case "content_block_delta": {
        const block = blocks[event.index]
        const delta = event.delta
        if (block?.type === "text" && delta.type === "text_delta") {
          block.text += delta.text
          return { _tag: "TextDelta", delta: delta.text }
        }
        if (block?.type === "tool_use" && delta.type === "input_json_delta") {
          block.partial = (block.partial ?? "") + delta.partial_json
          return { _tag: "ToolCallDelta", id: block.id, delta: delta.partial_json }
        }
        if (block?.type === "thinking" && delta.type === "thinking_delta") block.thinking += delta.thinking
        if (block?.type === "thinking" && delta.type === "signature_delta") block.signature += delta.signature
        return { _tag: "Progress" }
      }
      case "content_block_stop": {
        const block = blocks[event.index]
        if (block?.type !== "tool_use") return { _tag: "Progress" }
        return {
          _tag: "ToolCallDone",
          call: Message.toolCall(block.id, block.name, block.partial || JSON.stringify(block.input ?? {}))
        }
      }
      case "message_delta":
        if (message) {
          message = {
            ...message,
            stop_reason: event.delta.stop_reason ?? message.stop_reason,
            usage: { ...message.usage, ...event.usage } as AnthropicMessage["usage"]
          }
        }
        return { _tag: "Progress" }
      case "message_stop":
        return {
          _tag: "Finished",
          result: fromMessage(
            { ...(message as AnthropicMessage), content: blocks.filter((b) => b !== undefined) },
            requestId
          )
        }
      default:
        return { _tag: "Progress" }
    }
  }
}

/**
 * Maps what the Anthropic SDK throws, by the error classes of the loaded SDK (see `sdk.ts`); an error event inside
 * a stream is classified by its type.
 *
 * @example
 * Effect.map(Sdk.anthropic, (sdk) => sdkCalls(fromSdkError(sdk), "request-id"))
 */
export const fromSdkError =
  (sdk: Sdk.Anthropic) =>
  (error: unknown): LlmError => {
    const { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } = sdk
    // ours, thrown from inside a stream we read (an event that is not JSON: MalformedResponse)
    if (isLlmError(error)) return error as LlmError
    if (error instanceof APIConnectionTimeoutError) {
      return new TimedOut({ message: error.message, phase: "connect", after: Duration.zero })
    }
    if (error instanceof APIConnectionError || error instanceof APIUserAbortError) {
      return new ConnectionFailed({ message: error.message })
    }
    if (error instanceof APIError) {
      const body = error.error as { readonly error?: { readonly type?: string; readonly message?: string } } | undefined
      return fromStatus(error.status, {
        message: body?.error?.message ?? error.message,
        code: body?.error?.type,
        requestId: error.requestID ?? undefined,
        retryAfter: retryAfterFromHeaders(error.headers, Date.now())
      })
    }
    return new ConnectionFailed({ message: error instanceof Error ? error.message : String(error) })
  }
