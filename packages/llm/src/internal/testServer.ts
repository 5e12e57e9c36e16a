/**
 * The HTTP part of the offline test servers (OpenAI wire, Anthropic wire): a `node:http` server on loopback
 * that records requests, answers each with the next {@link Turn} of a script in a wire format (a
 * {@link Dialect}), as JSON or SSE, and plays the turn's faults: delays, stalls, drops, errors inside a
 * stream. It notices when a client aborts a request.
 */
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { Duration, Effect, type Scope } from "effect"
import * as Turn from "../Turn.ts"

export type Json = Readonly<Record<string, unknown>>

export const record = (u: unknown): Json => (typeof u === "object" && u !== null ? (u as Json) : {})
export const list = (u: unknown): ReadonlyArray<unknown> => (Array.isArray(u) ? u : [])
export const str = (u: unknown): string => (typeof u === "string" ? u : "")

/** A request the server received. */
export interface Recorded<Api extends string> extends Turn.Request {
  readonly index: number
  readonly api: Api
  readonly path: string
  readonly headers: Http.IncomingHttpHeaders
  /** The JSON body as sent. */
  readonly body: Readonly<Record<string, unknown>>
  /** `Date.now()` when the request arrived. */
  readonly receivedAt: number
}

/** One server-sent event: its JSON data, its event name if the wire names events. */
export interface WireEvent {
  readonly event?: string | undefined
  readonly data: Json
  /** A text or argument delta (what `stallAfter`, `dropAfter` and `streamError.after` count). */
  readonly delta: boolean
}

/** What the server answers a request with: the resolved turn and what to leave out. */
export interface Answer {
  readonly index: number
  /** The request's body. */
  readonly body: Json
  readonly model: string
  readonly turn: Turn.Resolved
  readonly created: number
  readonly omit: ReadonlySet<Turn.Omission>
}

/** A request decoded by a dialect. */
export interface Decoded extends Turn.Request {
  /** The max output tokens the server honours for this request (`undefined`: none, or ignored). */
  readonly limit: number | undefined
  /** Whether the request asked for usage (Chat streams only send it with `stream_options.include_usage`). */
  readonly usage: boolean
}

/** A wire format. */
export interface Dialect<Api extends string> {
  /** The path prefix of the base URL a client is given, e.g. `"/v1"`. */
  readonly basePath: string
  /** The API a `POST` path belongs to. */
  readonly route: (path: string) => Api | undefined
  readonly decode: (api: Api, body: Json, ignored: ReadonlySet<string>) => Decoded
  /** A request the server refuses (status 400), as a strict real server would, with why. */
  readonly refuse?:
    | ((api: Api, body: Json) => { readonly message: string; readonly code?: string } | undefined)
    | undefined
  /** An error body. */
  readonly error: (status: number, message: string, code: string | undefined) => Json
  /** A whole answer. */
  readonly answer: (api: Api, answer: Answer) => Json
  /** A streamed answer. */
  readonly events: (api: Api, answer: Answer) => ReadonlyArray<WireEvent>
  /** An error inside a stream (the events that report it), and the same error as a whole answer. */
  readonly streamError: (
    api: Api,
    answer: Answer,
    spec: Turn.StreamErrorSpec
  ) => { readonly events: ReadonlyArray<WireEvent>; readonly whole: { readonly status: number; readonly body: Json } }
  /** Written after the last event of a stream that ended well, e.g. `data: [DONE]`. */
  readonly done?: ((api: Api) => string | undefined) | undefined
}

/** A running server. */
export interface Running<Api extends string> {
  /** The base URL to give the SDK. */
  readonly url: string
  /** The requests received so far. */
  readonly requests: Effect.Effect<ReadonlyArray<Recorded<Api>>>
  /** Waits until `count` requests arrived, and returns them. */
  readonly awaitRequests: (count: number) => Effect.Effect<ReadonlyArray<Recorded<Api>>>
  /** Waits until the client aborted request `index` (closed the connection before the answer ended). */
  readonly awaitAbort: (index: number) => Effect.Effect<void>
  /** The indexes of the requests the client aborted. */
  readonly aborted: Effect.Effect<ReadonlyArray<number>>
}

/** What a server may be told to ignore, as compatible servers do. */
export interface Options {
  /** Request parameters the server ignores, e.g. `["max_completion_tokens"]`. */
  readonly ignore?: ReadonlyArray<string> | undefined
}

/** The HTTP status a server would give an error code: a number is one already. */
export const statusOfCode = (code: string | number): number =>
  typeof code === "number"
    ? code
    : code.includes("rate_limit")
      ? 429
      : /server|overloaded|api_error/.test(code)
        ? 500
        : 400

const latch = () => {
  let resolve = () => {}
  const promise = new Promise<void>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

const sse = (event: WireEvent) =>
  `${event.event === undefined ? "" : `event: ${event.event}\n`}data: ${JSON.stringify(event.data)}\n\n`

/** Starts a server on 127.0.0.1 (a free port) for as long as the scope lasts. */
export const make = <Api extends string>(
  name: string,
  dialect: Dialect<Api>,
  script: Turn.Script,
  options?: Options
): Effect.Effect<Running<Api>, never, Scope.Scope> =>
  Effect.gen(function* () {
    const ignored = new Set(options?.ignore ?? [])
    const recorded: Array<Recorded<Api>> = []
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
      const api = req.method === "POST" ? dialect.route(path) : undefined
      const sendJson = (status: number, body: Json, headers?: Http.OutgoingHttpHeaders) => {
        res.writeHead(status, { "content-type": "application/json", ...headers })
        res.end(JSON.stringify(body))
      }
      const sendError = (status: number, message: string, code?: string, headers?: Http.OutgoingHttpHeaders) =>
        sendJson(status, dialect.error(status, message, code), headers)
      let body: Json
      try {
        body = record(JSON.parse(raw))
      } catch {
        return sendError(400, "the body is not JSON")
      }
      if (api === undefined) return sendError(404, `no route ${req.method} ${path}`)

      const index = recorded.length
      const { limit, usage, ...decoded } = dialect.decode(api, body, ignored)
      const request: Recorded<Api> = {
        index,
        api,
        path,
        headers: req.headers,
        body,
        receivedAt: Date.now(),
        ...decoded
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

      const requestId = `req_${index}`
      const refused = dialect.refuse?.(api, body)
      if (refused) return sendError(400, refused.message, refused.code, { "x-request-id": requestId })
      const turn = Turn.pick(script, request, index)
      if (!turn) return sendError(500, `${name}: the script has no turn for request #${index}`)
      later(turn.delay, () => {
        if (turn.error) {
          const { status, message, code, retryAfter } = turn.error
          const ms = retryAfter === undefined ? undefined : Duration.toMillis(Duration.fromInputUnsafe(retryAfter))
          return sendError(status, message ?? `scripted error ${status}`, code, {
            "x-request-id": requestId,
            ...(ms === undefined ? {} : { "retry-after-ms": String(ms), "retry-after": String(Math.ceil(ms / 1000)) })
          })
        }
        const omit = new Set(turn.omit ?? [])
        if (!usage) omit.add("usage")
        const answer: Answer = {
          index,
          body,
          model: turn.model ?? request.model,
          turn: Turn.limit(Turn.resolve(turn, index), limit),
          created: Math.floor(Date.now() / 1000),
          omit
        }
        const failure = turn.streamError && {
          spec: turn.streamError,
          ...dialect.streamError(api, answer, {
            ...turn.streamError,
            code: turn.streamError.code ?? "server_error",
            message: turn.streamError.message ?? `scripted error ${turn.streamError.code ?? "server_error"}`
          })
        }
        const cut = turn.stallAfter ?? turn.dropAfter
        const cutHere = () => {
          if (turn.dropAfter !== undefined) res.destroy()
        }
        const headers = { "x-request-id": requestId, "request-id": requestId }
        if (!request.stream) {
          if (failure) {
            return sendJson(failure.whole.status, failure.whole.body, headers)
          }
          res.writeHead(200, { "content-type": "application/json", ...headers })
          if (cut !== undefined) {
            res.flushHeaders()
            return cutHere()
          }
          return res.end(JSON.stringify(dialect.answer(api, answer)))
        }
        res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", ...headers })
        res.flushHeaders()
        const events = dialect.events(api, answer)
        let deltas = 0
        const next = (i: number) => {
          if (cut === 0 && i === 0) return cutHere()
          const event = events[i]
          if (!event) {
            res.end(dialect.done?.(api) ?? "")
            return
          }
          res.write(sse(event))
          if (event.delta) deltas++
          const failAt = failure?.spec.after ?? 0
          if (failure && (failAt === 0 ? i === 0 : event.delta && deltas === failAt)) {
            return res.end(failure.events.map(sse).join(""))
          }
          if (event.delta && deltas === cut) return cutHere()
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

    return {
      url: `http://127.0.0.1:${port}${dialect.basePath}`,
      requests: Effect.sync(() => [...recorded]),
      awaitRequests: (count) =>
        Effect.promise(() => (count > 0 ? latchFor(`request:${count - 1}`).promise : Promise.resolve())).pipe(
          Effect.map(() => recorded.slice(0, Math.max(count, 0)))
        ),
      awaitAbort: (index) => Effect.promise(() => latchFor(`abort:${index}`).promise),
      aborted: Effect.sync(() => [...aborted])
    }
  })
