/**
 * Runs a model with tools until it answers: call the model, run the tools it asks for (concurrently), feed
 * the results back, and again, for at most `maxSteps` model calls.
 *
 * - A call with arguments that do not decode, or to an unknown tool, is answered with an error result the
 *   model can read; the loop goes on.
 * - With `output`, the final answer is JSON decoded by that schema (strict structured output); an answer
 *   that does not decode is sent back to the model with its issues, up to `maxOutputRetries` times.
 * - With `onEvent`, the model is streamed and every event (and every tool result) is handed to it.
 * - Interrupting the loop interrupts the model call or the running tools.
 *
 * The result holds the answer, the whole transcript, the responses, and the usage and cost summed over steps.
 *
 * @example
 * ```ts
 * const result = yield* ToolLoop.run({
 *   system: "You are a weather assistant.",
 *   prompt: "Is it cold in Oslo?",
 *   tools: [weather],
 *   maxSteps: 5
 * })
 * result.text // "Yes: 3 °C."
 * ```
 */
import type { Effect, Schema } from "effect"
import * as loop from "./internal/loop.ts"
import { decodeJson, strict } from "./internal/structured.ts"
import type * as LanguageModel from "./LanguageModel.ts"
import type { LanguageModel as Model } from "./LanguageModel.ts"
import type { LlmError, MaxStepsExceeded } from "./LlmError.ts"
import type * as Message from "./Message.ts"
import type * as Response from "./Response.ts"
import type * as Tool from "./Tool.ts"
import type * as Usage from "./Usage.ts"

/** What `onEvent` receives: the model's stream events, and each tool result as it is produced. */
export type Event = Response.StreamEvent | Message.ToolResult

/** Options of {@link run}. */
export interface Options<Tools extends ReadonlyArray<Tool.Any>, A, E, R>
  extends Omit<LanguageModel.Request, "tools" | "output"> {
  readonly tools?: Tools | undefined
  /** The most model calls. Default 10. */
  readonly maxSteps?: number | undefined
  /** How many tool calls of one step run at once. Default `"unbounded"`; 1 runs them in order. */
  readonly concurrency?: number | "unbounded" | undefined
  /** Decode the final answer with this schema (a struct). */
  readonly output?: Schema.Codec<A, unknown> | undefined
  /** The output format's name; default `"output"`. */
  readonly outputName?: string | undefined
  /** How many undecodable final answers are sent back to the model for another try. Default 1. */
  readonly maxOutputRetries?: number | undefined
  /** Stream the model and hand every event to this function. */
  readonly onEvent?: ((event: Event) => Effect.Effect<void, E, R>) | undefined
}

/** The outcome of a loop. */
export interface Result<A> {
  /** The decoded output, or the final text when there is no `output` schema. */
  readonly value: A
  /** The final answer's text. */
  readonly text: string
  /** The prompt (with the system message) and everything after it. */
  readonly transcript: ReadonlyArray<Message.Message>
  /** What the loop added after the prompt. */
  readonly added: ReadonlyArray<Message.Message>
  /** Every model response, one per step. */
  readonly responses: ReadonlyArray<Response.Response>
  /** Usage summed over the steps. */
  readonly usage: Usage.Usage
  /** Cost summed over the steps (USD; steps without a price count 0). */
  readonly cost: number
}

/** Runs the model in context with tools until it answers. */
export const run = <const Tools extends ReadonlyArray<Tool.Any> = [], A = string, E = never, R = never>(
  options: Options<Tools, A, E, R>
): Effect.Effect<
  Result<A>,
  LlmError | MaxStepsExceeded | Tool.Error<Tools[number]> | E,
  Model | Tool.Services<Tools[number]> | R
> => {
  const { output, outputName = "output", ...rest } = options
  const decoded = output && {
    format: { name: outputName, schema: output },
    decode: (text: string) =>
      decodeJson(strict(output).codec as Schema.ConstraintCodec<A, unknown>, text, "Your answer")
  }
  return loop.run(rest, decoded)
}
