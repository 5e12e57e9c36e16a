/** Our requests and answers <-> the Responses API (`POST /responses`). */
import type {
  Response as OpenAiResponse,
  ResponseCreateParamsBase,
  ResponseInputContent,
  ResponseInputItem,
  ResponseStreamEvent
} from "openai/resources/responses/responses"
import type { ProviderEvent, ProviderFinish, ProviderRequest, ProviderResult } from "../LanguageModel.ts"
import type { LlmError } from "../LlmError.ts"
import * as Message from "../Message.ts"
import * as Usage from "../Usage.ts"
import { openAiEffort } from "./chatApi.ts"
import { fromStatus } from "./errors.ts"

/** What the Responses API is told besides the request: `store: false` keeps nothing on the server. */
export interface Settings {
  /**
   * `false`: the server keeps nothing (zero data retention); reasoning is then asked for encrypted
   * (`include: ["reasoning.encrypted_content"]`) so that it can be replayed. Default: the server's default.
   */
  readonly store?: boolean | undefined
}

/** The request body (without `stream`). */
export const toParams = (request: ProviderRequest, settings: Settings = {}): ResponseCreateParamsBase => ({
  model: request.model,
  input: request.messages.map(toInputItem),
  ...(settings.store === false ? { store: false, include: ["reasoning.encrypted_content" as const] } : {}),
  ...(request.tools.length > 0
    ? {
        tools: request.tools.map((tool) => ({
          type: "function" as const,
          name: tool.name,
          description: tool.description,
          parameters: tool.jsonSchema as Record<string, unknown>,
          strict: tool.strict ?? true
        }))
      }
    : {}),
  ...(request.toolChoice === undefined
    ? {}
    : {
        tool_choice:
          typeof request.toolChoice === "string"
            ? request.toolChoice
            : { type: "function" as const, name: request.toolChoice.tool }
      }),
  ...(request.maxOutputTokens === undefined ? {} : { max_output_tokens: request.maxOutputTokens }),
  ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
  ...(request.reasoningEffort === undefined ? {} : { reasoning: { effort: openAiEffort(request.reasoningEffort) } }),
  ...(request.output === undefined
    ? {}
    : {
        text: {
          format: {
            type: "json_schema" as const,
            name: request.output.name,
            schema: request.output.jsonSchema as Record<string, unknown>,
            strict: true,
            ...(request.output.description === undefined ? {} : { description: request.output.description })
          }
        }
      })
})

/** A file as an input part: an image, or a document by URL or inline. */
const inputFile = (file: Message.File): ResponseInputContent =>
  file.mediaType.startsWith("image/")
    ? { type: "input_image", image_url: Message.fileUrl(file), detail: "auto" }
    : "url" in file && !file.url.startsWith("data:")
      ? { type: "input_file", file_url: file.url }
      : { type: "input_file", file_data: Message.fileUrl(file), filename: file.name ?? "file" }

const toInputItem = (message: Message.Message): ResponseInputItem => {
  switch (message._tag) {
    case "System":
      return { role: "system", content: message.text }
    case "User":
      return message.files === undefined
        ? { role: "user", content: message.text }
        : { role: "user", content: [{ type: "input_text", text: message.text }, ...message.files.map(inputFile)] }
    case "Assistant":
      return message.itemId === undefined
        ? { role: "assistant", content: message.text }
        : {
            type: "message",
            id: message.itemId,
            role: "assistant",
            status: "completed",
            content: [{ type: "output_text", text: message.text, annotations: [] }]
          }
    case "ToolCall":
      return {
        type: "function_call",
        call_id: message.id,
        name: message.name,
        arguments: message.arguments,
        ...(message.itemId === undefined ? {} : { id: message.itemId })
      }
    case "ToolResult":
      return { type: "function_call_output", call_id: message.id, output: message.output }
    case "Reasoning":
      return {
        type: "reasoning",
        id: message.id,
        summary: message.summary.map((text) => ({ type: "summary_text" as const, text })),
        ...(message.encryptedContent === undefined ? {} : { encrypted_content: message.encryptedContent })
      }
  }
}

/** A function call item as a tool call, keeping the item's id. */
const toolCallOf = (item: {
  readonly call_id: string
  readonly name: string
  readonly arguments: string
  readonly id?: string | undefined
}) => ({
  ...Message.toolCall(item.call_id || item.id || "", item.name, item.arguments),
  ...(item.id ? { itemId: item.id } : {})
})

/** A whole response, or the error it reports. */
export const fromResponse = (response: OpenAiResponse, requestId: string | undefined): ProviderResult | LlmError => {
  if (response.status === "failed" || response.error) {
    return fromStatus(undefined, {
      message: response.error?.message ?? "the response failed",
      code: response.error?.code,
      requestId
    })
  }
  const messages: Array<Message.Message> = []
  let refusal: string | undefined
  for (const item of response.output ?? []) {
    if (item.type === "message") {
      const text = item.content.flatMap((part) => (part.type === "output_text" ? [part.text] : [])).join("")
      const refusals = item.content.flatMap((part) => (part.type === "refusal" ? [part.refusal] : []))
      if (refusals.length > 0) refusal = refusals.join("")
      if (text) messages.push({ ...Message.assistant(text), ...(item.id ? { itemId: item.id } : {}) })
    } else if (item.type === "function_call") {
      messages.push(toolCallOf(item))
    } else if (item.type === "reasoning") {
      messages.push({
        _tag: "Reasoning",
        id: item.id,
        summary: item.summary.map((s) => s.text),
        ...(item.encrypted_content ? { encryptedContent: item.encrypted_content } : {})
      })
    }
  }
  const incomplete = response.status === "incomplete" ? response.incomplete_details?.reason : undefined
  const finish: ProviderFinish =
    incomplete === "content_filter"
      ? "content-filter"
      : incomplete !== undefined
        ? "length"
        : messages.some((m) => m._tag === "ToolCall")
          ? "tool-calls"
          : "stop"
  return {
    id: response.id,
    model: response.model,
    messages,
    finish,
    ...(refusal === undefined ? {} : { refusal }),
    usage: Usage.fromResponses(response.usage),
    ...(requestId === undefined ? {} : { requestId })
  }
}

/** Maps stream events, keeping which output item is which tool call. */
export const eventMapper = (requestId: string | undefined) => {
  const calls = new Map<string, { readonly id: string; readonly name: string }>()
  return (event: ResponseStreamEvent): ProviderEvent | LlmError => {
    switch (event.type) {
      case "response.output_text.delta":
        return { _tag: "TextDelta", delta: event.delta }
      case "response.output_item.added":
        if (event.item.type === "function_call") {
          const call = { id: event.item.call_id, name: event.item.name }
          calls.set(event.item.id ?? event.item.call_id, call)
          return { _tag: "ToolCallStarted", ...call }
        }
        return { _tag: "Progress" }
      case "response.function_call_arguments.delta": {
        const call = calls.get(event.item_id)
        return call ? { _tag: "ToolCallDelta", id: call.id, delta: event.delta } : { _tag: "Progress" }
      }
      case "response.output_item.done":
        return event.item.type === "function_call"
          ? { _tag: "ToolCallDone", call: toolCallOf(event.item) }
          : { _tag: "Progress" }
      case "response.completed":
      case "response.incomplete":
      case "response.failed": {
        const result = fromResponse(event.response, requestId)
        return "_tag" in result ? result : { _tag: "Finished", result }
      }
      case "error":
        return fromStatus(undefined, { message: event.message, code: event.code ?? undefined, requestId })
      default:
        return { _tag: "Progress" }
    }
  }
}
