/**
 * OpenAI requests as the test server reads them: the body of a Responses API or Chat Completions request
 * decoded back into a transcript (item ids and encrypted reasoning included), and what OpenAI refuses of a
 * replayed transcript. The answers are in `openAiWire.ts`.
 */
import type * as Message from "../Message.ts"
import { type Decoded, type Json, list, record, str } from "./testServer.ts"

/** The two APIs. */
export type Api = "responses" | "chat"

const textOf = (content: unknown): string =>
  typeof content === "string"
    ? content
    : list(content)
        .map((part) => str(record(part).text) || str(record(part).refusal))
        .join("")

/** The files of a content array: images and files, by URL or inline data. */
const filesOf = (content: unknown): ReadonlyArray<Message.File> =>
  list(content).flatMap((raw): ReadonlyArray<Message.File> => {
    const part = record(raw)
    const url = str(part.image_url) || str(record(part.image_url).url) || str(part.file_url)
    const data = str(part.file_data) || str(record(part.file).file_data)
    const source = url || data
    if (!source) return []
    const match = /^data:([^;]+);base64,(.*)$/.exec(source)
    const name = str(part.filename) || str(record(part.file).filename)
    return [
      {
        mediaType: match ? match[1]! : part.type === "input_image" || part.type === "image_url" ? "image/*" : "",
        ...(match ? { data: match[2]! } : { url: source }),
        ...(name ? { name } : {})
      }
    ]
  })

/** Decodes the messages of a request body back into a transcript, item ids and encrypted reasoning included. */
const messagesOf = (api: Api, body: Json): ReadonlyArray<Message.Message> => {
  const out: Array<Message.Message> = []
  const names = new Map<string, string>()
  const byRole = (role: unknown, content: unknown, id: string) => {
    const text = textOf(content)
    const files = filesOf(content)
    if (role === "system" || role === "developer") out.push({ _tag: "System", text })
    else if (role === "user") out.push({ _tag: "User", text, ...(files.length > 0 ? { files } : {}) })
    else if (role === "assistant" && text) out.push({ _tag: "Assistant", text, ...(id ? { itemId: id } : {}) })
  }
  const call = (id: string, name: string, args: string, itemId: string) => {
    names.set(id, name)
    out.push({ _tag: "ToolCall", id, name, arguments: args, ...(itemId ? { itemId } : {}) })
  }
  const result = (id: string, output: unknown) =>
    out.push({ _tag: "ToolResult", id, name: names.get(id) ?? "", output: textOf(output), isError: false })

  if (api === "responses") {
    if (typeof body.instructions === "string") out.push({ _tag: "System", text: body.instructions })
    if (typeof body.input === "string") out.push({ _tag: "User", text: body.input })
    for (const item of list(body.input).map(record)) {
      if (item.type === "function_call") call(str(item.call_id), str(item.name), str(item.arguments), str(item.id))
      else if (item.type === "function_call_output") result(str(item.call_id), item.output)
      else if (item.type === "reasoning") {
        out.push({
          _tag: "Reasoning",
          id: str(item.id),
          summary: list(item.summary).map((s) => str(record(s).text)),
          ...(typeof item.encrypted_content === "string" ? { encryptedContent: item.encrypted_content } : {})
        })
      } else byRole(item.role, item.content, str(item.id))
    }
  } else {
    for (const message of list(body.messages).map(record)) {
      if (message.role === "tool") result(str(message.tool_call_id), message.content)
      else {
        byRole(message.role, message.content, "")
        for (const c of list(message.tool_calls).map(record)) {
          call(str(c.id), str(record(c.function).name), str(record(c.function).arguments), "")
        }
      }
    }
  }
  return out
}

/** A request body of `api`, decoded. */
export const decode = (api: Api, body: Json, ignored: ReadonlySet<string>): Decoded => {
  const param = (name: string) => (!ignored.has(name) && typeof body[name] === "number" ? body[name] : undefined)
  return {
    model: str(body.model),
    messages: messagesOf(api, body),
    tools: list(body.tools)
      .map(record)
      .map((tool) => str(api === "responses" ? tool.name : record(tool.function).name)),
    stream: body.stream === true,
    limit: api === "responses" ? param("max_output_tokens") : (param("max_completion_tokens") ?? param("max_tokens")),
    usage:
      api === "responses" ||
      body.stream !== true ||
      (!ignored.has("stream_options") && record(body.stream_options).include_usage === true)
  }
}

/**
 * What OpenAI refuses of a replayed transcript: a reasoning item must be followed by the item it came with,
 * named by its id; and when nothing is stored (`store: false`) it must carry its encrypted content.
 */
export const refuse = (api: Api, body: Json) => {
  if (api !== "responses") return undefined
  const input = list(body.input).map(record)
  for (const [i, item] of input.entries()) {
    if (item.type !== "reasoning") continue
    if (body.store === false && typeof item.encrypted_content !== "string") {
      return {
        message: `Item with id '${str(item.id)}' not found. Items are not persisted when \`store\` is set to false. Try again with \`store\` set to true, or remove this item from your input.`,
        code: "invalid_request_error"
      }
    }
    const following = input[i + 1]
    if (following === undefined || typeof following.id !== "string") {
      return {
        message: `Item '${str(item.id)}' of type 'reasoning' was provided without its required following item.`,
        code: "invalid_request_error"
      }
    }
  }
  return undefined
}
