/**
 * Anthropic's Messages API as the test server speaks it: requests decoded back into transcripts, whole
 * messages and SSE event sequences (`message_start`, `content_block_*`, `message_delta`, `message_stop`,
 * `ping`), errors with Anthropic's bodies (529 overloaded), and the checks Anthropic makes of a request.
 */
import type * as Message from "../Message.ts"
import * as Turn from "../Turn.ts"
import {
  type Answer,
  type Decoded,
  type Dialect,
  type Json,
  list,
  record,
  statusOfCode,
  str,
  type WireEvent
} from "./testServer.ts"

export type Api = "messages"

const textOf = (content: unknown): string =>
  typeof content === "string"
    ? content
    : list(content)
        .map((block) => str(record(block).text))
        .join("")

const fileOf = (block: Json): Message.File => {
  const source = record(block.source)
  const fallback = block.type === "image" ? "image/*" : "application/pdf"
  return source.type === "url"
    ? { mediaType: fallback, url: str(source.url) }
    : { mediaType: str(source.media_type) || fallback, data: str(source.data) }
}

/** Decodes the messages of a request body back into a transcript. */
const messagesOf = (body: Json): ReadonlyArray<Message.Message> => {
  const out: Array<Message.Message> = []
  const names = new Map<string, string>()
  const system = typeof body.system === "string" ? body.system : textOf(body.system)
  if (system) out.push({ _tag: "System", text: system })
  for (const message of list(body.messages).map(record)) {
    const blocks =
      typeof message.content === "string" ? [{ type: "text", text: message.content }] : list(message.content)
    const files: Array<Message.File> = []
    for (const block of blocks.map(record)) {
      switch (block.type) {
        case "text":
          if (message.role === "user") {
            out.push({ _tag: "User", text: str(block.text), ...(files.length > 0 ? { files: files.splice(0) } : {}) })
          } else out.push({ _tag: "Assistant", text: str(block.text) })
          break
        case "image":
        case "document":
          files.push(fileOf(block))
          break
        case "tool_use":
          names.set(str(block.id), str(block.name))
          out.push({
            _tag: "ToolCall",
            id: str(block.id),
            name: str(block.name),
            arguments: JSON.stringify(block.input ?? {})
          })
          break
        case "tool_result":
          out.push({
            _tag: "ToolResult",
            id: str(block.tool_use_id),
            name: names.get(str(block.tool_use_id)) ?? "",
            output: textOf(block.content),
            isError: block.is_error === true
          })
          break
        case "thinking":
          out.push({
            _tag: "Reasoning",
            id: "thinking",
            summary: [str(block.thinking)],
            encryptedContent: str(block.signature)
          })
          break
        case "redacted_thinking":
          out.push({ _tag: "Reasoning", id: "redacted_thinking", summary: [], encryptedContent: str(block.data) })
          break
      }
    }
  }
  return out
}

const decode = (_api: Api, body: Json, ignored: ReadonlySet<string>): Decoded => ({
  model: str(body.model),
  messages: messagesOf(body),
  tools: list(body.tools).map((tool) => str(record(tool).name)),
  stream: body.stream === true,
  limit: !ignored.has("max_tokens") && typeof body.max_tokens === "number" ? body.max_tokens : undefined,
  usage: true
})

/**
 * What Anthropic refuses: a request without `max_tokens`; a thinking block without its signature; with
 * thinking on, a last assistant turn with a tool call that does not start with its thinking block.
 */
const refuse = (_api: Api, body: Json) => {
  if (typeof body.max_tokens !== "number") return { message: "max_tokens: Field required" }
  const messages = list(body.messages).map(record)
  for (const [i, message] of messages.entries()) {
    for (const [j, block] of list(message.content).map(record).entries()) {
      if (block.type === "thinking" && !str(block.signature)) {
        return { message: `messages.${i}.content.${j}.thinking.signature: Field required` }
      }
    }
  }
  const thinking = record(body.thinking).type
  const lastAssistant = messages.findLast((m) => m.role === "assistant")
  const blocks = list(lastAssistant?.content).map(record)
  if ((thinking === "enabled" || thinking === "adaptive") && blocks.some((b) => b.type === "tool_use")) {
    const first = blocks[0]?.type
    if (first !== "thinking" && first !== "redacted_thinking") {
      return {
        message:
          "messages: Expected `thinking` or `redacted_thinking`, but found `" +
          String(first) +
          "`. When `thinking` is enabled, a final `assistant` message must start with a thinking block."
      }
    }
  }
  return undefined
}

const errorType = (status: number) =>
  status === 429
    ? "rate_limit_error"
    : status === 401
      ? "authentication_error"
      : status === 403
        ? "permission_error"
        : status === 404
          ? "not_found_error"
          : status === 413
            ? "request_too_large"
            : status === 529
              ? "overloaded_error"
              : status >= 500
                ? "api_error"
                : "invalid_request_error"

const errorBody = (status: number, message: string, code: string | number | undefined) => ({
  type: "error",
  error: { type: typeof code === "string" ? code : errorType(status), message }
})

const stopReason = ({ turn }: Answer) =>
  turn.refusal !== undefined || turn.finish === "content-filter"
    ? "refusal"
    : turn.finish === "length"
      ? "max_tokens"
      : turn.finish === "tool-calls"
        ? "tool_use"
        : "end_turn"

const inputOf = (args: string): unknown => {
  try {
    return JSON.parse(args)
  } catch {
    return {}
  }
}

const usageOf = ({ turn }: Answer, outputTokens = turn.usage.outputTokens) => ({
  input_tokens: turn.usage.inputTokens - turn.usage.cachedInputTokens,
  cache_read_input_tokens: turn.usage.cachedInputTokens,
  cache_creation_input_tokens: 0,
  output_tokens: outputTokens,
  ...(turn.usage.reasoningTokens > 0 ? { output_tokens_details: { thinking_tokens: turn.usage.reasoningTokens } } : {})
})

type Block =
  | { readonly type: "thinking"; readonly thinking: string; readonly signature: string }
  | { readonly type: "text"; readonly text: string }
  | { readonly type: "tool_use"; readonly id: string; readonly name: string; readonly input: unknown }

/** The content blocks of an answer. */
const blocksOf = ({ turn }: Answer): ReadonlyArray<Block> => [
  ...(turn.reasoning === undefined
    ? []
    : [
        {
          type: "thinking" as const,
          thinking: turn.reasoning.summary.join(""),
          signature: turn.reasoning.encryptedContent ?? "signature"
        }
      ]),
  ...(turn.text || turn.refusal !== undefined ? [{ type: "text" as const, text: turn.refusal ?? turn.text }] : []),
  ...turn.toolCalls.map((call) => ({
    type: "tool_use" as const,
    id: call.id,
    name: call.name,
    input: inputOf(call.arguments)
  }))
]

const message = (answer: Answer, final: boolean): Json => ({
  id: `msg_${answer.index}`,
  type: "message",
  role: "assistant",
  model: answer.model,
  content: final ? blocksOf(answer) : [],
  stop_reason: final ? stopReason(answer) : null,
  stop_sequence: null,
  ...(answer.omit.has("usage") ? {} : { usage: usageOf(answer, final ? undefined : 1) })
})

const events = (answer: Answer): ReadonlyArray<WireEvent> => {
  const out: Array<WireEvent> = []
  const push = (data: Json, delta = false) => out.push({ event: String(data.type), data, delta })
  const { turn } = answer
  push({ type: "message_start", message: message(answer, false) })
  push({ type: "ping" })
  blocksOf(answer).forEach((block, index) => {
    if (block.type === "thinking") {
      push({ type: "content_block_start", index, content_block: { type: "thinking", thinking: "", signature: "" } })
      push({ type: "content_block_delta", index, delta: { type: "thinking_delta", thinking: block.thinking } })
      push({ type: "content_block_delta", index, delta: { type: "signature_delta", signature: block.signature } })
    } else if (block.type === "text") {
      push({ type: "content_block_start", index, content_block: { type: "text", text: "" } })
      for (const text of Turn.chunks(block.text, turn.chunkSize)) {
        push({ type: "content_block_delta", index, delta: { type: "text_delta", text } }, true)
      }
    } else {
      const call = turn.toolCalls.find((c) => c.id === block.id)!
      push({
        type: "content_block_start",
        index,
        content_block: { type: "tool_use", id: call.id, name: call.name, input: {} }
      })
      for (const partial_json of Turn.chunks(call.arguments, turn.chunkSize)) {
        push({ type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json } }, true)
      }
    }
    push({ type: "content_block_stop", index })
  })
  push({
    type: "message_delta",
    delta: { stop_reason: stopReason(answer), stop_sequence: null },
    ...(answer.omit.has("usage") ? {} : { usage: { output_tokens: turn.usage.outputTokens } })
  })
  push({ type: "message_stop" })
  return out
}

/** The Anthropic wire for the test server. */
export const dialect: Dialect<Api> = {
  basePath: "",
  route: (path) => (path.endsWith("/v1/messages") ? "messages" : undefined),
  decode,
  refuse,
  error: errorBody,
  answer: (_api, answer) => message(answer, true),
  events: (_api, answer) => events(answer),
  streamError: (_api, _answer, spec) => {
    const code = spec.code ?? "api_error"
    const status = code === "overloaded_error" ? 529 : statusOfCode(code)
    const body = errorBody(status, spec.message ?? "", typeof code === "string" ? code : errorType(status))
    return { events: [{ event: "error", data: body, delta: false }], whole: { status, body } }
  }
}
