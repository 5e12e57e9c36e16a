/** Our requests and answers <-> Chat Completions (`POST /chat/completions`). */
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParamsBase,
  ChatCompletionMessageParam
} from "openai/resources/chat/completions/completions"
import type { ProviderEvent, ProviderFinish, ProviderRequest, ProviderResult } from "../LanguageModel.ts"
import * as Message from "../Message.ts"
import * as Usage from "../Usage.ts"

/** The request body (without `stream`). */
export const toParams = (request: ProviderRequest): ChatCompletionCreateParamsBase => ({
  model: request.model,
  messages: toMessages(request.messages),
  ...(request.tools.length > 0
    ? {
        tools: request.tools.map((tool) => ({
          type: "function" as const,
          function: {
            name: tool.name,
            description: tool.description,
            parameters: tool.jsonSchema as Record<string, unknown>,
            strict: true
          }
        }))
      }
    : {}),
  ...(request.toolChoice === undefined
    ? {}
    : {
        tool_choice:
          typeof request.toolChoice === "string"
            ? request.toolChoice
            : { type: "function" as const, function: { name: request.toolChoice.tool } }
      }),
  ...(request.maxOutputTokens === undefined ? {} : { max_completion_tokens: request.maxOutputTokens }),
  ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
  ...(request.output === undefined
    ? {}
    : {
        response_format: {
          type: "json_schema" as const,
          json_schema: {
            name: request.output.name,
            schema: request.output.jsonSchema as Record<string, unknown>,
            strict: true,
            ...(request.output.description === undefined ? {} : { description: request.output.description })
          }
        }
      })
})

/** Consecutive assistant text and tool calls become one assistant message; reasoning items are dropped. */
const toMessages = (messages: ReadonlyArray<Message.Message>): Array<ChatCompletionMessageParam> => {
  const out: Array<ChatCompletionMessageParam> = []
  for (const message of messages) {
    const last = out.at(-1)
    switch (message._tag) {
      case "System":
        out.push({ role: "system", content: message.text })
        break
      case "User":
        out.push({ role: "user", content: message.text })
        break
      case "Assistant":
        if (last?.role === "assistant" && !last.content) last.content = message.text
        else out.push({ role: "assistant", content: message.text })
        break
      case "ToolCall": {
        const call = {
          id: message.id,
          type: "function" as const,
          function: { name: message.name, arguments: message.arguments }
        }
        if (last?.role === "assistant") last.tool_calls = [...(last.tool_calls ?? []), call]
        else out.push({ role: "assistant", content: null, tool_calls: [call] })
        break
      }
      case "ToolResult":
        out.push({ role: "tool", tool_call_id: message.id, content: message.output })
        break
      case "Reasoning":
        break
    }
  }
  return out
}

const finishOf = (reason: string | null | undefined, hasToolCalls: boolean): ProviderFinish =>
  reason === "length"
    ? "length"
    : reason === "content_filter"
      ? "content-filter"
      : hasToolCalls || reason === "tool_calls"
        ? "tool-calls"
        : "stop"

/** A whole completion. */
export const fromCompletion = (completion: ChatCompletion, requestId: string | undefined): ProviderResult => {
  const choice = completion.choices[0]
  const messages: Array<Message.Message> = []
  if (choice?.message.content) messages.push(Message.assistant(choice.message.content))
  for (const call of choice?.message.tool_calls ?? []) {
    if (call.type === "function") messages.push(Message.toolCall(call.id, call.function.name, call.function.arguments))
  }
  return {
    id: completion.id,
    model: completion.model,
    messages,
    finish: finishOf(
      choice?.finish_reason,
      messages.some((m) => m._tag === "ToolCall")
    ),
    ...(choice?.message.refusal ? { refusal: choice.message.refusal } : {}),
    usage: Usage.fromChat(completion.usage),
    ...(requestId === undefined ? {} : { requestId })
  }
}

/**
 * Maps stream chunks. Chat streams have no "tool call done" and no final object: the calls are completed
 * when a finish reason arrives, and the result is assembled at the end of the stream (see `finish`).
 */
export const chunkMapper = (requestId: string | undefined) => {
  let id = ""
  let model = ""
  let text = ""
  let refusal = ""
  let finishReason: string | null = null
  let usage: Usage.Usage = Usage.empty
  const calls: Array<{ id: string; name: string; arguments: string }> = []

  const map = (chunk: ChatCompletionChunk): ReadonlyArray<ProviderEvent> => {
    id ||= chunk.id
    model ||= chunk.model
    if (chunk.usage) usage = Usage.fromChat(chunk.usage)
    const events: Array<ProviderEvent> = []
    const choice = chunk.choices[0]
    if (choice?.delta.content) {
      text += choice.delta.content
      events.push({ _tag: "TextDelta", delta: choice.delta.content })
    }
    if (choice?.delta.refusal) refusal += choice.delta.refusal
    for (const delta of choice?.delta.tool_calls ?? []) {
      let call = calls[delta.index]
      if (!call) {
        call = { id: delta.id ?? `call_${delta.index}`, name: delta.function?.name ?? "", arguments: "" }
        calls[delta.index] = call
        events.push({ _tag: "ToolCallStarted", id: call.id, name: call.name })
      }
      if (delta.function?.arguments) {
        call.arguments += delta.function.arguments
        events.push({ _tag: "ToolCallDelta", id: call.id, delta: delta.function.arguments })
      }
    }
    if (choice?.finish_reason) {
      finishReason = choice.finish_reason
      for (const call of calls) {
        events.push({ _tag: "ToolCallDone", call: Message.toolCall(call.id, call.name, call.arguments) })
      }
    }
    return events.length > 0 ? events : [{ _tag: "Progress" }]
  }

  /** The result once the stream ended. */
  const finish = (): ProviderResult => {
    const messages: Array<Message.Message> = text ? [Message.assistant(text)] : []
    for (const call of calls) messages.push(Message.toolCall(call.id, call.name, call.arguments))
    return {
      id,
      model,
      messages,
      finish: finishOf(finishReason, calls.length > 0),
      ...(refusal ? { refusal } : {}),
      usage,
      ...(requestId === undefined ? {} : { requestId })
    }
  }

  return {
    map,
    finish,
    get finished() {
      return finishReason !== null
    }
  }
}
