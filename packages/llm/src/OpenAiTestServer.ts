/**
 * A real HTTP server on loopback that speaks the OpenAI wire format, for testing the real SDK offline.
 *
 * It serves `POST …/responses` (the Responses API) and `POST …/chat/completions` (Chat Completions), plain
 * JSON or SSE streams with the full event sequence the SDK expects, and answers each request with the next
 * {@link Turn} of its script: text, tool calls, refusals, truncation, HTTP errors with the right bodies
 * (429 with `retry-after`), slow, stalled and dropped streams. It records every request (with the time it
 * arrived, and its messages decoded back from the wire) and notices when a client aborts one.
 *
 * @example
 * ```ts
 * const program = Effect.gen(function*() {
 *   const server = yield* OpenAiTestServer.make([Turn.text("hi")])
 *   const model = yield* OpenAi.make({ apiKey: Redacted.make("test"), baseUrl: server.url, model: "gpt-test" })
 *   const { text } = yield* model.generate({ prompt: "hello" })
 *   const [request] = yield* server.requests
 * }).pipe(Effect.scoped)
 * ```
 */
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { Context, Duration, Effect, Layer, Redacted, type Scope } from "effect"
import * as LanguageModel from "./LanguageModel.ts"
import type * as Message from "./Message.ts"
import * as OpenAi from "./OpenAi.ts"
import * as Turn from "./Turn.ts"
import type * as Usage from "./Usage.ts"

/** A request the server received. */
export interface Recorded extends Turn.Request {
  readonly index: number
  readonly api: OpenAi.Api
  readonly path: string
  readonly headers: Http.IncomingHttpHeaders
  /** The JSON body as sent. */
  readonly body: Readonly<Record<string, unknown>>
  /** `Date.now()` when the request arrived. */
  readonly receivedAt: number
}

/** A running test server. */
export class OpenAiTestServer extends Context.Service<
  OpenAiTestServer,
  {
    /** The base URL to give the SDK, e.g. `http://127.0.0.1:43123/v1`. */
    readonly url: string
    /** The requests received so far. */
    readonly requests: Effect.Effect<ReadonlyArray<Recorded>>
    /** Waits until `count` requests arrived, and returns them. */
    readonly awaitRequests: (count: number) => Effect.Effect<ReadonlyArray<Recorded>>
    /** Waits until the client aborted request `index` (closed the connection before the answer ended). */
    readonly awaitAbort: (index: number) => Effect.Effect<void>
    /** The indexes of the requests the client aborted. */
    readonly aborted: Effect.Effect<ReadonlyArray<number>>
  }
>()("@troupe/llm/OpenAiTestServer") {}

type Json = Readonly<Record<string, unknown>>

interface WireEvent {
  readonly data: Json
  /** A text or argument delta (what `stallAfter` and `dropAfter` count). */
  readonly delta: boolean
}

const record = (u: unknown): Json => (typeof u === "object" && u !== null ? (u as Json) : {})
const list = (u: unknown): ReadonlyArray<unknown> => (Array.isArray(u) ? u : [])
const str = (u: unknown): string => (typeof u === "string" ? u : "")
const textOf = (content: unknown): string =>
  typeof content === "string"
    ? content
    : list(content)
        .map((part) => str(record(part).text) || str(record(part).refusal))
        .join("")

/** Decodes the messages of a request body back into a transcript. */
const messagesOf = (api: OpenAi.Api, body: Json): ReadonlyArray<Message.Message> => {
  const out: Array<Message.Message> = []
  const names = new Map<string, string>()
  const byRole = (role: unknown, content: unknown) => {
    const text = textOf(content)
    if (role === "system" || role === "developer") out.push({ _tag: "System", text })
    else if (role === "user") out.push({ _tag: "User", text })
    else if (role === "assistant" && text) out.push({ _tag: "Assistant", text })
  }
  const call = (id: string, name: string, args: string) => {
    names.set(id, name)
    out.push({ _tag: "ToolCall", id, name, arguments: args })
  }
  const result = (id: string, output: unknown) =>
    out.push({ _tag: "ToolResult", id, name: names.get(id) ?? "", output: textOf(output), isError: false })

  if (api === "responses") {
    if (typeof body.instructions === "string") out.push({ _tag: "System", text: body.instructions })
    if (typeof body.input === "string") out.push({ _tag: "User", text: body.input })
    for (const item of list(body.input).map(record)) {
      if (item.type === "function_call") call(str(item.call_id), str(item.name), str(item.arguments))
      else if (item.type === "function_call_output") result(str(item.call_id), item.output)
      else if (item.type === "reasoning") {
        out.push({ _tag: "Reasoning", id: str(item.id), summary: list(item.summary).map((s) => str(record(s).text)) })
      } else byRole(item.role, item.content)
    }
  } else {
    for (const message of list(body.messages).map(record)) {
      if (message.role === "tool") result(str(message.tool_call_id), message.content)
      else {
        byRole(message.role, message.content)
        for (const c of list(message.tool_calls).map(record)) {
          call(str(c.id), str(record(c.function).name), str(record(c.function).arguments))
        }
      }
    }
  }
  return out
}

const toolNamesOf = (api: OpenAi.Api, body: Json): ReadonlyArray<string> =>
  list(body.tools)
    .map(record)
    .map((tool) => str(api === "responses" ? tool.name : record(tool.function).name))

// ---------------------------------------------------------------------------------------------------------
// Responses API wire format

const responsesUsage = (usage: Usage.Usage) => ({
  input_tokens: usage.inputTokens,
  input_tokens_details: { cached_tokens: usage.cachedInputTokens },
  output_tokens: usage.outputTokens,
  output_tokens_details: { reasoning_tokens: usage.reasoningTokens },
  total_tokens: usage.inputTokens + usage.outputTokens
})

interface Answer {
  readonly index: number
  readonly model: string
  readonly turn: Turn.Resolved
  readonly created: number
}

const responsesItems = ({ index, turn }: Answer) => {
  const content = [
    ...(turn.text ? [{ type: "output_text", text: turn.text, annotations: [], logprobs: [] }] : []),
    ...(turn.refusal === undefined ? [] : [{ type: "refusal", refusal: turn.refusal }])
  ]
  const message =
    content.length > 0 ? [{ id: `msg_${index}`, type: "message", role: "assistant", status: "completed", content }] : []
  const calls = turn.toolCalls.map((call, i) => ({
    id: `fc_${index}_${i}`,
    type: "function_call",
    call_id: call.id,
    name: call.name,
    arguments: call.arguments,
    status: "completed"
  }))
  return { message: message[0], calls }
}

const responsesObject = (answer: Answer, final: boolean): Json => {
  const { message, calls } = responsesItems(answer)
  const incomplete = answer.turn.finish === "length" || answer.turn.finish === "content-filter"
  return {
    id: `resp_${answer.index}`,
    object: "response",
    created_at: answer.created,
    status: !final ? "in_progress" : incomplete ? "incomplete" : "completed",
    model: answer.model,
    output: final ? [...(message ? [message] : []), ...calls] : [],
    usage: final ? responsesUsage(answer.turn.usage) : null,
    incomplete_details:
      final && incomplete ? { reason: answer.turn.finish === "length" ? "max_output_tokens" : "content_filter" } : null,
    error: null,
    instructions: null,
    metadata: {},
    parallel_tool_calls: true,
    temperature: 1,
    tool_choice: "auto",
    tools: [],
    top_p: 1,
    text: { format: { type: "text" } }
  }
}

const responsesEvents = (answer: Answer): ReadonlyArray<WireEvent> => {
  const events: Array<WireEvent> = []
  const push = (data: Json, delta = false) => events.push({ data: { ...data, sequence_number: events.length }, delta })
  const { message, calls } = responsesItems(answer)
  const { turn } = answer
  push({ type: "response.created", response: responsesObject(answer, false) })
  push({ type: "response.in_progress", response: responsesObject(answer, false) })
  let outputIndex = 0
  if (message) {
    const at = { item_id: message.id, output_index: outputIndex }
    push({
      type: "response.output_item.added",
      output_index: outputIndex,
      item: { ...message, status: "in_progress", content: [] }
    })
    message.content.forEach((part, contentIndex) => {
      const where = { ...at, content_index: contentIndex }
      if (part.type === "output_text") {
        push({ type: "response.content_part.added", ...where, part: { ...part, text: "" } })
        for (const delta of Turn.chunks(turn.text, turn.chunkSize)) {
          push({ type: "response.output_text.delta", ...where, delta, logprobs: [] }, true)
        }
        push({ type: "response.output_text.done", ...where, text: turn.text, logprobs: [] })
      } else {
        push({ type: "response.content_part.added", ...where, part: { type: "refusal", refusal: "" } })
        for (const delta of Turn.chunks(turn.refusal ?? "", turn.chunkSize)) {
          push({ type: "response.refusal.delta", ...where, delta })
        }
        push({ type: "response.refusal.done", ...where, refusal: turn.refusal })
      }
      push({ type: "response.content_part.done", ...where, part })
    })
    push({ type: "response.output_item.done", output_index: outputIndex, item: message })
    outputIndex++
  }
  for (const call of calls) {
    const at = { item_id: call.id, output_index: outputIndex }
    push({
      type: "response.output_item.added",
      output_index: outputIndex,
      item: { ...call, arguments: "", status: "in_progress" }
    })
    for (const delta of Turn.chunks(call.arguments, turn.chunkSize)) {
      push({ type: "response.function_call_arguments.delta", ...at, delta }, true)
    }
    push({ type: "response.function_call_arguments.done", ...at, name: call.name, arguments: call.arguments })
    push({ type: "response.output_item.done", output_index: outputIndex, item: call })
    outputIndex++
  }
  const final = responsesObject(answer, true)
  push({ type: final.status === "completed" ? "response.completed" : "response.incomplete", response: final })
  return events
}

// ---------------------------------------------------------------------------------------------------------
// Chat Completions wire format

const chatFinish = { stop: "stop", "tool-calls": "tool_calls", length: "length", "content-filter": "content_filter" }

const chatUsage = (usage: Usage.Usage) => ({
  prompt_tokens: usage.inputTokens,
  completion_tokens: usage.outputTokens,
  total_tokens: usage.inputTokens + usage.outputTokens,
  prompt_tokens_details: { cached_tokens: usage.cachedInputTokens },
  completion_tokens_details: { reasoning_tokens: usage.reasoningTokens }
})

const chatToolCalls = (turn: Turn.Resolved) =>
  turn.toolCalls.map((call) => ({
    id: call.id,
    type: "function",
    function: { name: call.name, arguments: call.arguments }
  }))

const chatCompletion = ({ index, model, turn, created }: Answer): Json => ({
  id: `chatcmpl-${index}`,
  object: "chat.completion",
  created,
  model,
  choices: [
    {
      index: 0,
      message: {
        role: "assistant",
        content: turn.text || null,
        refusal: turn.refusal ?? null,
        ...(turn.toolCalls.length > 0 ? { tool_calls: chatToolCalls(turn) } : {})
      },
      logprobs: null,
      finish_reason: chatFinish[turn.finish]
    }
  ],
  usage: chatUsage(turn.usage)
})

const chatChunks = ({ index, model, turn, created }: Answer, includeUsage: boolean): ReadonlyArray<WireEvent> => {
  const base = { id: `chatcmpl-${index}`, object: "chat.completion.chunk", created, model }
  const events: Array<WireEvent> = []
  const push = (delta: Json, isDelta = false, finish: string | null = null) =>
    events.push({
      data: { ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] },
      delta: isDelta
    })
  push({ role: "assistant", content: "" })
  for (const content of Turn.chunks(turn.text, turn.chunkSize)) push({ content }, true)
  for (const refusal of Turn.chunks(turn.refusal ?? "", turn.chunkSize)) push({ refusal })
  chatToolCalls(turn).forEach((call, i) => {
    push({
      tool_calls: [{ index: i, id: call.id, type: "function", function: { name: call.function.name, arguments: "" } }]
    })
    for (const args of Turn.chunks(call.function.arguments, turn.chunkSize)) {
      push({ tool_calls: [{ index: i, function: { arguments: args } }] }, true)
    }
  })
  push({}, false, chatFinish[turn.finish])
  if (includeUsage) events.push({ data: { ...base, choices: [], usage: chatUsage(turn.usage) }, delta: false })
  return events
}

// ---------------------------------------------------------------------------------------------------------
// The server

const errorType = (status: number) =>
  status === 429
    ? "rate_limit_exceeded"
    : status === 401
      ? "authentication_error"
      : status === 403
        ? "permission_error"
        : status === 404
          ? "not_found_error"
          : status >= 500
            ? "server_error"
            : "invalid_request_error"

const latch = () => {
  let resolve = () => {}
  const promise = new Promise<void>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

/** Starts a server on 127.0.0.1 (a free port) for as long as the scope lasts. */
export const make = (script: Turn.Script): Effect.Effect<OpenAiTestServer["Service"], never, Scope.Scope> =>
  Effect.gen(function* () {
    const recorded: Array<Recorded> = []
    const aborted: Array<number> = []
    const latches = new Map<string, ReturnType<typeof latch>>()
    const latchFor = (key: string) => {
      let found = latches.get(key)
      if (!found) {
        found = latch()
        latches.set(key, found)
      }
      return found
    }

    const serve = (req: Http.IncomingMessage, res: Http.ServerResponse, raw: string) => {
      const timers = new Set<NodeJS.Timeout>()
      let closed = false
      const later = (delay: Duration.Input | undefined, f: () => void) => {
        if (delay === undefined) return f()
        const timer = setTimeout(
          () => {
            timers.delete(timer)
            if (!closed) f()
          },
          Duration.toMillis(Duration.fromInputUnsafe(delay))
        )
        timers.add(timer)
      }
      const path = req.url ?? ""
      const api: OpenAi.Api | undefined = path.endsWith("/responses")
        ? "responses"
        : path.endsWith("/chat/completions")
          ? "chat"
          : undefined
      const sendError = (status: number, message: string, code?: string, headers?: Http.OutgoingHttpHeaders) => {
        res.writeHead(status, { "content-type": "application/json", ...headers })
        res.end(JSON.stringify({ error: { message, type: errorType(status), param: null, code: code ?? null } }))
      }
      let body: Json
      try {
        body = record(JSON.parse(raw))
      } catch {
        return sendError(400, "the body is not JSON")
      }
      if (req.method !== "POST" || api === undefined) return sendError(404, `no route ${req.method} ${path}`)

      const index = recorded.length
      const request: Recorded = {
        index,
        api,
        path,
        headers: req.headers,
        body,
        receivedAt: Date.now(),
        model: str(body.model),
        messages: messagesOf(api, body),
        tools: toolNamesOf(api, body),
        stream: body.stream === true
      }
      recorded.push(request)
      latchFor(`request:${index}`).resolve()
      res.on("close", () => {
        closed = true
        for (const timer of timers) clearTimeout(timer)
        if (!res.writableFinished) {
          aborted.push(index)
          latchFor(`abort:${index}`).resolve()
        }
      })

      const turn = Turn.pick(script, request, index)
      if (!turn) return sendError(500, `OpenAiTestServer: the script has no turn for request #${index}`)
      const requestId = `req_${index}`
      later(turn.delay, () => {
        if (turn.error) {
          const { status, message, code, retryAfter } = turn.error
          const ms = retryAfter === undefined ? undefined : Duration.toMillis(Duration.fromInputUnsafe(retryAfter))
          return sendError(status, message ?? `scripted error ${status}`, code, {
            "x-request-id": requestId,
            ...(ms === undefined ? {} : { "retry-after-ms": String(ms), "retry-after": String(Math.ceil(ms / 1000)) })
          })
        }
        const answer: Answer = {
          index,
          model: turn.model ?? request.model,
          turn: Turn.resolve(turn, index),
          created: Math.floor(Date.now() / 1000)
        }
        const cut = turn.stallAfter ?? turn.dropAfter
        const cutHere = () => {
          if (turn.dropAfter !== undefined) res.destroy()
        }
        if (!request.stream) {
          res.writeHead(200, { "content-type": "application/json", "x-request-id": requestId })
          if (cut !== undefined) {
            res.flushHeaders()
            return cutHere()
          }
          return res.end(JSON.stringify(api === "responses" ? responsesObject(answer, true) : chatCompletion(answer)))
        }
        res.writeHead(200, {
          "content-type": "text/event-stream",
          "cache-control": "no-cache",
          "x-request-id": requestId
        })
        res.flushHeaders()
        const events =
          api === "responses"
            ? responsesEvents(answer)
            : chatChunks(answer, record(body.stream_options).include_usage === true)
        let deltas = 0
        const next = (i: number) => {
          if (cut === 0 && i === 0) return cutHere()
          const event = events[i]
          if (!event) {
            if (api === "chat") res.write("data: [DONE]\n\n")
            res.end()
            return
          }
          res.write(
            api === "responses"
              ? `event: ${str(event.data.type)}\ndata: ${JSON.stringify(event.data)}\n\n`
              : `data: ${JSON.stringify(event.data)}\n\n`
          )
          if (event.delta && ++deltas === cut) return cutHere()
          later(turn.interval, () => next(i + 1))
        }
        later(turn.interval, () => next(0))
      })
    }

    const server = Http.createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (chunk: Buffer) => chunks.push(chunk))
      req.on("end", () => serve(req, res, Buffer.concat(chunks).toString("utf8")))
    })
    yield* Effect.acquireRelease(
      Effect.callback<void>((resume) => {
        server.listen(0, "127.0.0.1", () => resume(Effect.void))
      }),
      () =>
        Effect.callback<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
    )
    const { port } = server.address() as AddressInfo

    return OpenAiTestServer.of({
      url: `http://127.0.0.1:${port}/v1`,
      requests: Effect.sync(() => [...recorded]),
      awaitRequests: (count) =>
        Effect.promise(() => (count > 0 ? latchFor(`request:${count - 1}`).promise : Promise.resolve())).pipe(
          Effect.map(() => recorded.slice(0, Math.max(count, 0)))
        ),
      awaitAbort: (index) => Effect.promise(() => latchFor(`abort:${index}`).promise),
      aborted: Effect.sync(() => [...aborted])
    })
  })

/** A layer with a running test server. */
export const layer = (script: Turn.Script): Layer.Layer<OpenAiTestServer> =>
  Layer.effect(OpenAiTestServer, make(script))

/** Options of {@link layerModel}: the wire API (default `"responses"`), the model name and the policy. */
export interface ModelOptions extends OpenAi.Options {
  readonly api?: OpenAi.Api | undefined
  readonly model?: string | undefined
}

/**
 * A test server and the real {@link OpenAi} language model pointed at it: the whole stack, SDK and socket
 * included, offline.
 */
export const layerModel = (
  script: Turn.Script,
  options?: ModelOptions
): Layer.Layer<LanguageModel.LanguageModel | OpenAiTestServer> =>
  Layer.effect(
    LanguageModel.LanguageModel,
    Effect.flatMap(OpenAiTestServer, (server) =>
      Effect.orDie(
        OpenAi.make(
          {
            apiKey: Redacted.make("test-key"),
            baseUrl: server.url,
            model: options?.model ?? "gpt-test",
            api: options?.api ?? "responses"
          },
          options
        )
      )
    )
  ).pipe(Layer.provideMerge(layer(script)))
