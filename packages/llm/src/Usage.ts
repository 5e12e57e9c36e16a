/**
 * Token usage of a model call, the same shape whichever API answered.
 *
 * - Responses API: `input_tokens`, `input_tokens_details.cached_tokens`, `output_tokens`,
 *   `output_tokens_details.reasoning_tokens`.
 * - Chat Completions: `prompt_tokens`, `prompt_tokens_details.cached_tokens`, `completion_tokens`,
 *   `completion_tokens_details.reasoning_tokens`.
 *
 * `cachedInputTokens` is part of `inputTokens`; `reasoningTokens` is part of `outputTokens`.
 */
import { Schema } from "effect"

/** Token counts of one call (or a sum of calls). */
export const Usage = Schema.Struct({
  inputTokens: Schema.Number,
  outputTokens: Schema.Number,
  /** Input tokens served from the provider's prompt cache (included in `inputTokens`). */
  cachedInputTokens: Schema.Number,
  /** Hidden reasoning tokens (included in `outputTokens`). */
  reasoningTokens: Schema.Number
})
export type Usage = typeof Usage.Type

/** No tokens. */
export const empty: Usage = { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, reasoningTokens: 0 }

/** Makes a usage; missing counts are 0. */
export const make = (usage: Partial<Usage>): Usage => ({ ...empty, ...usage })

/** Sum of two usages. */
export const add = (a: Usage, b: Usage): Usage => ({
  inputTokens: a.inputTokens + b.inputTokens,
  outputTokens: a.outputTokens + b.outputTokens,
  cachedInputTokens: a.cachedInputTokens + b.cachedInputTokens,
  reasoningTokens: a.reasoningTokens + b.reasoningTokens
})

/** Input plus output tokens. */
export const total = (usage: Usage): number => usage.inputTokens + usage.outputTokens

/** Normalises the Responses API's `usage` object. */
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
): Usage =>
  usage
    ? {
        inputTokens: usage.input_tokens,
        outputTokens: usage.output_tokens,
        cachedInputTokens: usage.input_tokens_details?.cached_tokens ?? 0,
        reasoningTokens: usage.output_tokens_details?.reasoning_tokens ?? 0
      }
    : empty

/** Normalises the Chat Completions API's `usage` object. */
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
): Usage =>
  usage
    ? {
        inputTokens: usage.prompt_tokens,
        outputTokens: usage.completion_tokens,
        cachedInputTokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
        reasoningTokens: usage.completion_tokens_details?.reasoning_tokens ?? 0
      }
    : empty
