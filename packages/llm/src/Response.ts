/**
 * What a model answers: a whole {@link Response}, or a stream of {@link StreamEvent}s that ends with one.
 * Both are Schemas, so they can be stored or sent to another node.
 *
 * @example
 * ```ts
 * const response = yield* LanguageModel.generate({ prompt: "Say hi" })
 * response.text // "Hi!"
 * response.finishReason // "stop", or "tool-calls" with response.toolCalls to run
 * yield* LanguageModel.stream({ prompt: "Say hi" }).pipe(
 *   Stream.runForEach((event) => (event._tag === "TextDelta" ? Effect.log(event.delta) : Effect.void))
 * )
 * ```
 */
import { Schema } from "effect"
import * as Message from "./Message.ts"
import { Usage } from "./Usage.ts"

/** Why the model stopped: it answered, or it wants tools to run. (Truncation, refusal and filtering are errors.) */
export const FinishReason = Schema.Literals(["stop", "tool-calls"])
export type FinishReason = typeof FinishReason.Type

/** A model's answer. */
export const Response = Schema.Struct({
  id: Schema.String,
  /** The model that answered, as the server reports it. */
  model: Schema.String,
  /** What the model produced, in order, ready to append to the transcript. */
  messages: Schema.Array(Message.Message),
  /** The text of the answer (all assistant messages joined). */
  text: Schema.String,
  toolCalls: Schema.Array(Message.ToolCall),
  finishReason: FinishReason,
  usage: Usage,
  /** USD by the price table; absent when the model has no price. */
  cost: Schema.optionalKey(Schema.Number),
  /** The provider's request id (`x-request-id`), for support tickets. */
  requestId: Schema.optionalKey(Schema.String)
})
export type Response = typeof Response.Type

/** A piece of text. */
export const TextDelta = Schema.TaggedStruct("TextDelta", { delta: Schema.String })
export type TextDelta = typeof TextDelta.Type

/** The model started a tool call. */
export const ToolCallStarted = Schema.TaggedStruct("ToolCallStarted", { id: Schema.String, name: Schema.String })
export type ToolCallStarted = typeof ToolCallStarted.Type

/** A piece of a tool call's JSON arguments. */
export const ToolCallDelta = Schema.TaggedStruct("ToolCallDelta", { id: Schema.String, delta: Schema.String })
export type ToolCallDelta = typeof ToolCallDelta.Type

/** A tool call is complete. */
export const ToolCallDone = Schema.TaggedStruct("ToolCallDone", { call: Message.ToolCall })
export type ToolCallDone = typeof ToolCallDone.Type

/** The answer is complete; always the last event of a stream that succeeds, with usage and cost. */
export const Completed = Schema.TaggedStruct("Completed", { response: Response })
export type Completed = typeof Completed.Type

/** An event of a streamed answer. */
export const StreamEvent = Schema.Union([TextDelta, ToolCallStarted, ToolCallDelta, ToolCallDone, Completed])
export type StreamEvent = typeof StreamEvent.Type
