/**
 * The OpenAI wire format as the test server speaks it: answers and SSE event sequences of the Responses API and
 * Chat Completions, with the faults of real servers (errors inside streams, missing usage, partial tool-call
 * shapes). How it reads requests (and refuses reasoning items not replayed whole) is in `openAiRequest.ts`.
 */
import * as Turn from "../Turn.ts"
import type * as Usage from "../Usage.ts"
import { type Api, decode, refuse } from "./openAiRequest.ts"
import { type Answer, type Dialect, type Json, list, statusOfCode, type WireEvent } from "./testServer.ts"

const errorType = (status: number) =>
  status === 429
    ? "rate_limit_exceeded"
    : status === 401
      ? "authentication_error"
      : status === 403
        ? "permission_error"
        : status === 404
          ? "not_found_error"
          : status >= 500
            ? "server_error"
            : "invalid_request_error"

const errorObject = (status: number, message: string, code: string | number | undefined) => ({
  message,
  type: errorType(status),
  param: null,
  code: code ?? null
})

// ---------------------------------------------------------------------------------------------------------
// Responses API

const responsesUsage = (usage: Usage.Usage) => ({
  input_tokens: usage.inputTokens,
  input_tokens_details: { cached_tokens: usage.cachedInputTokens },
  output_tokens: usage.outputTokens,
  output_tokens_details: { reasoning_tokens: usage.reasoningTokens },
  total_tokens: usage.inputTokens + usage.outputTokens
})

const responsesItems = ({ index, turn }: Answer, encrypted: boolean) => {
  const reasoning = turn.reasoning && {
    id: turn.reasoning.id,
    type: "reasoning",
    summary: turn.reasoning.summary.map((text) => ({ type: "summary_text", text })),
    ...(encrypted && turn.reasoning.encryptedContent !== undefined
      ? { encrypted_content: turn.reasoning.encryptedContent }
      : {})
  }
  const content = [
    ...(turn.text ? [{ type: "output_text", text: turn.text, annotations: [], logprobs: [] }] : []),
    ...(turn.refusal === undefined ? [] : [{ type: "refusal", refusal: turn.refusal }])
  ]
  const message =
    content.length > 0
      ? { id: `msg_${index}`, type: "message", role: "assistant", status: "completed", content }
      : undefined
  const calls = turn.toolCalls.map((call, i) => ({
    id: `fc_${index}_${i}`,
    type: "function_call",
    call_id: call.id,
    name: call.name,
    arguments: call.arguments,
    status: "completed"
  }))
  return { reasoning, message, calls }
}

/** Whether the request asked for encrypted reasoning (`include: ["reasoning.encrypted_content"]`). */
type Encrypted = { readonly encrypted: boolean }

const responsesObject = (answer: Answer & Encrypted, final: boolean): Json => {
  const { reasoning, message, calls } = responsesItems(answer, answer.encrypted)
  const incomplete = answer.turn.finish === "length" || answer.turn.finish === "content-filter"
  return {
    id: `resp_${answer.index}`,
    object: "response",
    created_at: answer.created,
    status: !final ? "in_progress" : incomplete ? "incomplete" : "completed",
    model: answer.model,
    output: final ? [...(reasoning ? [reasoning] : []), ...(message ? [message] : []), ...calls] : [],
    ...(answer.omit.has("usage") ? {} : { usage: final ? responsesUsage(answer.turn.usage) : null }),
    incomplete_details:
      final && incomplete ? { reason: answer.turn.finish === "length" ? "max_output_tokens" : "content_filter" } : null,
    error: null,
    instructions: null,
    metadata: {},
    parallel_tool_calls: true,
    temperature: 1,
    tool_choice: "auto",
    tools: [],
    top_p: 1,
    text: { format: { type: "text" } }
  }
}

const responsesEvents = (answer: Answer & Encrypted): ReadonlyArray<WireEvent> => {
  const events: Array<WireEvent> = []
  const push = (data: Json, delta = false) =>
    events.push({ event: String(data.type), data: { ...data, sequence_number: events.length }, delta })
  const { reasoning, message, calls } = responsesItems(answer, answer.encrypted)
  const { turn } = answer
  push({ type: "response.created", response: responsesObject(answer, false) })
  push({ type: "response.in_progress", response: responsesObject(answer, false) })
  let outputIndex = 0
  if (reasoning) {
    const at = { item_id: reasoning.id, output_index: outputIndex }
    push({ type: "response.output_item.added", output_index: outputIndex, item: { ...reasoning, summary: [] } })
    reasoning.summary.forEach((part, summaryIndex) => {
      const where = { ...at, summary_index: summaryIndex }
      push({ type: "response.reasoning_summary_part.added", ...where, part: { type: "summary_text", text: "" } })
      push({ type: "response.reasoning_summary_text.delta", ...where, delta: part.text })
      push({ type: "response.reasoning_summary_text.done", ...where, text: part.text })
      push({ type: "response.reasoning_summary_part.done", ...where, part })
    })
    push({ type: "response.output_item.done", output_index: outputIndex, item: reasoning })
    outputIndex++
  }
  if (message) {
    const at = { item_id: message.id, output_index: outputIndex }
    push({
      type: "response.output_item.added",
      output_index: outputIndex,
      item: { ...message, status: "in_progress", content: [] }
    })
    message.content.forEach((part, contentIndex) => {
      const where = { ...at, content_index: contentIndex }
      if (part.type === "output_text") {
        push({ type: "response.content_part.added", ...where, part: { ...part, text: "" } })
        for (const delta of Turn.chunks(turn.text, turn.chunkSize)) {
          push({ type: "response.output_text.delta", ...where, delta, logprobs: [] }, true)
        }
        push({ type: "response.output_text.done", ...where, text: turn.text, logprobs: [] })
      } else {
        push({ type: "response.content_part.added", ...where, part: { type: "refusal", refusal: "" } })
        for (const delta of Turn.chunks(turn.refusal ?? "", turn.chunkSize)) {
          push({ type: "response.refusal.delta", ...where, delta })
        }
        push({ type: "response.refusal.done", ...where, refusal: turn.refusal })
      }
      push({ type: "response.content_part.done", ...where, part })
    })
    push({ type: "response.output_item.done", output_index: outputIndex, item: message })
    outputIndex++
  }
  for (const call of calls) {
    const at = { item_id: call.id, output_index: outputIndex }
    push({
      type: "response.output_item.added",
      output_index: outputIndex,
      item: { ...call, arguments: "", status: "in_progress" }
    })
    for (const delta of Turn.chunks(call.arguments, turn.chunkSize)) {
      push({ type: "response.function_call_arguments.delta", ...at, delta }, true)
    }
    push({ type: "response.function_call_arguments.done", ...at, name: call.name, arguments: call.arguments })
    push({ type: "response.output_item.done", output_index: outputIndex, item: call })
    outputIndex++
  }
  const final = responsesObject(answer, true)
  push({ type: final.status === "completed" ? "response.completed" : "response.incomplete", response: final })
  return events
}

// ---------------------------------------------------------------------------------------------------------
// Chat Completions

const chatFinish = { stop: "stop", "tool-calls": "tool_calls", length: "length", "content-filter": "content_filter" }

const chatUsage = (usage: Usage.Usage) => ({
  prompt_tokens: usage.inputTokens,
  completion_tokens: usage.outputTokens,
  total_tokens: usage.inputTokens + usage.outputTokens,
  prompt_tokens_details: { cached_tokens: usage.cachedInputTokens },
  completion_tokens_details: { reasoning_tokens: usage.reasoningTokens }
})

const chatToolCalls = ({ turn, omit }: Answer) =>
  turn.toolCalls.map((call) => ({
    id: call.id,
    ...(omit.has("tool-call-type") ? {} : { type: "function" }),
    function: { ...(omit.has("tool-call-name") ? {} : { name: call.name }), arguments: call.arguments }
  }))

const chatCompletion = (answer: Answer): Json => {
  const { index, model, turn, created, omit } = answer
  return {
    id: `chatcmpl-${index}`,
    object: "chat.completion",
    created,
    model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: turn.text || null,
          refusal: turn.refusal ?? null,
          ...(turn.toolCalls.length > 0 ? { tool_calls: chatToolCalls(answer) } : {})
        },
        logprobs: null,
        finish_reason: chatFinish[turn.finish]
      }
    ],
    ...(omit.has("usage") ? {} : { usage: chatUsage(turn.usage) })
  }
}

const chatChunks = (answer: Answer): ReadonlyArray<WireEvent> => {
  const { index, model, turn, created, omit } = answer
  const base = { id: `chatcmpl-${index}`, object: "chat.completion.chunk", created, model }
  const events: Array<WireEvent> = []
  const push = (delta: Json, isDelta = false, finish: string | null = null) =>
    events.push({
      data: { ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] },
      delta: isDelta
    })
  push({ role: "assistant", content: "" })
  for (const content of Turn.chunks(turn.text, turn.chunkSize)) push({ content }, true)
  for (const refusal of Turn.chunks(turn.refusal ?? "", turn.chunkSize)) push({ refusal })
  chatToolCalls(answer).forEach((call, i) => {
    if (omit.has("tool-call-index")) {
      push({ tool_calls: [call] }, true)
      return
    }
    push({ tool_calls: [{ index: i, ...call, function: { ...call.function, arguments: "" } }] })
    for (const args of Turn.chunks(call.function.arguments, turn.chunkSize)) {
      push({ tool_calls: [{ index: i, function: { arguments: args } }] }, true)
    }
  })
  push({}, false, chatFinish[turn.finish])
  if (!omit.has("usage")) events.push({ data: { ...base, choices: [], usage: chatUsage(turn.usage) }, delta: false })
  return events
}

// ---------------------------------------------------------------------------------------------------------
// The dialect

const encryptedOf = (body: Json) => list(body.include).includes("reasoning.encrypted_content")

/** The OpenAI wire for the test server. */
export const dialect: Dialect<Api> = {
  basePath: "/v1",
  route: (path) =>
    path.endsWith("/responses") ? "responses" : path.endsWith("/chat/completions") ? "chat" : undefined,
  decode,
  refuse,
  error: (status, message, code) => ({ error: errorObject(status, message, code) }),
  answer: (api, answer) =>
    api === "responses"
      ? responsesObject({ ...answer, encrypted: encryptedOf(answer.body) }, true)
      : chatCompletion(answer),
  events: (api, answer) =>
    api === "responses" ? responsesEvents({ ...answer, encrypted: encryptedOf(answer.body) }) : chatChunks(answer),
  streamError: (api, answer, spec) => {
    const code = spec.code ?? "server_error"
    const status = statusOfCode(code)
    const error = errorObject(status, spec.message ?? "", code)
    if (api === "chat") return { events: [{ data: { error }, delta: false }], whole: { status, body: { error } } }
    if (spec.event === "response.failed") {
      const failed = {
        ...responsesObject({ ...answer, encrypted: false }, false),
        status: "failed",
        error: { code, message: error.message }
      }
      return {
        events: [{ event: "response.failed", data: { type: "response.failed", response: failed }, delta: false }],
        whole: { status: 200, body: failed }
      }
    }
    return {
      events: [{ event: "error", data: { type: "error", code, message: error.message, param: null }, delta: false }],
      whole: { status, body: { error } }
    }
  },
  done: (api) => (api === "chat" ? "data: [DONE]\n\n" : undefined)
}
