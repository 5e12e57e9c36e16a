/**
 * Token usage of a model call, the same shape whichever API answered.
 *
 * - Responses API: `input_tokens`, `input_tokens_details.cached_tokens`, `output_tokens`,
 *   `output_tokens_details.reasoning_tokens`.
 * - Chat Completions: `prompt_tokens`, `prompt_tokens_details.cached_tokens`, `completion_tokens`,
 *   `completion_tokens_details.reasoning_tokens`.
 *
 * `cachedInputTokens` is part of `inputTokens`; `reasoningTokens` is part of `outputTokens`.
 *
 * **Estimates.** A server that reports no usage (many compatible servers, or a Chat stream whose server
 * ignores `stream_options`) is charged an estimate, marked `estimated: true`, so that budgets and metrics
 * still count it. The heuristic, the same for every model: one token per 4 bytes of UTF-8, rounded up, for
 * each text (message, tool arguments, tool result, tool definitions); plus 4 tokens of framing per message;
 * and 1,000 tokens per file (an image or a document). It is close for English prose and code on OpenAI's
 * tokenizers, and high for scripts that tokenizers pack densely. A stream cut short is estimated the same way.
 *
 * @example
 * ```ts
 * const a = Usage.make({ inputTokens: 120, outputTokens: 30 })
 * const both = Usage.add(a, Usage.make({ inputTokens: 80, outputTokens: 20, estimated: true }))
 * Usage.total(both) // 250, and both.estimated is true
 * Usage.estimateText("four") // 1 (one token per 4 bytes of UTF-8)
 * ```
 */
import { Schema } from "effect"
import type * as Message from "./Message.ts"

/** Token counts of one call (or a sum of calls). */
export const Usage = Schema.Struct({
  inputTokens: Schema.Number,
  outputTokens: Schema.Number,
  /** Input tokens served from the provider's prompt cache (included in `inputTokens`). */
  cachedInputTokens: Schema.Number,
  /** Hidden reasoning tokens (included in `outputTokens`). */
  reasoningTokens: Schema.Number,
  /** Set when the server reported no usage and these counts are an estimate (see the module's doc). */
  estimated: Schema.optionalKey(Schema.Boolean)
})
export type Usage = typeof Usage.Type

/** No tokens. */
export const empty: Usage = { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, reasoningTokens: 0 }

/** Makes a usage; missing counts are 0. */
export const make = (usage: Partial<Usage>): Usage => ({ ...empty, ...usage })

/** Sum of two usages; estimated when either is. */
export const add = (a: Usage, b: Usage): Usage => ({
  inputTokens: a.inputTokens + b.inputTokens,
  outputTokens: a.outputTokens + b.outputTokens,
  cachedInputTokens: a.cachedInputTokens + b.cachedInputTokens,
  reasoningTokens: a.reasoningTokens + b.reasoningTokens,
  ...(a.estimated || b.estimated ? { estimated: true } : {})
})

/** Input plus output tokens. */
export const total = (usage: Usage): number => usage.inputTokens + usage.outputTokens

/** Normalises the Responses API's `usage` object (`undefined` when the server sent none). */
export const fromResponses = (
  usage:
    | {
        readonly input_tokens: number
        readonly output_tokens: number
        readonly input_tokens_details?: { readonly cached_tokens?: number } | null
        readonly output_tokens_details?: { readonly reasoning_tokens?: number } | null
      }
    | null
    | undefined
): Usage | undefined =>
  usage
    ? {
        inputTokens: usage.input_tokens,
        outputTokens: usage.output_tokens,
        cachedInputTokens: usage.input_tokens_details?.cached_tokens ?? 0,
        reasoningTokens: usage.output_tokens_details?.reasoning_tokens ?? 0
      }
    : undefined

/** Normalises the Chat Completions API's `usage` object (`undefined` when the server sent none). */
export const fromChat = (
  usage:
    | {
        readonly prompt_tokens: number
        readonly completion_tokens: number
        readonly prompt_tokens_details?: { readonly cached_tokens?: number } | null
        readonly completion_tokens_details?: { readonly reasoning_tokens?: number } | null
      }
    | null
    | undefined
): Usage | undefined =>
  usage
    ? {
        inputTokens: usage.prompt_tokens,
        outputTokens: usage.completion_tokens,
        cachedInputTokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
        reasoningTokens: usage.completion_tokens_details?.reasoning_tokens ?? 0
      }
    : undefined

const encoder = new TextEncoder()

/** The estimated tokens of a text: one per 4 bytes of UTF-8, rounded up. */
export const estimateText = (text: string): number => Math.ceil(encoder.encode(text).length / 4)

/** Tokens of framing counted per message, and per file. */
const perMessage = 4
const perFile = 1000

/** The estimated tokens of a transcript (and of tool definitions or schemas sent with it, as JSON). */
export const estimateMessages = (
  messages: ReadonlyArray<Message.Message>,
  extra: ReadonlyArray<unknown> = []
): number =>
  messages.reduce((n, message) => {
    switch (message._tag) {
      case "ToolCall":
        return n + perMessage + estimateText(message.name) + estimateText(message.arguments)
      case "ToolResult":
        return n + perMessage + estimateText(message.output)
      case "Reasoning":
        return n + perMessage + estimateText(message.summary.join("")) + estimateText(message.encryptedContent ?? "")
      case "User":
        return n + perMessage + estimateText(message.text) + (message.files?.length ?? 0) * perFile
      default:
        return n + perMessage + estimateText(message.text)
    }
  }, 0) + extra.reduce<number>((n, u) => n + estimateText(JSON.stringify(u) ?? ""), 0)

/** The usage of a call estimated from what was sent and what came back, marked `estimated`. */
export const estimate = (
  input: ReadonlyArray<Message.Message>,
  output: ReadonlyArray<Message.Message>,
  extra: ReadonlyArray<unknown> = []
): Usage => ({
  ...empty,
  inputTokens: estimateMessages(input, extra),
  outputTokens: output.reduce(
    (n, m) =>
      n +
      (m._tag === "Assistant"
        ? estimateText(m.text)
        : m._tag === "ToolCall"
          ? estimateText(m.name) + estimateText(m.arguments)
          : m._tag === "Reasoning"
            ? estimateText(m.summary.join(""))
            : 0),
    0
  ),
  estimated: true
})
