/** What the providers over an official SDK (OpenAI, Anthropic) share: configuration checks, aborts, reading answers. */
import { Effect, Schema } from "effect"
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
export const abortOnClose = Effect.acquireRelease(
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

/** A stream that ended before its last event. */
export const endedEarly = () => new ConnectionFailed({ message: "the stream ended before the response completed" })

/** Host and port of a base URL, for `server.address` and `server.port`. */
export const serverOf = (baseUrl: string): { readonly address: string; readonly port: number } => {
  const url = new URL(baseUrl)
  return { address: url.hostname, port: url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port) }
}
