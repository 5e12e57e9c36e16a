/** Our requests and answers <-> Chat Completions (`POST /chat/completions`). */
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionContentPart,
  ChatCompletionCreateParamsBase,
  ChatCompletionMessageParam
} from "openai/resources/chat/completions/completions"
import type {
  ProviderEvent,
  ProviderFinish,
  ProviderRequest,
  ProviderResult,
  ReasoningEffort
} from "../LanguageModel.ts"
import { type LlmError, MalformedResponse } from "../LlmError.ts"
import * as Message from "../Message.ts"
import * as Usage from "../Usage.ts"

/** Our reasoning effort as OpenAI's (`max` is its `xhigh`). */
export const openAiEffort = (effort: ReasoningEffort) => (effort === "max" ? "xhigh" : effort)

/** Which parameter carries the max output tokens: OpenAI's own, or the older one most compatible servers read. */
export type MaxTokensField = "max_completion_tokens" | "max_tokens"

/** The request body (without `stream`). */
export const toParams = (
  request: ProviderRequest,
  maxTokensField: MaxTokensField = "max_completion_tokens"
): ChatCompletionCreateParamsBase => ({
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
            strict: tool.strict ?? true
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
  ...(request.maxOutputTokens === undefined ? {} : { [maxTokensField]: request.maxOutputTokens }),
  ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
  ...(request.reasoningEffort === undefined ? {} : { reasoning_effort: openAiEffort(request.reasoningEffort) }),
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

/** A file as a content part: an image by URL (or data URL), a document inline. */
const filePart = (file: Message.File): ChatCompletionContentPart =>
  file.mediaType.startsWith("image/")
    ? { type: "image_url", image_url: { url: Message.fileUrl(file) } }
    : { type: "file", file: { file_data: Message.fileUrl(file), filename: file.name ?? "file" } }

/** What Chat Completions cannot take: a document by URL (it wants the bytes). */
export const unsupported = (request: ProviderRequest): string | undefined => {
  for (const message of request.messages) {
    for (const file of message._tag === "User" ? (message.files ?? []) : []) {
      if ("url" in file && !file.mediaType.startsWith("image/") && !file.url.startsWith("data:")) {
        return `Chat Completions takes documents inline, not by URL (${file.url}): give the file's bytes`
      }
    }
  }
  return undefined
}

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
        out.push({
          role: "user",
          content:
            message.files === undefined
              ? message.text
              : [{ type: "text", text: message.text }, ...message.files.map(filePart)]
        })
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

/** A tool call as compatible servers send it: `type`, `index` and `id` may be missing, `arguments` parsed. */
interface WireCall {
  readonly index?: number | undefined
  readonly id?: string | undefined
  readonly type?: string | undefined
  readonly function?: { readonly name?: string | undefined; readonly arguments?: unknown } | undefined
}

const malformed = (what: string, requestId: string | undefined) =>
  new MalformedResponse({
    message: `the server's answer has ${what}`,
    ...(requestId === undefined ? {} : { requestId })
  })

/** What the server sent, as JSON, cut to its first 200 characters. */
export const excerpt = (value: unknown): string => {
  const json = JSON.stringify(value) ?? String(value)
  return json.length > 200 ? `${json.slice(0, 200)}…` : json
}

/** The tool call's name, or why it cannot be understood (a kind of tool never offered, no name). */
const nameOf = (call: WireCall, position: number, requestId: string | undefined): string | LlmError => {
  if (call.type !== undefined && call.type !== "function") {
    return malformed(
      `tool call #${position + 1} of type "${call.type}", but only function tools are offered`,
      requestId
    )
  }
  const name = call.function?.name
  return name ? name : malformed(`tool call #${position + 1} without a function name`, requestId)
}

/** Arguments as JSON text (some servers send them parsed). */
const argumentsOf = (call: WireCall): string => {
  const args = call.function?.arguments
  return args === undefined || args === null ? "" : typeof args === "string" ? args : JSON.stringify(args)
}

/** A whole completion, or why it cannot be understood. Tool calls without `type` are function calls. */
export const fromCompletion = (
  completion: ChatCompletion,
  requestId: string | undefined
): ProviderResult | LlmError => {
  // (`choices` missing is a shape we cannot read: `read` makes the TypeError a `ServerError`)
  const choice: ChatCompletion.Choice | undefined = completion.choices[0]
  // An answer with no choice has no answer in it (not an empty one): say what came.
  if (choice === undefined) return malformed(`no choices: ${excerpt(completion)}`, requestId)
  const messages: Array<Message.Message> = []
  if (choice.message.content) messages.push(Message.assistant(choice.message.content))
  const calls: ReadonlyArray<WireCall> = choice.message.tool_calls ?? []
  for (const [position, call] of calls.entries()) {
    const name = nameOf(call, position, requestId)
    if (typeof name !== "string") return name
    messages.push(Message.toolCall(call.id || `call_${position}`, name, argumentsOf(call)))
  }
  return {
    id: completion.id,
    model: completion.model,
    messages,
    finish: finishOf(
      choice.finish_reason,
      messages.some((m) => m._tag === "ToolCall")
    ),
    ...(choice.message.refusal ? { refusal: choice.message.refusal } : {}),
    usage: Usage.fromChat(completion.usage),
    ...(requestId === undefined ? {} : { requestId })
  }
}

/**
 * Maps stream chunks. Chat streams have no "tool call done" and no final object: the calls are completed
 * when a finish reason arrives, and the result is assembled at the end of the stream (see `finish`).
 *
 * A tool-call delta is matched to its call by `index`; without one (Gemini's compatible endpoint sends
 * each call whole, with no index), by `id`, else it continues the last call, unless it names a function
 * again, which starts a new call. A call that starts with no function name cannot be understood.
 */
export const chunkMapper = (requestId: string | undefined) => {
  let id = ""
  let model = ""
  let text = ""
  let refusal = ""
  let finishReason: string | null = null
  let usage: Usage.Usage | undefined
  let chunksSeen = 0
  let choicesSeen = 0
  let lastChunk: unknown
  const calls: Array<{ id: string; name: string; arguments: string }> = []
  const byIndex = new Map<number, (typeof calls)[number]>()

  const callOf = (delta: WireCall) => {
    if (typeof delta.index === "number") return byIndex.get(delta.index)
    if (delta.id) return calls.find((call) => call.id === delta.id)
    const last = calls.at(-1)
    return delta.function?.name && last?.name ? undefined : last
  }

  const map = (chunk: ChatCompletionChunk): ReadonlyArray<ProviderEvent> | LlmError => {
    id ||= chunk.id
    model ||= chunk.model
    if (chunk.usage) usage = Usage.fromChat(chunk.usage)
    const events: Array<ProviderEvent> = []
    const choice = chunk.choices[0]
    chunksSeen++
    lastChunk = chunk
    if (choice !== undefined) choicesSeen++
    if (choice?.delta?.content) {
      text += choice.delta.content
      events.push({ _tag: "TextDelta", delta: choice.delta.content })
    }
    if (choice?.delta?.refusal) refusal += choice.delta.refusal
    const deltas: ReadonlyArray<WireCall> = choice?.delta?.tool_calls ?? []
    for (const delta of deltas) {
      let call = callOf(delta)
      if (!call) {
        const name = nameOf(delta, calls.length, requestId)
        if (typeof name !== "string") return name
        call = { id: delta.id || `call_${delta.index ?? calls.length}`, name, arguments: "" }
        calls.push(call)
        if (typeof delta.index === "number") byIndex.set(delta.index, call)
        events.push({ _tag: "ToolCallStarted", id: call.id, name: call.name })
      }
      const args = argumentsOf(delta)
      if (args) {
        call.arguments += args
        events.push({ _tag: "ToolCallDelta", id: call.id, delta: args })
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

  /**
   * Why a stream that ended without a finish reason cannot be read, if it is not simply cut short: chunks
   * came, but none had a choice (a server that answers nothing, not an empty answer).
   */
  const unfinished = (): LlmError | undefined =>
    chunksSeen > 0 && choicesSeen === 0
      ? malformed(`no choices in any of its ${chunksSeen} stream chunks (the last: ${excerpt(lastChunk)})`, requestId)
      : undefined

  return {
    map,
    finish,
    unfinished,
    get finished() {
      return finishReason !== null
    }
  }
}
