/**
 * How remoting puts things on the wire: the codecs of protocols (one per protocol, made once), the payloads of
 * replies, the system messages nodes exchange (death watch, cancellations, flow control, directories), lookups,
 * termination reasons, and trace context.
 */
import type { Envelope } from "@troupe/transport"
import { Cause, Context, Exit, type Fiber, Schema, Tracer } from "effect"
import * as ActorRefs from "../../ActorRef.ts"
import { MailboxFull } from "../../Mailbox.ts"
import * as Protocol from "../../Protocol.ts"
import * as Terminated from "../../Terminated.ts"
import { isPlain, type PlainField, plainCheck, plainFields, plainWriter } from "./plainStruct.ts"

export type Json = Schema.Json
export type Message = { readonly _tag: string }

/** The path that system requests (lookups) are addressed to. */
export const SYSTEM_PATH = "/system"

/** The protocol of a ref whose protocol this node does not know (the sender of an inbound message). */
export const UnknownProtocol = Protocol.make("unknown", {})

// ---------------------------------------------------------------------------------------------------------
// Codecs
// ---------------------------------------------------------------------------------------------------------

export interface Codec {
  encode(message: Message): Json
  /**
   * What writes the JSON of a message that is a plain struct of its protocol (see {@link isPlain}: then `encode`
   * returns it as it is) straight into the transport's bytes, the same text as `JSON.stringify` of it (keys in the
   * schema's order; see `plainWriter`). Undefined for any other message (encode it).
   */
  writer(message: Message): Envelope.PayloadWriter | undefined
  /** The message, or what is wrong with the payload; refs in it are resolved by `resolve`. */
  decode(payload: unknown, resolve: ActorRefs.Resolver): Message | string
}

type Decoder = (u: unknown, resolve: ActorRefs.Resolver) => Message | string

const codecs = new WeakMap<Protocol.Any, Codec>()

/**
 * The JSON form of an encoded value: object keys whose value is `undefined` are left out, as `JSON.stringify`
 * would (the transport accepts only JSON). The value itself when it has none, which is the usual case.
 */
export const toJson = (value: unknown): unknown => {
  if (typeof value !== "object" || value === null) return value
  if (Array.isArray(value)) {
    let copy: Array<unknown> | undefined
    for (let i = 0; i < value.length; i++) {
      const item = toJson(value[i])
      if (item !== value[i]) (copy ??= [...value])[i] = item
    }
    return copy ?? value
  }
  let copy: Record<string, unknown> | undefined
  const record = value as Record<string, unknown>
  for (const key in record) {
    const item = record[key]
    if (item === undefined) {
      copy ??= { ...record }
      delete copy[key]
      continue
    }
    const json = toJson(item)
    if (json !== item) (copy ??= { ...record })[key] = json
  }
  return copy ?? value
}

export const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/**
 * Makes {@link toJson} of values encoded with `schema`, checked when it left keys out: JSON has no undefined, so
 * a field whose value is `undefined` crosses as an absent key, and the value must still be valid without it (an
 * optional field is; a field of `Schema.Unknown` or `Schema.Undefined` is not). Otherwise it throws, naming the
 * field: the sender gets `InvalidMessage` (the receiver could not decode it, and a session would blame the role
 * that received it). Checked against the encoded side of the union member the value is (a session's `Deliver`
 * has a catch-all member). The usual value has no undefined field: nothing is checked, and nothing copied.
 */
const jsonOf = (schema: Schema.Top): ((value: unknown, encoded: unknown) => Json) => {
  let members:
    | ReadonlyArray<{
        readonly is: (u: unknown) => boolean
        readonly encoded: (u: unknown) => Exit.Exit<unknown, Schema.SchemaError>
      }>
    | undefined
  return (value, encoded) => {
    const json = toJson(encoded)
    if (json === encoded) return json as Json
    members ??= (
      "members" in schema && Array.isArray(schema.members) ? (schema.members as ReadonlyArray<Schema.Top>) : [schema]
    ).map((member) => ({
      is: Schema.is(member as AnyCodec),
      encoded: Schema.decodeUnknownExit(Schema.toEncoded(member as AnyCodec)) as (
        u: unknown
      ) => Exit.Exit<unknown, Schema.SchemaError>
    }))
    const member = members.length === 1 ? members[0]! : (members.find((m) => m.is(value)) ?? members[0]!)
    const exit = member.encoded(json)
    if (Exit.isFailure(exit)) {
      throw new Error(
        "it cannot cross the wire: JSON has no undefined, and without its fields whose value is undefined it is " +
          `not valid: ${describe(Cause.squash(exit.cause))}`
      )
    }
    return json as Json
  }
}

/** Encodes and decodes the messages of a protocol, one schema per tag, made once. */
export const codecOf = (protocol: Protocol.Any): Codec => {
  let codec = codecs.get(protocol)
  if (codec !== undefined) return codec
  const encoders = new Map<string, (m: Message) => Json>()
  const writers = new Map<
    string,
    { readonly fields: ReadonlyArray<PlainField>; readonly write: Envelope.PayloadWriter }
  >()
  const decoders = new Map<string, Decoder>()
  for (const tag of protocol.tags) {
    const schema = protocol.messageSchemas[tag]!
    const encode = Schema.encodeSync(schema)
    const decodeExit = Schema.decodeUnknownExit(schema) as (u: unknown) => Exit.Exit<unknown, Schema.SchemaError>
    const decode = (u: unknown): Message | string => {
      const exit = decodeExit(u)
      return Exit.isSuccess(exit) ? (exit.value as Message) : describe(Cause.squash(exit.cause))
    }
    const plain = plainFields(schema.ast)
    const json = jsonOf(schema)
    // a message of records, arrays, nested structs or JSON that is its own form: one walk instead of the Schema
    const check = plain === undefined ? plainCheck(schema.ast) : undefined
    if (check !== undefined) {
      encoders.set(tag, (message) => (check(message) ? (message as unknown as Json) : json(message, encode(message))))
      decoders.set(tag, (u) => (check(u) ? (u as Message) : decode(u)))
    } else if (plain === undefined) {
      encoders.set(tag, (message) => json(message, encode(message)))
      decoders.set(tag, (u, resolve) => ActorRefs.withResolver(resolve, decode, u))
    } else {
      // a plain struct holds no refs: nothing to resolve
      encoders.set(tag, (message) =>
        isPlain(plain, message) ? (message as unknown as Json) : json(message, encode(message))
      )
      writers.set(tag, { fields: plain, write: plainWriter(plain) })
      decoders.set(tag, (u) => (isPlain(plain, u) ? (u as Message) : decode(u)))
    }
  }
  let lastTag: unknown
  let lastDecode: Decoder | undefined
  let lastWriterTag: unknown
  let lastWriter: { readonly fields: ReadonlyArray<PlainField>; readonly write: Envelope.PayloadWriter } | undefined
  codec =
    protocol === UnknownProtocol
      ? {
          encode: (message) => message as unknown as Json,
          writer: () => undefined,
          decode: () => "no protocol to decode with"
        }
      : {
          encode: (message) => {
            const encode = encoders.get(message._tag)
            if (encode === undefined) throw new Error(`${message._tag} is not a message of ${protocol.name}`)
            return encode(message)
          },
          writer: (message) => {
            const tag = message._tag
            // consecutive messages usually have the same tag: its writer is kept at hand
            if (tag !== lastWriterTag || lastWriter === undefined) {
              const writer = writers.get(tag)
              if (writer === undefined) return undefined
              lastWriterTag = tag
              lastWriter = writer
            }
            return isPlain(lastWriter.fields, message) ? lastWriter.write : undefined
          },
          decode: (payload, resolve) => {
            const tag = (payload as { _tag?: unknown } | null)?._tag
            // consecutive messages usually have the same tag: its decoder is kept at hand
            if (lastDecode !== undefined && tag === lastTag) return lastDecode(payload, resolve)
            const decode = typeof tag === "string" ? decoders.get(tag) : undefined
            if (decode === undefined) {
              return `${JSON.stringify(tag ?? null)} is not a message of ${protocol.name} (expected one of ${[...protocol.tags].join(", ")})`
            }
            lastTag = tag
            lastDecode = decode
            return decode(payload, resolve)
          }
        }
  codecs.set(protocol, codec)
  return codec
}

type AnyCodec = Schema.Codec<unknown, unknown, never, never>
const encoderOf = new WeakMap<Schema.Top, (value: unknown) => Json>()
const decoderOf = new WeakMap<Schema.Top, (value: unknown) => Exit.Exit<unknown, Schema.SchemaError>>()
const plainOf = new WeakMap<Schema.Top, (u: unknown) => boolean>()
const notPlain = (): boolean => false

/** The schema checked last and its check: a reply's or an ask's schema is usually the previous one's. */
let lastPlainSchema: Schema.Top | undefined
let lastPlain: (u: unknown) => boolean = notPlain

/** The check that a value is its own form under `schema` (see `plainCheck`), made once; false for other schemas. */
const isPlainFor = (schema: Schema.Top): ((u: unknown) => boolean) => {
  if (schema === lastPlainSchema) return lastPlain
  let plain = plainOf.get(schema)
  if (plain === undefined) {
    plain = plainCheck(schema.ast) ?? notPlain
    plainOf.set(schema, plain)
  }
  lastPlainSchema = schema
  lastPlain = plain
  return plain
}

/** Whether `value` is its own encoded and decoded form under `schema` (a number for `Schema.Number`, a plain struct...). */
export const isPlainValue = (schema: Schema.Top, value: unknown): boolean => isPlainFor(schema)(value)

/**
 * Encodes with `schema` (its encoder made once: replies and asks use it on every message). A value that is its own
 * encoded form (a number for `Schema.Number`, a plain struct...) is taken as it is: the Schema would give it back.
 */
export const encodeWith = (schema: Schema.Top, value: unknown): Json => {
  if (isPlainFor(schema)(value)) return value as Json
  let encode = encoderOf.get(schema)
  if (encode === undefined) {
    const encoded = Schema.encodeUnknownSync(schema as AnyCodec)
    const json = jsonOf(schema)
    encode = (value) => json(value, encoded(value))
    encoderOf.set(schema, encode)
  }
  return encode(value)
}

/** Decodes with `schema` (its decoder made once); a value that is its own decoded form is taken as it is. */
export const decodeWith = (schema: Schema.Top, value: unknown): Exit.Exit<unknown, Schema.SchemaError> => {
  if (isPlainFor(schema)(value)) return Exit.succeed(value)
  let decode = decoderOf.get(schema)
  if (decode === undefined) {
    decode = Schema.decodeUnknownExit(schema as AnyCodec)
    decoderOf.set(schema, decode)
  }
  return decode(value)
}

/** The errors an ask can end with that travel back in a reply. */
export const RemoteAskError = Schema.Union([
  ActorRefs.RecipientTerminated,
  ActorRefs.RequestFailed,
  ActorRefs.InvalidMessage,
  MailboxFull
])

/** The payload of a reply envelope. */
export type ReplyPayload =
  | { readonly _tag: "Success"; readonly value: Json }
  | { readonly _tag: "Failure"; readonly error: Json }
  | { readonly _tag: "Error"; readonly error: Json }

const Reason = Schema.Union([
  Schema.Struct({ _tag: Schema.Literal("Stopped") }),
  Schema.Struct({ _tag: Schema.Literal("Failed"), cause: Schema.String }),
  Schema.Struct({ _tag: Schema.Literal("NodeDown"), node: Schema.String })
])

export const Announcement = Schema.Struct({ name: Schema.String, protocol: Schema.String, path: Schema.String })
const DirectoryName = Schema.Literals(["receptionist", "topics"])

/** What nodes tell each other besides actor messages. */
export const SystemMessage = Schema.Union([
  Schema.Struct({ type: Schema.Literal("watch"), path: Schema.String }),
  Schema.Struct({ type: Schema.Literal("unwatch"), path: Schema.String }),
  Schema.Struct({ type: Schema.Literal("terminated"), path: Schema.String, reason: Reason }),
  Schema.Struct({ type: Schema.Literal("cancel"), correlationId: Schema.String }),
  // flow control: the recipient's mailbox is full (pause sending to it) / has room again (resume)
  Schema.Struct({ type: Schema.Literal("pause"), path: Schema.String }),
  Schema.Struct({ type: Schema.Literal("resume"), path: Schema.String }),
  Schema.Struct({
    type: Schema.Literal("directory"),
    directory: DirectoryName,
    op: Schema.Literals(["add", "remove"]),
    entry: Announcement
  }),
  Schema.Struct({
    type: Schema.Literal("directory-sync"),
    directory: DirectoryName,
    entries: Schema.Array(Announcement)
  })
])
export type SystemMessage = typeof SystemMessage.Type
export const decodeSystemMessage = Schema.decodeUnknownExit(SystemMessage)

/** A lookup: is there an actor at `path` speaking `protocol`? */
export const LookupRequest = Schema.Struct({
  _tag: Schema.Literal("Lookup"),
  path: Schema.String,
  protocol: Schema.String
})
export const LookupResult = Schema.Literals(["found", "no-actor", "protocol-mismatch"])

export const encodeReason = (reason: Terminated.Reason): typeof Reason.Type =>
  reason._tag === "Failed"
    ? { _tag: "Failed", cause: Cause.pretty(reason.cause) }
    : reason._tag === "NodeDown"
      ? { _tag: "NodeDown", node: reason.node }
      : { _tag: "Stopped" }

export const decodeReason = (reason: typeof Reason.Type): Terminated.Reason =>
  reason._tag === "Failed"
    ? new Terminated.Failed({ cause: Cause.die(new Error(reason.cause)) })
    : reason._tag === "NodeDown"
      ? new Terminated.NodeDown({ node: reason.node })
      : Terminated.stopped

export const traceparentOf = (fiber: Fiber.Fiber<unknown, unknown>): string | undefined => {
  const span = Context.getOrUndefined(fiber.context, Tracer.ParentSpan)
  return span === undefined ? undefined : `00-${span.traceId}-${span.spanId}-${span.sampled ? "01" : "00"}`
}

export const spanOf = (traceparent: string | undefined): Tracer.AnySpan | undefined => {
  if (traceparent === undefined) return undefined
  const [, traceId, spanId, flags] = traceparent.split("-")
  return Tracer.externalSpan({ traceId: traceId!, spanId: spanId!, sampled: flags === "01" })
}
