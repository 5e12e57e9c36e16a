/**
 * Envelope templates: the fields shared by envelopes that differ in their payload (tells) or in their payload,
 * correlation id and deadline (asks, replies), with their JSON made once. Public through `Envelope.ts`.
 *
 * @since 0.1.0
 */
import type { Schema } from "effect"
import type * as ActorAddress from "../ActorAddress.ts"
import type { Envelope, Kind } from "../Envelope.ts"
import { isEnvelope, isJson } from "./envelopeCheck.ts"

/**
 * The fields of an envelope other than its payload (what a {@link Template} holds).
 *
 * @since 0.1.0
 */
export type Fields = {
  readonly kind: Kind
  readonly to: ActorAddress.ActorAddress
  readonly from?: ActorAddress.ActorAddress | undefined
  readonly correlationId?: string | undefined
  readonly traceparent?: string | undefined
  readonly deadline?: number | undefined
}

/** @internal The envelope of `fields` with `payload`, optional fields that are `undefined` left out (`make`'s). */
export const build = (fields: Fields, payload: Schema.Json): { -readonly [K in keyof Envelope]: Envelope[K] } => {
  const envelope: { -readonly [K in keyof Envelope]: Envelope[K] } = { kind: fields.kind, to: fields.to, payload }
  if (fields.from !== undefined) envelope.from = fields.from
  if (fields.correlationId !== undefined) envelope.correlationId = fields.correlationId
  if (fields.traceparent !== undefined) envelope.traceparent = fields.traceparent
  if (fields.deadline !== undefined) envelope.deadline = fields.deadline
  return envelope
}

const templateOf = Symbol("@troupe/transport/Envelope/template")
/** An envelope made from a template: it carries the template (see {@link templateFor}). */
type Templated = Envelope & { [templateOf]?: Template }
const utf8 = new TextEncoder()

/**
 * The fields shared by envelopes that differ only in their payload (one sender's tells to one actor), with
 * their JSON made once: an envelope made with {@link fill} is encoded by encoding its payload alone, into the
 * same bytes as the envelope `Envelope.make` would build.
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
  /** @internal `after` and the correlation id's key, up to its opening quote. */
  readonly idAfter: string
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
    this.idAfter = `${this.after},"correlationId":"`
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
 * checked and encoded whole, as `Envelope.make`'s are).
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
 * The envelope of a {@link requestTemplate}'s fields with `payload`, `correlationId` and `deadline`, as `Envelope.make`
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
  const from = fields.from
  // the usual ask (an id and a deadline) and reply (an id): one object literal each, with or without a sender, so
  // the envelope is made in one allocation of its final shape (adding its fields one by one grows it twice)
  if (correlationId !== undefined && fields.traceparent === undefined) {
    const kind = fields.kind
    const to = fields.to
    const made: Templated =
      deadline !== undefined
        ? from === undefined
          ? { kind, to, payload, correlationId, deadline, [templateOf]: template }
          : { kind, to, payload, from, correlationId, deadline, [templateOf]: template }
        : from === undefined
          ? { kind, to, payload, correlationId, [templateOf]: template }
          : { kind, to, payload, from, correlationId, [templateOf]: template }
    return made
  }
  const envelope: { -readonly [K in keyof Envelope]: Envelope[K] } & { [templateOf]?: Template } = {
    kind: fields.kind,
    to: fields.to,
    payload
  }
  if (from !== undefined) envelope.from = from
  if (correlationId !== undefined) envelope.correlationId = correlationId
  // none in a request template's fields (one given anyway makes it encode nothing: the envelope still carries it)
  if (fields.traceparent !== undefined) envelope.traceparent = fields.traceparent
  if (deadline !== undefined) envelope.deadline = deadline
  envelope[templateOf] = template
  return envelope
}

/**
 * The envelope of `template`'s fields with `payload`, as `Envelope.make` builds it (see {@link Template}).
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
  // the fixed text and the id's key made once (template.idAfter): two joins per ask with an id, not five
  if (id === undefined) return deadline === undefined ? template.after : `${template.after},"deadline":${deadline}`
  return deadline === undefined ? `${template.idAfter}${id}"` : `${template.idAfter}${id}","deadline":${deadline}`
}
