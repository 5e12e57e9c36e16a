/**
 * Scripted model turns: what a fake model answers, for offline tests, examples and demos. The same turns
 * drive {@link ScriptedModel} (in process) and {@link OpenAiTestServer} (the OpenAI wire format over HTTP),
 * so a test reads the same whichever it uses.
 *
 * A turn answers one request: text, tool calls, a refusal, an HTTP error, or a stream that is slow, stalls
 * or drops. Streams are cut in deltas of `chunkSize` characters.
 *
 * @example
 * ```ts
 * const script = [
 *   Turn.toolCall("weather", { city: "Oslo" }),
 *   Turn.error(429, { retryAfter: "1 second" }),
 *   Turn.text("It is 3 °C in Oslo.", { chunkSize: 4 })
 * ]
 * ```
 */
import type { Duration } from "effect"
import type * as Message from "./Message.ts"
import * as Usage from "./Usage.ts"

/** A tool call the model makes. `arguments` is JSON-encoded, unless it is a string (sent as is, e.g. bad JSON). */
export interface ToolCallSpec {
  readonly name: string
  readonly arguments: unknown
  /** Default `call_<request index>_<position>`. */
  readonly id?: string | undefined
}

/** An HTTP error answer. `retryAfter` sets the `retry-after-ms` and `retry-after` headers. */
export interface ErrorSpec {
  readonly status: number
  readonly message?: string | undefined
  readonly code?: string | undefined
  readonly retryAfter?: Duration.Input | undefined
}

/**
 * An error inside a stream, after the answer began (HTTP 200): an `error` event (Responses API, or a
 * `response.failed` one), a `data: {"error": …}` chunk (Chat Completions), an `error` event (Anthropic).
 * A request that is not streamed gets the same error as its whole answer.
 */
export interface StreamErrorSpec {
  /** After this many text or argument deltas. Default 0: right after the first event, which carries no output. */
  readonly after?: number | undefined
  /**
   * The error's code, e.g. `"context_length_exceeded"`, `"rate_limit_exceeded"`, `"server_error"`; a number is
   * an HTTP status, as some compatible servers send it. Default `"server_error"`.
   */
  readonly code?: string | number | undefined
  readonly message?: string | undefined
  /** Responses API: an `error` event (default) or a `response.failed` event. */
  readonly event?: "error" | "response.failed" | undefined
}

/**
 * What a server leaves out of its answer, as compatible servers do:
 * - `"usage"`: no usage at all;
 * - `"tool-call-type"`: tool calls without `"type": "function"` (Chat Completions);
 * - `"tool-call-index"`: streamed tool-call deltas without `index` (Chat Completions), each call whole in one
 *   chunk, as Gemini's compatible endpoint sends them;
 * - `"tool-call-name"`: a tool call with no function name, which no client can understand.
 */
export type Omission = "usage" | "tool-call-type" | "tool-call-index" | "tool-call-name"

/** A reasoning item before the answer: a summary and the encrypted reasoning to replay. */
export interface ReasoningSpec {
  readonly summary?: ReadonlyArray<string> | undefined
  readonly encryptedContent?: string | undefined
}

/** One answer of the fake model. */
export interface Turn {
  readonly text?: string | undefined
  readonly toolCalls?: ReadonlyArray<ToolCallSpec> | undefined
  /** The model refuses (the call fails with `Refused`). */
  readonly refusal?: string | undefined
  /** The output is cut by max output tokens (`Truncated`) or a content filter (`ContentFiltered`). */
  readonly finish?: "length" | "content-filter" | undefined
  /** Usage to report. Default: 10 input tokens, one output token per 4 characters of output. */
  readonly usage?: Partial<Usage.Usage> | undefined
  /** The model name to report. Default: the requested one. */
  readonly model?: string | undefined
  /** Characters per stream delta. Default 16. */
  readonly chunkSize?: number | undefined
  /** Wait this long before the response head. */
  readonly delay?: Duration.Input | undefined
  /** Wait this long before each stream event. */
  readonly interval?: Duration.Input | undefined
  /**
   * Stall: after this many text or argument deltas, send nothing more and keep the connection open
   * (0: the response head only). A non-streamed answer stalls after its head.
   */
  readonly stallAfter?: number | undefined
  /** Drop the connection after this many text or argument deltas (0: right after the head). */
  readonly dropAfter?: number | undefined
  /** Answer with an HTTP error instead. */
  readonly error?: ErrorSpec | undefined
  /** Fail inside the stream, after the answer began. */
  readonly streamError?: StreamErrorSpec | undefined
  /** Parts of the answer the server leaves out. */
  readonly omit?: ReadonlyArray<Omission> | undefined
  /** A reasoning item before the answer (id `rs_<request index>`). */
  readonly reasoning?: ReasoningSpec | undefined
}

/** A request as a script sees it. */
export interface Request {
  readonly model: string
  readonly messages: ReadonlyArray<Message.Message>
  /** The names of the tools offered. */
  readonly tools: ReadonlyArray<string>
  readonly stream: boolean
}

/** Turns in order (one per request), or a function choosing the turn for each request. */
export type Script = ReadonlyArray<Turn> | ((request: Request, index: number) => Turn)

/** Answers with text. */
export const text = (text: string, options?: Omit<Turn, "text">): Turn => ({ ...options, text })

/** Answers with an object, as JSON text (what structured output produces). */
export const object = (value: unknown, options?: Omit<Turn, "text">): Turn => ({
  ...options,
  text: JSON.stringify(value)
})

/** Calls one tool. */
export const toolCall = (name: string, args: unknown, options?: Omit<Turn, "toolCalls">): Turn => ({
  ...options,
  toolCalls: [{ name, arguments: args }]
})

/** Calls several tools at once. */
export const toolCalls = (calls: ReadonlyArray<ToolCallSpec>, options?: Omit<Turn, "toolCalls">): Turn => ({
  ...options,
  toolCalls: calls
})

/** Answers with an HTTP error. */
export const error = (status: number, options?: Omit<ErrorSpec, "status">): Turn => ({
  error: { ...options, status }
})

/** The turn for request `index`, or `undefined` when a list of turns is exhausted. */
export const pick = (script: Script, request: Request, index: number): Turn | undefined =>
  typeof script === "function" ? script(request, index) : script[index]

/** A turn with its defaults filled in, ready to be sent. */
export interface Resolved {
  readonly reasoning: Message.Reasoning | undefined
  readonly text: string
  readonly refusal: string | undefined
  readonly toolCalls: ReadonlyArray<Message.ToolCall>
  readonly finish: "stop" | "tool-calls" | "length" | "content-filter"
  readonly usage: Usage.Usage
  readonly chunkSize: number
}

/** Fills in a turn's defaults for request `index`. */
export const resolve = (turn: Turn, index: number): Resolved => {
  const toolCalls = (turn.toolCalls ?? []).map(
    (call, i): Message.ToolCall => ({
      _tag: "ToolCall",
      id: call.id ?? `call_${index}_${i}`,
      name: call.name,
      arguments: typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments)
    })
  )
  const text = turn.text ?? ""
  const outputChars =
    text.length + (turn.refusal?.length ?? 0) + toolCalls.reduce((n, c) => n + c.name.length + c.arguments.length, 0)
  return {
    reasoning: turn.reasoning && {
      _tag: "Reasoning",
      id: `rs_${index}`,
      summary: turn.reasoning.summary ?? [],
      ...(turn.reasoning.encryptedContent === undefined ? {} : { encryptedContent: turn.reasoning.encryptedContent })
    },
    text,
    refusal: turn.refusal,
    toolCalls,
    finish: turn.finish ?? (toolCalls.length > 0 ? "tool-calls" : "stop"),
    usage: Usage.make({ inputTokens: 10, outputTokens: Math.max(1, Math.ceil(outputChars / 4)), ...turn.usage }),
    chunkSize: Math.max(1, turn.chunkSize ?? 16)
  }
}

/**
 * What a server that honours a max-output-tokens limit sends: when the turn's output is longer than `limit`
 * tokens (4 characters each), its text is cut to fit, its tool calls are dropped, it finishes with
 * `"length"` and reports `limit` output tokens.
 */
export const limit = (resolved: Resolved, limit: number | undefined): Resolved =>
  limit === undefined || resolved.usage.outputTokens <= limit
    ? resolved
    : {
        ...resolved,
        text: resolved.text.slice(0, limit * 4),
        toolCalls: [],
        finish: "length",
        usage: { ...resolved.usage, outputTokens: limit }
      }

/** Cuts a string in deltas (none for an empty string). */
export const chunks = (s: string, size: number): ReadonlyArray<string> => {
  const out: Array<string> = []
  for (let i = 0; i < s.length; i += size) out.push(s.slice(i, i + size))
  return out
}
