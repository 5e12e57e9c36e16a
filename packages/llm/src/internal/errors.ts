/** HTTP statuses, SDK errors and stream error events to {@link LlmError}s. */
import { Duration, Predicate } from "effect"
import {
  AuthenticationFailed,
  BadRequest,
  ConnectionFailed,
  ContentFiltered,
  isLlmError,
  type LlmError,
  NotFound,
  PermissionDenied,
  RateLimited,
  ServerError,
  TimedOut
} from "../LlmError.ts"
import * as Usage from "../Usage.ts"
import type * as Sdk from "./sdk.ts"

/** What an error response says. */
export interface ErrorInfo {
  readonly message: string
  /** The error's code (`"context_length_exceeded"`), or its type when it has no code; a number is a status. */
  readonly code?: string | number | undefined
  readonly param?: string | undefined
  readonly requestId?: string | undefined
  readonly retryAfter?: Duration.Duration | undefined
}

const defined = <A extends object>(a: A): { [K in keyof A]: Exclude<A[K], undefined> } =>
  Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined)) as never

/** Codes (and error types) that say which HTTP status they stand for, as OpenAI, Anthropic and others send them. */
const statusOfCodes: ReadonlyArray<readonly [RegExp, number]> = [
  [/rate_limit|too_many_requests|quota/, 429],
  [/invalid_api_key|authentication|unauthorized|unauthenticated/, 401],
  [/permission|forbidden|unsupported_country/, 403],
  [/not_found|model_not_found|does_not_exist/, 404],
  [/server_error|internal|api_error|overloaded|unavailable|timeout|bad_gateway/, 500],
  [/invalid|context_length|too_large|too_long|too_small|max_length|bad_request|unsupported|image_|_exceeded/, 400]
]

/**
 * The HTTP status an error code stands for: a number (or numeric string) is one; a known code or type maps
 * to its status; `undefined` for a code nobody knows (treated as a server error).
 */
export const statusOfCode = (code: string | number | undefined): number | undefined => {
  if (code === undefined) return undefined
  const n = Number(code)
  if (Number.isInteger(n) && n >= 400 && n < 600) return n
  return statusOfCodes.find(([pattern]) => pattern.test(String(code).toLowerCase()))?.[1]
}

/**
 * The error for an HTTP status. An error reported inside a stream (`status` undefined) is classified by its
 * code, as the same error would be if it came as a status: `context_length_exceeded` is a `BadRequest`
 * either way, `rate_limit_exceeded` a `RateLimited`, an unknown code a `ServerError`.
 */
export const fromStatus = (status: number | undefined, info: ErrorInfo): LlmError => {
  const { message, param, requestId, retryAfter } = info
  const code = info.code === undefined ? undefined : String(info.code)
  if (code === "content_filter") {
    return new ContentFiltered({ message, partialText: "", usage: Usage.empty })
  }
  const effective = status ?? statusOfCode(code) ?? 500
  if (effective === 429) {
    return new RateLimited(defined({ message, retryAfter, code, requestId }))
  }
  if (effective === 408 || effective === 409 || effective >= 500) {
    return new ServerError(defined({ message, status, code, requestId }))
  }
  switch (effective) {
    case 401:
      return new AuthenticationFailed(defined({ message, requestId }))
    case 403:
      return new PermissionDenied(defined({ message, requestId }))
    case 404:
      return new NotFound(defined({ message, requestId }))
    default:
      return new BadRequest(defined({ message, status, code, param, requestId }))
  }
}

/** `retry-after-ms` (milliseconds), else `retry-after` (seconds or an HTTP date). */
export const retryAfterFromHeaders = (headers: Headers | undefined, now: number): Duration.Duration | undefined => {
  const ms = Number.parseFloat(headers?.get("retry-after-ms") ?? "")
  if (Number.isFinite(ms) && ms >= 0) return Duration.millis(ms)
  const value = headers?.get("retry-after")
  if (!value) return undefined
  const seconds = Number.parseFloat(value)
  if (Number.isFinite(seconds) && seconds >= 0) return Duration.seconds(seconds)
  const date = Date.parse(value)
  return Number.isFinite(date) ? Duration.millis(Math.max(0, date - now)) : undefined
}

const str = (u: unknown): string | undefined => (typeof u === "string" ? u : undefined)

/**
 * Maps what the openai SDK throws, by the error classes of the loaded SDK (see `sdk.ts`).
 *
 * @example
 * Effect.map(Sdk.openAi, (sdk) => sdkCalls(fromSdkError(sdk), "x-request-id"))
 */
export const fromSdkError =
  (sdk: Sdk.OpenAi) =>
  (error: unknown): LlmError => {
    const { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } = sdk
    // ours, thrown from inside a stream we read (an event that is not JSON: MalformedResponse)
    if (isLlmError(error)) return error as LlmError
    if (error instanceof APIError) {
      if (error instanceof APIConnectionTimeoutError) {
        return new TimedOut({ message: error.message, phase: "connect", after: Duration.zero })
      }
      if (error instanceof APIConnectionError || error instanceof APIUserAbortError) {
        return new ConnectionFailed({ message: error.message })
      }
      const body = error.error
      return fromStatus(error.status, {
        message: error.message,
        code:
          error.code ??
          (Predicate.hasProperty(body, "code") && (typeof body.code === "string" || typeof body.code === "number")
            ? body.code
            : undefined) ??
          error.type ??
          (Predicate.hasProperty(body, "type") ? str(body.type) : undefined),
        param: error.param ?? undefined,
        requestId: error.requestID ?? undefined,
        retryAfter: retryAfterFromHeaders(error.headers, Date.now())
      })
    }
    return new ConnectionFailed({ message: error instanceof Error ? error.message : String(error) })
  }
