/**
 * Protocols: the typed message set of an actor.
 *
 * A protocol names each message with a tag and describes its fields with Effect Schema. A message that
 * expects an answer is a *request* and declares its reply: the success schema and, optionally, a typed
 * failure schema. `tell` accepts any message of the protocol; `ask` accepts only its requests and is typed
 * by their reply. The schemas are what carries messages across a process boundary.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Protocol } from "@troupe/runtime"
 *
 * class Insufficient extends Schema.TaggedError<Insufficient>()("Insufficient", { balance: Schema.Number }) {}
 *
 * export const Account = Protocol.make("Account", {
 *   Deposit: { amount: Schema.Number },
 *   Balance: Protocol.request({}, { success: Schema.Number }),
 *   Withdraw: Protocol.request({ amount: Schema.Number }, { success: Schema.Number, failure: Insufficient })
 * })
 *
 * Account.Deposit({ amount: 10 }) // { _tag: "Deposit", amount: 10 }
 * ```
 */
import { Schema } from "effect"

const RequestTypeId: unique symbol = Symbol.for("@troupe/runtime/Protocol/Request")

/** A codec usable on the wire: no services needed to decode or encode. */
export type WireSchema = Schema.Codec<unknown, unknown, never, never>

/** The declaration of a request: its fields and the schemas of its reply. */
export interface RequestDef<
  Fields extends Schema.Struct.Fields,
  Success extends Schema.Top,
  Failure extends Schema.Top
> {
  readonly [RequestTypeId]: typeof RequestTypeId
  readonly fields: Fields
  readonly success: Success
  readonly failure: Failure
}

/** One entry of a protocol definition: plain fields for a one-way message, or a request. */
export type MessageDef = Schema.Struct.Fields | RequestDef<Schema.Struct.Fields, Schema.Top, Schema.Top>

/** The definition of a protocol: message tag → fields or request. */
export type Definition = { readonly [tag: string]: MessageDef }

/**
 * Declares a request: a message that expects a reply with `success`, or a typed `failure`.
 *
 * A handler that fails with a value of the `failure` schema answers the caller with that failure and keeps
 * running; any other failure is a crash that goes to the actor's supervisor.
 */
export const request: {
  <const Fields extends Schema.Struct.Fields, Success extends Schema.Top, Failure extends Schema.Top>(
    fields: Fields,
    reply: { readonly success: Success; readonly failure: Failure }
  ): RequestDef<Fields, Success, Failure>
  <const Fields extends Schema.Struct.Fields, Success extends Schema.Top>(
    fields: Fields,
    reply: { readonly success: Success }
  ): RequestDef<Fields, Success, typeof Schema.Never>
} = ((
  fields: Schema.Struct.Fields,
  reply: { readonly success: Schema.Top; readonly failure?: Schema.Top }
): RequestDef<Schema.Struct.Fields, Schema.Top, Schema.Top> => ({
  [RequestTypeId]: RequestTypeId,
  fields,
  success: reply.success,
  failure: reply.failure ?? Schema.Never
})) as never

/** True when a definition entry is a request. */
export const isRequestDef = (def: MessageDef): def is RequestDef<Schema.Struct.Fields, Schema.Top, Schema.Top> =>
  RequestTypeId in def

type FieldsOf<D> =
  D extends RequestDef<infer F, Schema.Top, Schema.Top> ? F : D extends Schema.Struct.Fields ? D : never

/** The value of the message with tag `K`: `{ _tag: K, ...fields }`. */
export type MessageOf<D extends Definition, K extends keyof D> = K extends string
  ? { readonly _tag: K } & Schema.Struct.Type<FieldsOf<D[K]>>
  : never

/** The tags of the requests of a definition. */
export type RequestTags<D extends Definition> = {
  [K in keyof D]: D[K] extends RequestDef<Schema.Struct.Fields, Schema.Top, Schema.Top> ? K : never
}[keyof D] &
  string

/** A protocol: its name, definition, message constructors and the schemas used on the wire. */
export type Protocol<D extends Definition> = ProtocolBase<D> & Constructors<D>

/** Any protocol. */
export type Any = ProtocolBase<Definition>

interface ProtocolBase<D extends Definition> {
  /** The protocol's name, used in logs, spans and errors. */
  readonly name: string
  /** The definition it was made from. */
  readonly definition: D
  /** The message tags of the protocol. */
  readonly tags: ReadonlySet<string>
  /** The schema of every message of the protocol (a union over tags). */
  readonly schema: WireSchema
  /** The schema of each message by tag. */
  readonly messageSchemas: { readonly [K in keyof D]: WireSchema }
}

type Constructors<D extends Definition> = {
  readonly [K in keyof D & string]: keyof FieldsOf<D[K]> extends never
    ? (fields?: Schema.Struct.Type<FieldsOf<D[K]>>) => MessageOf<D, K>
    : (fields: Schema.Struct.Type<FieldsOf<D[K]>>) => MessageOf<D, K>
}

/** The definition of a protocol. */
export type DefinitionOf<P> = P extends ProtocolBase<infer D> ? D : never

/** The union of all messages of a protocol. */
export type Message<P> = P extends ProtocolBase<infer D> ? MessageOf<D, keyof D> : never

/** The union of the request messages of a protocol. */
export type Request<P> = P extends ProtocolBase<infer D> ? MessageOf<D, RequestTags<D>> : never

type DefOfTag<P, K> = P extends ProtocolBase<infer D> ? (K extends keyof D ? D[K] : never) : never

/** The success type of the reply to the request with tag `K`. */
export type Success<P, K> =
  DefOfTag<P, K> extends RequestDef<Schema.Struct.Fields, infer S, Schema.Top> ? S["Type"] : never

/** The typed failure of the reply to the request with tag `K`. */
export type Failure<P, K> =
  DefOfTag<P, K> extends RequestDef<Schema.Struct.Fields, Schema.Top, infer E> ? E["Type"] : never

/** Names reserved for protocol members that would clash with a message tag. */
const reserved = new Set(["name", "definition", "tags", "schema", "messageSchemas"])

/**
 * Makes a protocol from a name and a definition (tag → fields, or tag → {@link request}).
 *
 * Each tag becomes a constructor: `Account.Deposit({ amount: 10 })`.
 */
export const make = <const D extends Definition>(name: string, definition: D): Protocol<D> => {
  const messageSchemas: Record<string, WireSchema> = {}
  const constructors: Record<string, (fields?: object) => object> = {}
  for (const tag of Object.keys(definition)) {
    if (reserved.has(tag)) throw new Error(`Protocol ${name}: "${tag}" cannot be a message tag (reserved name)`)
    const def = definition[tag]!
    const fields = isRequestDef(def) ? def.fields : def
    messageSchemas[tag] = Schema.TaggedStruct(tag, fields) as unknown as WireSchema
    constructors[tag] = (fields?: object) => ({ _tag: tag, ...fields })
  }
  const members = Object.values(messageSchemas)
  const schema = (members.length === 1 ? members[0] : Schema.Union(members)) as WireSchema
  return Object.assign(constructors, {
    name,
    definition,
    tags: new Set(Object.keys(definition)),
    schema,
    messageSchemas
  }) as unknown as Protocol<D>
}

/** The request definition for a tag, if that tag is a request. */
export const requestDef = (
  protocol: Any,
  tag: string
): RequestDef<Schema.Struct.Fields, Schema.Top, Schema.Top> | undefined => {
  const def = protocol.definition[tag]
  return def !== undefined && isRequestDef(def) ? def : undefined
}
