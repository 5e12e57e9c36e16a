/**
 * The unit the transport moves: an envelope addressed to an actor on some node, carrying a payload
 * the runtime has already encoded with its protocol's Schema. The transport never looks inside the
 * payload.
 *
 * @example
 * ```ts
 * import { ActorAddress, Envelope, NodeId } from "@troupe/transport"
 * const to = ActorAddress.make(NodeId.make("node-b"), "/user/counter")
 * const envelope = Envelope.make({ kind: "tell", to, payload: { _tag: "Increment", by: 1 } })
 * Envelope.decode({ kind: "tell", to }) // Result.fail({ field: "payload", ... }): what was wrong, and where
 * ```
 *
 * @since 0.1.0
 */
import { Result, Schema, SchemaIssue } from "effect"
import * as ActorAddress from "./ActorAddress.ts"
import { deepMessage, depthOf, isEnvelope, MAX_PAYLOAD_DEPTH, TRACEPARENT } from "./internal/envelopeCheck.ts"
import { build, type Fields } from "./internal/envelopeTemplate.ts"

export { isEnvelope, isTraceparent, MAX_PAYLOAD_DEPTH } from "./internal/envelopeCheck.ts"
export {
  afterPayload,
  type Fields,
  fill,
  fillRequest,
  type PayloadWriter,
  requestTemplate,
  Template,
  template,
  templateFor
} from "./internal/envelopeTemplate.ts"

/**
 * What the envelope is for: `tell` (fire and forget), `ask` (expects a `reply` with the same
 * correlation id), `reply`, or `system` (runtime-internal traffic such as watch notifications).
 *
 * @since 0.1.0
 */
export const Kind = Schema.Literals(["tell", "ask", "reply", "system"])

/** @since 0.1.0 */
export type Kind = typeof Kind.Type

/**
 * A W3C trace context `traceparent` header value: `version-traceid-parentid-flags` in lower-case hex.
 *
 * @since 0.1.0
 */
export const Traceparent = Schema.String.pipe(
  Schema.check(Schema.isPattern(TRACEPARENT, { message: "a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>)" }))
)

const Payload = Schema.Json.pipe(
  Schema.check(Schema.makeFilter((u: Schema.Json) => depthOf(u, MAX_PAYLOAD_DEPTH) <= MAX_PAYLOAD_DEPTH || deepMessage))
)

/**
 * The envelope schema. Every envelope that arrives from the wire is checked against it.
 *
 * - `kind`: see {@link Kind}.
 * - `from`: the sending actor, when there is one.
 * - `to`: the receiving actor; `to.node` must be the node the envelope is sent to.
 * - `correlationId`: ties a `reply` to its `ask`.
 * - `seq`: the link sequence number. Leave it out when sending; the link assigns it, and every
 *   envelope you receive carries it.
 * - `traceparent`: W3C trace context, so one trace can follow a request across nodes.
 * - `deadline`: for asks, the epoch time in milliseconds after which nobody waits for the reply.
 * - `payload`: any JSON value, already encoded by the runtime, nested at most
 *   {@link MAX_PAYLOAD_DEPTH} levels deep.
 *
 * @since 0.1.0
 */
export const Envelope = Schema.Struct({
  kind: Kind,
  from: Schema.optionalKey(ActorAddress.ActorAddress),
  to: ActorAddress.ActorAddress,
  correlationId: Schema.optionalKey(Schema.String),
  seq: Schema.optionalKey(Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(1)))),
  traceparent: Schema.optionalKey(Traceparent),
  deadline: Schema.optionalKey(Schema.Finite),
  payload: Payload
})

/** @since 0.1.0 */
export type Envelope = typeof Envelope.Type

/**
 * Builds an envelope. Optional fields that are `undefined` are left out.
 *
 * @example
 * ```ts
 * import { ActorAddress, Envelope, NodeId } from "@troupe/transport"
 * const to = ActorAddress.make(NodeId.make("node-b"), "/user/counter")
 * const envelope = Envelope.make({ kind: "tell", to, payload: { _tag: "Increment", by: 1 } })
 * ```
 * @since 0.1.0
 */
export const make = (fields: Fields & { readonly payload: Schema.Json }): Envelope => build(fields, fields.payload)

/**
 * What is wrong with a value that is not an envelope: the path of the first bad field (dotted,
 * `""` for the whole value) and a readable message.
 *
 * @since 0.1.0
 */
export interface Problem {
  readonly field: string
  readonly message: string
}

const decodeResult = Schema.decodeUnknownResult(Envelope)

/**
 * Decodes an unknown value (parsed from JSON) as an envelope with the Schema.
 *
 * @since 0.1.0
 */
export const decode = (u: unknown): Result.Result<Envelope, Problem> => {
  if (isEnvelope(u)) return Result.succeed(u)
  const payload = (u as { readonly payload?: unknown } | null)?.payload
  if (depthOf(payload, MAX_PAYLOAD_DEPTH) > MAX_PAYLOAD_DEPTH) {
    return Result.fail({ field: "payload", message: deepMessage }) // before the Schema, whose recursion it would exhaust
  }
  const result = decodeResult(u)
  return Result.isSuccess(result) ? Result.succeed(result.success) : Result.fail(describeIssue(result.failure.issue))
}

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

/**
 * The first problem in a Schema issue, as a dotted field path and a message.
 *
 * @since 0.1.0
 */
export const describeIssue = (issue: SchemaIssue.Issue): Problem => {
  const first = formatter(issue).issues[0]
  if (first === undefined) return { field: "", message: "invalid" }
  const path = (first.path ?? []).map((p) => (typeof p === "object" ? String(p.key) : String(p))).join(".")
  return { field: path, message: first.message }
}
