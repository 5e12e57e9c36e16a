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
import { isNodeId } from "./NodeId.ts"

/**
 * What the envelope is for: `tell` (fire and forget), `ask` (expects a `reply` with the same
 * correlation id), `reply`, or `system` (runtime-internal traffic such as watch notifications).
 *
 * @since 0.1.0
 */
export const Kind = Schema.Literals(["tell", "ask", "reply", "system"])

/** @since 0.1.0 */
export type Kind = typeof Kind.Type

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/

/**
 * A W3C trace context `traceparent` header value: `version-traceid-parentid-flags` in lower-case hex.
 *
 * @since 0.1.0
 */
export const Traceparent = Schema.String.pipe(
  Schema.check(Schema.isPattern(TRACEPARENT, { message: "a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>)" }))
)

/**
 * How deeply a payload may nest (arrays and objects within each other). Deeper payloads are refused
 * at the sender (`InvalidEnvelope`) and at the receiver (a `bad-envelope` error frame): decoding
 * them would exhaust the stack.
 *
 * @since 0.1.0
 */
export const MAX_PAYLOAD_DEPTH = 128

/** The depth of a value's nesting, counted up to `limit + 1` (so it never walks further). */
const depthOf = (u: unknown, limit: number): number => {
  if (typeof u !== "object" || u === null) return 0
  if (limit === 0) return 1
  let deepest = 0
  for (const key in u) {
    const depth = depthOf((u as { readonly [key: string]: unknown })[key], limit - 1)
    if (depth > deepest) deepest = depth
    if (deepest >= limit) break
  }
  return deepest + 1
}

/** @internal Whether `s` is a W3C `traceparent` value (what {@link Traceparent} accepts). */
export const isTraceparent = (s: string): boolean => TRACEPARENT.test(s)

const Payload = Schema.Json.pipe(
  Schema.check(Schema.makeFilter((u: Schema.Json) => depthOf(u, MAX_PAYLOAD_DEPTH) <= MAX_PAYLOAD_DEPTH || deepMessage))
)

const deepMessage = `nested deeper than ${MAX_PAYLOAD_DEPTH} levels`

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
export const make = (fields: {
  readonly kind: Kind
  readonly to: ActorAddress.ActorAddress
  readonly payload: Schema.Json
  readonly from?: ActorAddress.ActorAddress | undefined
  readonly correlationId?: string | undefined
  readonly traceparent?: string | undefined
  readonly deadline?: number | undefined
}): Envelope => build(fields, fields.payload)

const build = (fields: Fields, payload: Schema.Json): { -readonly [K in keyof Envelope]: Envelope[K] } => {
  const envelope: { -readonly [K in keyof Envelope]: Envelope[K] } = { kind: fields.kind, to: fields.to, payload }
  if (fields.from !== undefined) envelope.from = fields.from
  if (fields.correlationId !== undefined) envelope.correlationId = fields.correlationId
  if (fields.traceparent !== undefined) envelope.traceparent = fields.traceparent
  if (fields.deadline !== undefined) envelope.deadline = fields.deadline
  return envelope
}

/**
 * The fields of an envelope other than its payload (what a {@link Template} holds).
 *
 * @since 0.1.0
 */
export type Fields = Omit<Parameters<typeof make>[0], "payload">

const templateOf = Symbol("@troupe/transport/Envelope/template")
const utf8 = new TextEncoder()

/**
 * The fields shared by envelopes that differ only in their payload (one sender's tells to one actor), with
 * their JSON made once: an envelope made with {@link fill} is encoded by encoding its payload alone, into the
 * same bytes as the envelope {@link make} would build.
 *
 * @example
 * ```ts
 * import { ActorAddress, Envelope, NodeId } from "@troupe/transport"
 * const ticks = Envelope.template({ kind: "tell", to: ActorAddress.make(NodeId.make("node-b"), "/user/counter") })
 * const envelope = Envelope.fill(ticks, { _tag: "Increment", by: 1 })
 * ```
 * @since 0.1.0
 */
export class Template {
  /** The fields, their addresses copied and frozen (an envelope keeps them, so none can change under the JSON). */
  readonly fields: Fields
  /** The envelope's JSON before and after its payload; undefined when the fields are not valid. */
  readonly head: string | undefined
  readonly tail: string | undefined
  /** The UTF-8 bytes of `head` and `tail`. */
  readonly bytes: number
  /** @internal `head` in UTF-8. */
  readonly headBytes: Uint8Array
  /** @internal `tail` in UTF-8. */
  readonly tailBytes: Uint8Array
  /**
   * A request template's (see {@link requestTemplate}): its envelopes' correlation id and deadline vary, written after
   * `after` (the fixed JSON after the payload, its sender's), before `tail` (`}`).
   */
  readonly request: boolean
  /** @internal A request template's fixed JSON after the payload (`""` for any other template). */
  readonly after: string
  constructor(fields: Fields, request = false) {
    // a request template has no fixed id, trace context or deadline (an envelope with a trace context is made whole)
    const valid =
      isEnvelope(build(fields, null)) &&
      !(
        request &&
        (fields.correlationId !== undefined || fields.traceparent !== undefined || fields.deadline !== undefined)
      )
    const address = (a: ActorAddress.ActorAddress) => Object.freeze({ node: a.node, path: a.path })
    this.fields = valid ? { ...fields, to: address(fields.to), from: fields.from && address(fields.from) } : fields
    const json = valid ? JSON.stringify(build(this.fields, null)) : undefined
    // the payload follows `kind` and `to` (make's key order); no string field holds an unescaped quote
    const at = json?.indexOf(',"payload":null') ?? -1
    this.head = at < 0 ? undefined : json!.slice(0, at + 11)
    const tail = at < 0 ? undefined : json!.slice(at + 15)
    this.request = request
    // a request's id and deadline come last (make's key order): before the closing brace
    this.after = request && tail !== undefined ? tail.slice(0, -1) : ""
    this.tail = request && tail !== undefined ? "}" : tail
    // own buffers, not slices of a shared pool: a template may live long, and a slice would keep its pool alive
    this.headBytes = utf8.encode(this.head ?? "")
    this.tailBytes = utf8.encode(this.tail ?? "")
    this.bytes = this.headBytes.length + this.tailBytes.length
  }
}

/**
 * Makes a {@link Template}.
 *
 * @example
 * ```ts
 * const ticks = Envelope.template({ kind: "tell", to: ActorAddress.make(NodeId.make("node-b"), "/user/counter") })
 * ```
 * @since 0.1.0
 */
export const template = (fields: Fields): Template => new Template(fields)

/**
 * The fields shared by asks (or replies) that differ in their payload, correlation id and deadline only (one
 * sender's asks to one actor, one node's replies to another): a {@link Template} whose envelopes, made with
 * {@link fillRequest}, are encoded as the template's JSON around their payload's, their id's and their deadline's.
 * Its fields have no correlation id, trace context or deadline (with any, it encodes nothing: envelopes of it are
 * checked and encoded whole, as {@link make}'s are).
 *
 * @example
 * ```ts
 * import { ActorAddress, Envelope, NodeId } from "@troupe/transport"
 * const asks = Envelope.requestTemplate({ kind: "ask", to: ActorAddress.make(NodeId.make("node-b"), "/user/counter") })
 * const envelope = Envelope.fillRequest(asks, { _tag: "Get" }, "17", Date.now() + 5_000)
 * ```
 * @since 0.1.0
 */
export const requestTemplate = (fields: Omit<Fields, "correlationId" | "traceparent" | "deadline">): Template =>
  new Template(fields, true)

/**
 * The envelope of a {@link requestTemplate}'s fields with `payload`, `correlationId` and `deadline`, as {@link make}
 * builds it.
 *
 * @example
 * ```ts
 * const envelope = Envelope.fillRequest(asks, { _tag: "Get" }, "17", Date.now() + 5_000)
 * ```
 * @since 0.1.0
 */
export const fillRequest = (
  template: Template,
  payload: Schema.Json,
  correlationId: string | undefined,
  deadline: number | undefined
): Envelope => {
  const fields = template.fields
  const envelope: { -readonly [K in keyof Envelope]: Envelope[K] } & { [templateOf]?: Template } = {
    kind: fields.kind,
    to: fields.to,
    payload
  }
  if (fields.from !== undefined) envelope.from = fields.from
  if (correlationId !== undefined) envelope.correlationId = correlationId
  // none in a request template's fields (one given anyway makes it encode nothing: the envelope still carries it)
  if (fields.traceparent !== undefined) envelope.traceparent = fields.traceparent
  if (deadline !== undefined) envelope.deadline = deadline
  envelope[templateOf] = template
  return envelope
}

/**
 * The envelope of `template`'s fields with `payload`, as {@link make} builds it (see {@link Template}).
 *
 * @example
 * ```ts
 * const envelope = Envelope.fill(ticks, { _tag: "Increment", by: 1 }) // encoded as ticks.head + payload + ticks.tail
 * ```
 * @since 0.1.0
 */
export const fill = (template: Template, payload: Schema.Json): Envelope => {
  const envelope: Envelope & { [templateOf]?: Template } = build(template.fields, payload)
  envelope[templateOf] = template
  return envelope
}

/**
 * Writes a payload's JSON (the text `JSON.stringify` gives it, keys in any order) as UTF-8 into `into`, from `at`
 * and before `end`, and returns where it ends: -1 when it does not fit there (the transport then gives it a larger
 * space, or encodes the payload itself), -2 when it cannot write this payload (the transport encodes it itself, and
 * refuses it if it is not JSON). A caller that knows its payloads' shape writes them without making a string (see
 * `Service.offer`).
 *
 * @example
 * ```ts
 * // payloads { _tag: "Tick", n } with n a small non-negative integer
 * const writeTick: Envelope.PayloadWriter = (payload, into, at, end) => {
 *   const text = `{"_tag":"Tick","n":${(payload as { n: number }).n}}`
 *   if (at + text.length > end) return -1
 *   return at + into.write(text, at, "latin1")
 * }
 * ```
 * @since 0.1.0
 */
export type PayloadWriter = (payload: Schema.Json, into: Buffer, at: number, end: number) => number

/**
 * @internal The template of an envelope made with {@link fill} whose fields are still the template's and whose
 * payload is JSON (`json`: the caller vouches that it is): its JSON is `head + JSON.stringify(payload) + tail`.
 * Undefined for any other envelope (encode those with `JSON.stringify` after checking them).
 */
export const templateFor = (envelope: Envelope, json = false): Template | undefined => {
  const template = (envelope as { [templateOf]?: Template })[templateOf]
  if (template?.head === undefined) return undefined
  const fields = template.fields
  return envelope.kind === fields.kind &&
    envelope.to === fields.to &&
    envelope.from === fields.from &&
    (template.request
      ? isPlainId(envelope.correlationId) && (envelope.deadline === undefined || Number.isFinite(envelope.deadline))
      : envelope.correlationId === fields.correlationId && envelope.deadline === fields.deadline) &&
    envelope.traceparent === fields.traceparent &&
    (json || isJson(envelope.payload, 0))
    ? template
    : undefined
}

/** The longest correlation id a request template writes itself (a longer one is encoded whole). */
const PLAIN_ID = 64

/** Absent, or a short string of printable ASCII without `"` or a backslash: its JSON is itself in quotes. */
const isPlainId = (id: unknown): boolean => {
  if (id === undefined) return true
  if (typeof id !== "string" || id.length > PLAIN_ID) return false
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i)
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return false
  }
  return true
}

/**
 * @internal The JSON between the payload and `tail` of an envelope whose template {@link templateFor} gave: a
 * request template's fixed text, then the envelope's correlation id and deadline (as `JSON.stringify` writes them);
 * `""` for any other template.
 */
export const afterPayload = (template: Template, envelope: Envelope): string => {
  if (!template.request) return ""
  const id = envelope.correlationId
  const deadline = envelope.deadline
  let after = template.after
  if (id !== undefined) after += `,"correlationId":"${id}"`
  if (deadline !== undefined) after += `,"deadline":${deadline}`
  return after
}

/** A JSON leaf: a string, a boolean, a finite number. */
const isLeaf = (u: unknown): boolean => {
  const type = typeof u
  return type === "string" || type === "boolean" || (type === "number" && Number.isFinite(u))
}

/** Whether `u` is a JSON value nested at most `MAX_PAYLOAD_DEPTH - depth` deep (leaves checked in place, no call each). */
const isJson = (u: unknown, depth: number): boolean => {
  if (typeof u !== "object") return isLeaf(u)
  if (u === null) return true
  if (depth >= MAX_PAYLOAD_DEPTH) return false
  if (Array.isArray(u)) {
    for (let i = 0; i < u.length; i++) {
      const value: unknown = u[i]
      if (typeof value === "object" ? !isJson(value, depth + 1) : !isLeaf(value)) return false
    }
    return true
  }
  const proto = Object.getPrototypeOf(u)
  if (proto !== Object.prototype && proto !== null) return false // a Date, a Map, a class instance...
  for (const key in u) {
    const value = (u as { readonly [key: string]: unknown })[key]
    if (typeof value === "object" ? !isJson(value, depth + 1) : !isLeaf(value)) return false
  }
  return true
}

const isAddress = (u: unknown, checked: string | undefined): boolean => {
  if (typeof u !== "object" || u === null || Array.isArray(u)) return false
  const a = u as { readonly node?: unknown; readonly path?: unknown }
  return (a.node === checked || isNodeId(a.node)) && typeof a.path === "string"
}

/** The `to.node` and `from.node` of the last envelope found valid: on a link the same two come in every one. */
let checkedTo: string | undefined
let checkedFrom: string | undefined

/**
 * A fast check that a value parsed from JSON is a valid {@link Envelope}: the wire's hot path runs
 * it on every inbound envelope. It accepts exactly what the Schema accepts for JSON input (a
 * conformance test holds it to that); whatever it rejects is decoded with the Schema, which has the
 * last word and names the offending field.
 *
 * @since 0.1.0
 */
export const isEnvelope = (u: unknown): u is Envelope => {
  if (typeof u !== "object" || u === null || Array.isArray(u)) return false
  const e = u as { readonly [key: string]: unknown }
  switch (e.kind) {
    case "tell":
    case "ask":
    case "reply":
    case "system":
      break
    default:
      return false
  }
  if (!isAddress(e.to, checkedTo) || !isJson(e.payload, 0)) return false
  if ("from" in e && !isAddress(e.from, checkedFrom)) return false
  if ("correlationId" in e && typeof e.correlationId !== "string") return false
  if ("seq" in e && !(Number.isSafeInteger(e.seq) && (e.seq as number) >= 1)) return false
  if ("traceparent" in e && !(typeof e.traceparent === "string" && TRACEPARENT.test(e.traceparent))) return false
  if ("deadline" in e && !Number.isFinite(e.deadline)) return false
  checkedTo = (e.to as ActorAddress.ActorAddress).node
  if (e.from !== undefined) checkedFrom = (e.from as ActorAddress.ActorAddress).node
  return true
}

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
