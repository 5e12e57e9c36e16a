/**
 * The items of a conversation with a model: what was said, which tools the model called and what they
 * returned. A transcript is a `ReadonlyArray<Message>`; it maps onto both the Responses API (input items)
 * and Chat Completions (messages), and it is a Schema, so a transcript can be stored or sent.
 *
 * @example
 * ```ts
 * const prompt = [Message.system("Answer in French."), Message.user("Hello")]
 * ```
 */
import { Schema } from "effect"

/** Instructions to the model. */
export const System = Schema.TaggedStruct("System", { text: Schema.String })
export type System = typeof System.Type

/** What the user said. */
export const User = Schema.TaggedStruct("User", { text: Schema.String })
export type User = typeof User.Type

/** What the model said. */
export const Assistant = Schema.TaggedStruct("Assistant", { text: Schema.String })
export type Assistant = typeof Assistant.Type

/** The model asks for a tool to run. `arguments` is the JSON text the model wrote. */
export const ToolCall = Schema.TaggedStruct("ToolCall", {
  id: Schema.String,
  name: Schema.String,
  arguments: Schema.String
})
export type ToolCall = typeof ToolCall.Type

/** What a tool returned to the model (`isError` when it reports a failure, e.g. bad arguments). */
export const ToolResult = Schema.TaggedStruct("ToolResult", {
  id: Schema.String,
  name: Schema.String,
  output: Schema.String,
  isError: Schema.Boolean
})
export type ToolResult = typeof ToolResult.Type

/**
 * A reasoning item of a reasoning model (Responses API). Kept in the transcript so that the next request
 * replays it; Chat Completions ignores it.
 */
export const Reasoning = Schema.TaggedStruct("Reasoning", {
  id: Schema.String,
  summary: Schema.Array(Schema.String),
  encryptedContent: Schema.optionalKey(Schema.String)
})
export type Reasoning = typeof Reasoning.Type

/** One item of a conversation. */
export const Message = Schema.Union([System, User, Assistant, ToolCall, ToolResult, Reasoning])
export type Message = typeof Message.Type

/** A system message. */
export const system = (text: string): System => ({ _tag: "System", text })
/** A user message. */
export const user = (text: string): User => ({ _tag: "User", text })
/** An assistant message. */
export const assistant = (text: string): Assistant => ({ _tag: "Assistant", text })
/** A tool call. */
export const toolCall = (id: string, name: string, args: string): ToolCall => ({
  _tag: "ToolCall",
  id,
  name,
  arguments: args
})
/** A tool result. */
export const toolResult = (call: Pick<ToolCall, "id" | "name">, output: string, isError = false): ToolResult => ({
  _tag: "ToolResult",
  id: call.id,
  name: call.name,
  output,
  isError
})

/** A prompt as a transcript: a string is one user message. */
export const fromPrompt = (prompt: string | ReadonlyArray<Message>): ReadonlyArray<Message> =>
  typeof prompt === "string" ? [user(prompt)] : prompt
