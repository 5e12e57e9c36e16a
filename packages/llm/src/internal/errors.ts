/** HTTP statuses, SDK errors and stream error events to {@link LlmError}s. */
import { Duration, Predicate } from "effect"
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai"
import {
  AuthenticationFailed,
  BadRequest,
  ConnectionFailed,
  ContentFiltered,
  type LlmError,
  NotFound,
  PermissionDenied,
  RateLimited,
  ServerError,
  TimedOut
} from "../LlmError.ts"
import * as Usage from "../Usage.ts"

/** What an error response says. */
export interface ErrorInfo {
  readonly message: string
  readonly code?: string | undefined
  readonly param?: string | undefined
  readonly requestId?: string | undefined
  readonly retryAfter?: Duration.Duration | undefined
}

const defined = <A extends object>(a: A): { [K in keyof A]: Exclude<A[K], undefined> } =>
  Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined)) as never

/**
 * The error for an HTTP status (`undefined` for an error reported inside a stream, classified by its code).
 */
export const fromStatus = (status: number | undefined, info: ErrorInfo): LlmError => {
  const { message, code, param, requestId, retryAfter } = info
  if (code === "content_filter") {
    return new ContentFiltered({ message, partialText: "", usage: Usage.empty })
  }
  if (status === 429 || (status === undefined && (code === "rate_limit_exceeded" || code === "insufficient_quota"))) {
    return new RateLimited(defined({ message, retryAfter, code, requestId }))
  }
  if (status === undefined || status === 408 || status === 409 || status >= 500) {
    return new ServerError(defined({ message, status, code, requestId }))
  }
  switch (status) {
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

/** Maps what the openai SDK throws. */
export const fromSdkError = (error: unknown): LlmError => {
  if (error instanceof APIError) {
    if (error instanceof APIConnectionTimeoutError) {
      return new TimedOut({ message: error.message, phase: "connect", after: Duration.zero })
    }
    if (error instanceof APIConnectionError || error instanceof APIUserAbortError) {
      return new ConnectionFailed({ message: error.message })
    }
    return fromStatus(error.status, {
      message: error.message,
      code: error.code ?? (Predicate.hasProperty(error.error, "code") ? str(error.error.code) : undefined),
      param: error.param ?? undefined,
      requestId: error.requestID ?? undefined,
      retryAfter: retryAfterFromHeaders(error.headers, Date.now())
    })
  }
  return new ConnectionFailed({ message: error instanceof Error ? error.message : String(error) })
}
