/** What the providers over an official SDK (OpenAI, Anthropic) share: configuration checks, aborts, reading answers. */
import { Effect, Schema, type Scope, Stream } from "effect"
import type { ProviderEvent } from "../LanguageModel.ts"
import { ConnectionFailed, isLlmError, type LlmError, ServerError } from "../LlmError.ts"

/** An http(s) URL. */
export const AbsoluteUrl = Schema.String.check(
  Schema.makeFilter(
    (s: string) =>
      (/^https?:\/\//.test(s) && URL.canParse(s)) || "expected an http(s) URL, e.g. http://localhost:8000/v1"
  )
)

/** An SDK's timeout longer than any of ours (the largest a timer accepts, about 24 days). */
export const sdkTimeout = 2 ** 31 - 1

/** An AbortController aborted when the scope closes (interruption, timeout, or the end of the call). */
const abortOnClose = Effect.acquireRelease(
  Effect.sync(() => new AbortController()),
  (controller) => Effect.sync(() => controller.abort())
)

/**
 * Reads what the server sent. SDKs do not check the shapes of answers, and compatible servers vary: a shape
 * we cannot read is a (retryable) `ServerError` saying what went wrong, not a defect.
 */
export const read = <A>(what: string, f: () => A | LlmError): Effect.Effect<A, LlmError> =>
  Effect.try({
    try: f,
    catch: (e) =>
      new ServerError({
        message: `the server's ${what} has an unexpected shape: ${e instanceof Error ? e.message : String(e)}`
      })
  }).pipe(Effect.flatMap((value) => (isLlmError(value) ? Effect.fail(value as LlmError) : Effect.succeed(value as A))))

/**
 * An answer's body as JSON. A body that is not JSON came whole over a working connection (a web page where the
 * API was expected: a base URL without its `/v1`, a proxy's login page), so it is a `ServerError` saying what
 * came, not a `ConnectionFailed`.
 */
const parseBody = (what: string, body: string, response: Response): Effect.Effect<unknown, ServerError> =>
  Effect.try({
    try: () => JSON.parse(body) as unknown,
    catch: () => {
      const type = response.headers.get("content-type") ?? "no content-type"
      const start = body.length > 120 ? `${body.slice(0, 120)}…` : body
      return new ServerError({
        message:
          `the server's ${what} is not JSON (${response.status}, ${type}): ${JSON.stringify(start)}; ` +
          `check that the base URL is the API's (an OpenAI-compatible server's often ends in /v1)`
      })
    }
  })

/**
 * Checks that a streamed answer is a stream: a web page (`text/html`: a base URL without its `/v1`, a proxy's
 * login page) would end with no event and look like a connection cut short; it is a `ServerError` saying what
 * came instead, as for a whole answer that is not JSON.
 */
export const checkStream = (response: Response): Effect.Effect<void, ServerError> => {
  const type = response.headers.get("content-type") ?? ""
  if (!type.toLowerCase().startsWith("text/html")) return Effect.void
  return Effect.promise(() => response.text().catch(() => "")).pipe(
    Effect.flatMap((body) => {
      const start = body.length > 120 ? `${body.slice(0, 120)}…` : body
      return Effect.fail(
        new ServerError({
          message:
            `the server's stream is a web page, not events (${response.status}, ${type}): ${JSON.stringify(start)}; ` +
            `check that the base URL is the API's (an OpenAI-compatible server's often ends in /v1)`
        })
      )
    })
  )
}

/** A stream that ended before its last event. */
export const endedEarly = () => new ConnectionFailed({ message: "the stream ended before the response completed" })

/** Host and port of a base URL, for `server.address` and `server.port`. */
export const serverOf = (baseUrl: string): { readonly address: string; readonly port: number } => {
  const url = new URL(baseUrl)
  return { address: url.hostname, port: url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port) }
}

/**
 * The calls of a provider over an SDK whose failures `classify` turns into ours, and whose answers carry their
 * request id in the header `requestIdHeader`: `send` calls the SDK with a signal aborted when the scope closes,
 * `answer` reads an answer's JSON body with the SDK's reader, and `events` maps a stream's events (a stream that
 * ends before its `Finished` event fails with {@link endedEarly}).
 *
 * @example
 * const { send, answer, events, requestIdOf } = sdkCalls(fromSdkError, "request-id")
 * send((signal) => client.messages.create({ ...params, stream: false }, { signal }).asResponse()).pipe(
 *   Effect.map(answer("message", fromMessage))
 * )
 * send((signal) => client.messages.create({ ...params, stream: true }, { signal }).withResponse()).pipe(
 *   Effect.map(({ data, response }) => events(data, eventMapper(requestIdOf(response))))
 * )
 */
export const sdkCalls = (classify: (error: unknown) => LlmError, requestIdHeader: string) => {
  const requestIdOf = (response: Response): string | undefined => response.headers.get(requestIdHeader) ?? undefined
  return {
    requestIdOf,
    send: <A>(f: (signal: AbortSignal) => Promise<A>): Effect.Effect<A, LlmError, Scope.Scope> =>
      Effect.flatMap(abortOnClose, (controller) =>
        Effect.tryPromise({ try: () => f(controller.signal), catch: classify })
      ),
    /** (the JSON is the SDK's type unchecked: `read` turns a shape it cannot read into a `ServerError`) */
    answer:
      <J, A>(what: string, f: (json: J, requestId: string | undefined) => A | LlmError) =>
      (response: Response): Effect.Effect<A, LlmError> =>
        Effect.tryPromise({ try: () => response.text(), catch: classify }).pipe(
          Effect.flatMap((body) => parseBody(what, body, response)),
          Effect.flatMap((json) => read(what, () => f(json as J, requestIdOf(response))))
        ),
    events: <E>(
      data: AsyncIterable<E>,
      map: (event: E) => ProviderEvent | LlmError
    ): Stream.Stream<ProviderEvent, LlmError> => {
      let finished = false
      return Stream.fromAsyncIterable<E, LlmError>(data, classify).pipe(
        Stream.mapEffect((event) => read("stream event", () => map(event))),
        Stream.tap((event) =>
          Effect.sync(() => {
            if (event._tag === "Finished") finished = true
          })
        ),
        Stream.concat(Stream.suspend(() => (finished ? Stream.empty : Stream.fail(endedEarly()))))
      )
    }
  }
}
