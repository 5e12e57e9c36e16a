/**
 * Every way a language-model call can fail, as tagged errors.
 *
 * Each error carries the data needed to act on it and a `retryable` flag: the default retry policy of
 * {@link LanguageModel} retries exactly the errors whose `retryable` is `true`.
 *
 * @example
 * ```ts
 * program.pipe(
 *   Effect.catchTag("RateLimited", (e) => Effect.log(`retry after ${e.retryAfter}`)),
 *   Effect.catchTag("BudgetExceeded", (e) => Effect.succeed(`out of budget: ${e.message}`))
 * )
 * ```
 */
import { Predicate, Schema } from "effect"
import { Usage } from "./Usage.ts"

const optional = Schema.optionalKey

/** HTTP 429, or a rate-limit error inside a stream. Retryable, unless the account's quota is exhausted. */
export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  message: Schema.String,
  /** What the server asked us to wait (`retry-after-ms` or `retry-after`), if it said. */
  retryAfter: optional(Schema.Duration),
  code: optional(Schema.String),
  requestId: optional(Schema.String)
}) {
  /** `false` when the account is out of quota (`insufficient_quota`): waiting will not help. */
  get retryable(): boolean {
    return this.code !== "insufficient_quota"
  }
}

/** Where a call spent too long. */
export const TimeoutPhase = Schema.Literals(["connect", "first-event", "idle", "attempt", "overall"])
/**
 * - `connect`: from sending the request until the response head arrived;
 * - `first-event`: from the response head until the first stream event;
 * - `idle`: between two stream events;
 * - `attempt`: one whole attempt (one HTTP request);
 * - `overall`: the whole call, retries included.
 */
export type TimeoutPhase = typeof TimeoutPhase.Type

/** A call took longer than one of its timeouts. Retryable, except when the overall deadline passed. */
export class TimedOut extends Schema.TaggedError<TimedOut>()("TimedOut", {
  message: Schema.String,
  phase: TimeoutPhase,
  after: Schema.Duration
}) {
  get retryable(): boolean {
    return this.phase !== "overall"
  }
}

/** HTTP 401: the API key is missing or wrong. */
export class AuthenticationFailed extends Schema.TaggedError<AuthenticationFailed>()("AuthenticationFailed", {
  message: Schema.String,
  requestId: optional(Schema.String)
}) {
  get retryable(): boolean {
    return false
  }
}

/** HTTP 403: the key may not use this model or resource. */
export class PermissionDenied extends Schema.TaggedError<PermissionDenied>()("PermissionDenied", {
  message: Schema.String,
  requestId: optional(Schema.String)
}) {
  get retryable(): boolean {
    return false
  }
}

/** HTTP 400, 422 and other 4xx: the request itself is wrong (bad parameter, schema rejected, context too long). */
export class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", {
  message: Schema.String,
  status: optional(Schema.Number),
  code: optional(Schema.String),
  param: optional(Schema.String),
  requestId: optional(Schema.String)
}) {
  get retryable(): boolean {
    return false
  }
}

/** HTTP 404: usually an unknown model name or a wrong base URL. */
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", {
  message: Schema.String,
  requestId: optional(Schema.String)
}) {
  get retryable(): boolean {
    return false
  }
}

/** HTTP 5xx, 408, 409, or a server error reported inside a stream. Retryable. */
export class ServerError extends Schema.TaggedError<ServerError>()("ServerError", {
  message: Schema.String,
  status: optional(Schema.Number),
  code: optional(Schema.String),
  requestId: optional(Schema.String)
}) {
  get retryable(): boolean {
    return true
  }
}

/** The connection could not be made or broke before the response ended. Retryable. */
export class ConnectionFailed extends Schema.TaggedError<ConnectionFailed>()("ConnectionFailed", {
  message: Schema.String
}) {
  get retryable(): boolean {
    return true
  }
}

/**
 * The server answered with something no client can act on, e.g. a tool call without a function name, or of
 * a kind that was never offered. `detail` says what was wrong. Not retryable: the same server gives the
 * same answer; fix the server or its settings (see docs/llm.md, "Compatible servers").
 */
export class MalformedResponse extends Schema.TaggedError<MalformedResponse>()("MalformedResponse", {
  message: Schema.String,
  requestId: optional(Schema.String)
}) {
  get retryable(): boolean {
    return false
  }
}

/** The provider's content filter stopped the output. */
export class ContentFiltered extends Schema.TaggedError<ContentFiltered>()("ContentFiltered", {
  message: Schema.String,
  partialText: Schema.String,
  usage: Usage
}) {
  get retryable(): boolean {
    return false
  }
}

/**
 * The output hit the max-output-tokens limit before the model finished; or a stream went on well past it
 * (a server that ignores the limit) and was cut, with `usage` estimated.
 */
export class Truncated extends Schema.TaggedError<Truncated>()("Truncated", {
  message: Schema.String,
  partialText: Schema.String,
  usage: Usage
}) {
  get retryable(): boolean {
    return false
  }
}

/** The model refused to answer; `refusal` is its explanation. */
export class Refused extends Schema.TaggedError<Refused>()("Refused", {
  message: Schema.String,
  refusal: Schema.String,
  usage: Usage
}) {
  get retryable(): boolean {
    return false
  }
}

/** One problem found while decoding model output: where, and what. */
export const Issue = Schema.Struct({ path: Schema.String, message: Schema.String })
export type Issue = typeof Issue.Type

/** The model's output did not decode with the expected Schema (or was not JSON). */
export class InvalidOutput extends Schema.TaggedError<InvalidOutput>()("InvalidOutput", {
  message: Schema.String,
  /** The text the model produced. */
  raw: Schema.String,
  issues: Schema.Array(Issue)
}) {
  get retryable(): boolean {
    return false
  }
}

/**
 * A {@link Budget} refused the call: what was already spent plus what the call may spend exceeds the limit.
 * `limit` says which limit (`tokens` or `cost`, in USD).
 */
export class BudgetExceeded extends Schema.TaggedError<BudgetExceeded>()("BudgetExceeded", {
  message: Schema.String,
  limit: Schema.Literals(["tokens", "cost"]),
  max: Schema.Number,
  spent: Schema.Number,
  requested: Schema.Number
}) {
  get retryable(): boolean {
    return false
  }
}

/** A tool loop used all its steps (model calls) without reaching a final answer. */
export class MaxStepsExceeded extends Schema.TaggedError<MaxStepsExceeded>()("MaxStepsExceeded", {
  message: Schema.String,
  maxSteps: Schema.Number
}) {
  get retryable(): boolean {
    return false
  }
}

/** Any error of a language-model call. */
export type LlmError =
  | RateLimited
  | TimedOut
  | AuthenticationFailed
  | PermissionDenied
  | BadRequest
  | NotFound
  | ServerError
  | ConnectionFailed
  | MalformedResponse
  | ContentFiltered
  | Truncated
  | Refused
  | InvalidOutput
  | BudgetExceeded

/** The Schema of {@link LlmError}, for errors that cross a wire. */
export const LlmError = Schema.Union([
  RateLimited,
  TimedOut,
  AuthenticationFailed,
  PermissionDenied,
  BadRequest,
  NotFound,
  ServerError,
  ConnectionFailed,
  MalformedResponse,
  ContentFiltered,
  Truncated,
  Refused,
  InvalidOutput,
  BudgetExceeded
])

const tags: ReadonlySet<string> = new Set([
  "RateLimited",
  "TimedOut",
  "AuthenticationFailed",
  "PermissionDenied",
  "BadRequest",
  "NotFound",
  "ServerError",
  "ConnectionFailed",
  "MalformedResponse",
  "ContentFiltered",
  "Truncated",
  "Refused",
  "InvalidOutput",
  "BudgetExceeded",
  "MaxStepsExceeded"
])

/** `true` for any error of this module. */
export const isLlmError = (u: unknown): u is LlmError | MaxStepsExceeded =>
  Predicate.hasProperty(u, "_tag") && typeof u._tag === "string" && tags.has(u._tag)
