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
import { Base64 } from "effect/encoding"

/** Instructions to the model. */
export const System = Schema.TaggedStruct("System", { text: Schema.String })
export type System = typeof System.Type

/** A file at a URL (`https:` or a `data:` URL). */
export const FileUrl = Schema.Struct({
  /** The media type, e.g. `"image/png"` or `"application/pdf"`; `"image/*"` for an image of unknown type. */
  mediaType: Schema.String,
  url: Schema.String,
  name: Schema.optionalKey(Schema.String)
})
/** A file given inline, base64-encoded. */
export const FileData = Schema.Struct({
  mediaType: Schema.String,
  /** The bytes, base64-encoded. */
  data: Schema.String,
  name: Schema.optionalKey(Schema.String)
})
/** A file for the model to see: an image (`image/*`) or a document such as a PDF, by URL or inline. */
export const File = Schema.Union([FileUrl, FileData])
export type File = typeof File.Type

/** What the user said, with the files (images, documents) they showed. */
export const User = Schema.TaggedStruct("User", {
  text: Schema.String,
  files: Schema.optionalKey(Schema.Array(File))
})
export type User = typeof User.Type

/**
 * What the model said. `itemId` is the provider's id for it (Responses API `msg_…`), replayed as it came:
 * reasoning models want their output items back with their ids.
 */
export const Assistant = Schema.TaggedStruct("Assistant", {
  text: Schema.String,
  itemId: Schema.optionalKey(Schema.String)
})
export type Assistant = typeof Assistant.Type

/**
 * The model asks for a tool to run. `arguments` is the JSON text the model wrote; `id` the id that its result
 * answers, and `itemId` the provider's id for the call itself (Responses API `fc_…`), replayed as it came.
 */
export const ToolCall = Schema.TaggedStruct("ToolCall", {
  id: Schema.String,
  name: Schema.String,
  arguments: Schema.String,
  itemId: Schema.optionalKey(Schema.String)
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
 * A reasoning item of a reasoning model (Responses API; Anthropic's thinking blocks). Kept in the transcript,
 * with its id and its encrypted content (the reasoning itself, which only the provider can read), so that
 * the next request replays it; Chat Completions drops it.
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
/**
 * A user message, with files to show the model.
 *
 * @example
 * ```ts
 * Message.user("What is on this receipt?", [Message.image("https://example.com/receipt.png")])
 * Message.user("Summarise this.", [Message.file(pdfBytes, "application/pdf", "report.pdf")])
 * ```
 */
export const user = (text: string, files?: ReadonlyArray<File>): User =>
  files === undefined || files.length === 0 ? { _tag: "User", text } : { _tag: "User", text, files }

/** An image by URL (`https:` or `data:`), or its bytes with their media type. */
export const image = (source: string | Uint8Array, mediaType = "image/png"): File =>
  typeof source === "string" ? fromUrl(source, "image/*") : { mediaType, data: Base64.encode(source) }

/** A document or any other file: its bytes, media type and name, or a URL. */
export const file = (source: string | Uint8Array, mediaType: string, name?: string): File => {
  const named = name === undefined ? {} : { name }
  return typeof source === "string"
    ? { ...fromUrl(source, mediaType), ...named }
    : { mediaType, data: Base64.encode(source), ...named }
}

/** A URL as a file; a `data:` URL is decoded into its media type and data. */
const fromUrl = (url: string, mediaType: string): File => {
  const match = /^data:([^;,]+);base64,(.*)$/s.exec(url)
  return match ? { mediaType: match[1]!, data: match[2]! } : { mediaType, url }
}

/** A file as a URL: its own, or a `data:` URL of its bytes. */
export const fileUrl = (file: File): string => ("url" in file ? file.url : `data:${file.mediaType};base64,${file.data}`)
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
