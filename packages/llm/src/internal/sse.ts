/**
 * The events of an OpenAI-wire stream (server-sent events whose data is JSON), read from the answer's body. The
 * openai SDK's own reader printed to the console on an event that is not JSON and threw a bare `SyntaxError` that
 * said nothing of what came (a retried `ConnectionFailed` to us); here it is a `MalformedResponse` showing the event.
 */
import { APIError } from "openai"
import { MalformedResponse } from "../LlmError.ts"

/** At most this many characters of an event that is not JSON are shown in the error. */
const SHOWN = 200

/** What {@link sseJson}'s dispatch returns at `data: [DONE]`. */
const done: unique symbol = Symbol("done")

/**
 * The JSON data of each event of `response`'s body, until `data: [DONE]` or the end, as the SDK reads them: an event
 * named `error`, or whose data has an `error` field, throws the SDK's `APIError` (the caller classifies it); data that
 * is not JSON throws {@link MalformedResponse} showing it (cut to 200 characters), not retried.
 *
 * @example
 * for await (const chunk of sseJson(response, requestId)) handle(chunk)
 */
export async function* sseJson(response: Response, requestId: string | undefined): AsyncGenerator<unknown> {
  const body = response.body
  if (body === null) return
  const reader = body.pipeThrough(new TextDecoderStream()).getReader()
  /** Whether the body was read to its end (else it is cancelled: an error, [DONE], the consumer stopped). */
  let drained = false
  let rest = ""
  let data: Array<string> = []
  let event: string | undefined
  /** The event so far, as JSON; `"done"` at `[DONE]`; `undefined` when there is none. */
  const dispatch = (): unknown => {
    if (data.length === 0) return undefined
    const text = data.join("\n")
    const name = event
    data = []
    event = undefined
    if (text === "[DONE]") return done
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      const shown = text.length > SHOWN ? `${text.slice(0, SHOWN)}…` : text
      throw new MalformedResponse({
        message: `the server's stream has an event whose data is not JSON: ${JSON.stringify(shown)}`,
        ...(requestId === undefined ? {} : { requestId })
      })
    }
    const error = (json as { readonly error?: unknown } | null)?.error
    if (name === "error" || (error !== undefined && error !== null && error !== false)) {
      throw new APIError(undefined, (error ?? json) as object, undefined, response.headers)
    }
    return json
  }
  /** Reads one line of the stream: a field of the event, or the blank line that ends it. */
  const line = (text: string): unknown => {
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
        const json = line(text)
        if (json === done) return
        if (json !== undefined) yield json
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
