/**
 * The events of a model's stream (server-sent events whose data is JSON), read from the answer's body. The SDKs' own
 * readers (openai's, Anthropic's) printed to the console on an event that is not JSON and threw a bare `SyntaxError`
 * that said nothing of what came (a retried `ConnectionFailed` to us); here it is a `MalformedResponse` showing the
 * event. {@link sseMessages} reads the events; {@link sseJson} is the OpenAI wire's reading of them (Anthropic's is
 * in `anthropicApi.ts`).
 */
import { MalformedResponse } from "../LlmError.ts"
import type * as Sdk from "./sdk.ts"

/** At most this many characters of an event that is not JSON are shown in the error. */
const SHOWN = 200

/** One server-sent event: its name (`event:`, absent when it has none) and its data lines joined. */
export interface Message {
  readonly event: string | undefined
  readonly data: string
}

/**
 * The events of `response`'s body with data (a comment, or an event without `data:`, is none), until the end or the
 * consumer stops (the body is then cancelled): CRLF, CR or LF line ends, lines split across reads, multi-line data.
 *
 * @example
 * for await (const { event, data } of sseMessages(response)) console.log(event, data)
 */
export async function* sseMessages(response: Response): AsyncGenerator<Message> {
  const body = response.body
  if (body === null) return
  const reader = body.pipeThrough(new TextDecoderStream()).getReader()
  /** Whether the body was read to its end (else it is cancelled: an error, the consumer stopped). */
  let drained = false
  let rest = ""
  let data: Array<string> = []
  let event: string | undefined
  /** The event so far; `undefined` when it has no data. */
  const dispatch = (): Message | undefined => {
    if (data.length === 0) {
      event = undefined
      return undefined
    }
    const message = { event, data: data.join("\n") }
    data = []
    event = undefined
    return message
  }
  /** Reads one line of the stream: a field of the event, or the blank line that ends it. */
  const line = (text: string): Message | undefined => {
    if (text === "") return dispatch()
    if (text.startsWith(":")) return undefined
    const colon = text.indexOf(":")
    const field = colon < 0 ? text : text.slice(0, colon)
    const value = colon < 0 ? "" : text.slice(text[colon + 1] === " " ? colon + 2 : colon + 1)
    if (field === "data") data.push(value)
    else if (field === "event") event = value
    return undefined
  }
  try {
    for (;;) {
      const { done: ended, value } = await reader.read()
      // a `\r` at the end of a chunk may be the first half of a `\r\n`: it waits for the next chunk
      const lines = ended ? [...rest.split(/\r\n|\r|\n/), ""] : (rest + value).split(/\r\n|\r(?!$)|\n/)
      rest = ended ? "" : (lines.pop() ?? "")
      for (const text of lines) {
        const message = line(text)
        if (message !== undefined) yield message
      }
      if (ended) {
        drained = true
        return
      }
    }
  } finally {
    if (!drained) await reader.cancel().catch(() => undefined)
  }
}

/**
 * An event's data as JSON; data that is not JSON throws {@link MalformedResponse} showing it (cut to 200 characters)
 * and the request id: the stream came over a working connection, so it is not retried.
 *
 * @example
 * const json = jsonOf(message.data, requestId)
 */
export const jsonOf = (data: string, requestId: string | undefined): unknown => {
  try {
    return JSON.parse(data)
  } catch {
    const shown = data.length > SHOWN ? `${data.slice(0, SHOWN)}…` : data
    throw new MalformedResponse({
      message: `the server's stream has an event whose data is not JSON: ${JSON.stringify(shown)}`,
      ...(requestId === undefined ? {} : { requestId })
    })
  }
}

/**
 * The JSON data of each event of an OpenAI-wire `response`'s body, until `data: [DONE]` or the end, as the openai SDK
 * reads them: an event named `error`, or whose data has an `error` field, throws the SDK's `APIError` (the loaded
 * SDK's, which the caller classifies); data that is not JSON throws {@link MalformedResponse} (see {@link jsonOf}).
 *
 * @example
 * for await (const chunk of sseJson(response, requestId, sdk.APIError)) handle(chunk)
 */
export async function* sseJson(
  response: Response,
  requestId: string | undefined,
  APIError: Sdk.OpenAi["APIError"]
): AsyncGenerator<unknown> {
  for await (const { event, data } of sseMessages(response)) {
    if (data === "[DONE]") return
    const json = jsonOf(data, requestId)
    const error = (json as { readonly error?: unknown } | null)?.error
    if (event === "error" || (error !== undefined && error !== null && error !== false)) {
      throw new APIError(undefined, (error ?? json) as object, undefined, response.headers)
    }
    yield json
  }
}
