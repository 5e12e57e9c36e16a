/**
 * Refs: the address of an actor, typed by its protocol. `tell` sends any message of the protocol and
 * returns once it is in the mailbox; `ask` sends a request and waits for its typed reply, always with a
 * deadline (5 s unless the system or the call says otherwise). A ref stays valid across restarts of its
 * actor, and looks the same whether the actor is local or on another node.
 *
 * @example
 * ```ts
 * yield* counter.tell(Counter.Add({ n: 2 }))
 * const n = yield* counter.ask(Counter.Get(), { timeout: "1 second" })
 * ```
 */

import type { TransportError } from "@troupe/transport"
import { type Duration, Effect, Option, Schema, SchemaIssue, SchemaTransformation } from "effect"
import { dual } from "effect/Function"
import type { ClusterUnavailable } from "./cluster/ClusterUnavailable.ts"
import { ClusterRefs } from "./internal/clusterRefs.ts"
import type { MailboxFull } from "./Mailbox.ts"
import type * as Protocol from "./Protocol.ts"

/** @internal */
export const TypeId: unique symbol = Symbol.for("@troupe/runtime/ActorRef")

/** Options of an `ask`. */
export interface AskOptions {
  /** How long to wait for the reply; the system's default (5 s) otherwise. */
  readonly timeout?: Duration.Input
}

/** A reference to an actor whose protocol is `P`. */
export interface ActorRef<P extends Protocol.Any> {
  readonly [TypeId]: typeof TypeId
  /** The actor's protocol. */
  readonly protocol: P
  /** The actor's path on its node, e.g. `/user/orders/o-42`. */
  readonly path: string
  /** The actor's name: the last segment of its path. */
  readonly name: string
  /** The id of the node that hosts the actor. */
  readonly node: string
  /** Sends a message; returns once it is in the recipient's mailbox (see the mailbox's overflow policy). */
  tell(message: Protocol.Message<P>): Effect.Effect<void, TellError>
  /** Sends a request and waits for its reply, until the deadline. */
  ask<M extends Protocol.Request<P>>(
    message: M,
    options?: AskOptions
  ): Effect.Effect<Protocol.Success<P, M["_tag"]>, Protocol.Failure<P, M["_tag"]> | AskError>
}

/** True when the value is an actor ref. */
export const isActorRef = (u: unknown): u is ActorRef<Protocol.Any> =>
  typeof u === "object" && u !== null && TypeId in u

/** Sends a message to an actor (see {@link ActorRef.tell}). */
export const tell: {
  <P extends Protocol.Any>(message: Protocol.Message<P>): (ref: ActorRef<P>) => Effect.Effect<void, TellError>
  <P extends Protocol.Any>(ref: ActorRef<P>, message: Protocol.Message<P>): Effect.Effect<void, TellError>
} = dual(2, <P extends Protocol.Any>(ref: ActorRef<P>, message: Protocol.Message<P>) => ref.tell(message))

/** Sends a request to an actor and waits for the reply (see {@link ActorRef.ask}). */
export const ask = <P extends Protocol.Any, M extends Protocol.Request<P>>(
  ref: ActorRef<P>,
  message: M,
  options?: AskOptions
): Effect.Effect<Protocol.Success<P, M["_tag"]>, Protocol.Failure<P, M["_tag"]> | AskError> => ref.ask(message, options)

/** No reply came before the ask's deadline. The work on the recipient's side was interrupted. */
export class AskTimeout extends Schema.TaggedError<AskTimeout>()("AskTimeout", {
  recipient: Schema.String,
  tag: Schema.String,
  timeoutMillis: Schema.Number
}) {
  override get message() {
    return `No reply from ${this.recipient} to ${this.tag} within ${this.timeoutMillis} ms`
  }
}

/** The recipient had terminated, or terminated before it replied. */
export class RecipientTerminated extends Schema.TaggedError<RecipientTerminated>()("RecipientTerminated", {
  recipient: Schema.String,
  tag: Schema.String
}) {
  override get message() {
    return `${this.recipient} terminated before replying to ${this.tag}`
  }
}

/** The recipient crashed while handling the request (a failure other than the request's declared one). */
export class RequestFailed extends Schema.TaggedError<RequestFailed>()("RequestFailed", {
  recipient: Schema.String,
  tag: Schema.String,
  cause: Schema.String
}) {
  override get message() {
    return `${this.recipient} failed while handling ${this.tag}: ${this.cause}`
  }
}

/**
 * A message that cannot reach an actor of another node: at the sender, it does not encode, is not JSON (or
 * has a field whose value is `undefined` where its schema needs the key), is larger than the frame limit or holds
 * more JSON values than the transport's `maxEnvelopeValues` (50,000 by default); at the
 * recipient's node, it did not decode with the recipient's protocol. `issue` says which field was wrong and how.
 * The message was not delivered.
 *
 * @example
 * ```ts
 * remote.tell(Store.Put({ key: "a", value: 10n })).pipe(
 *   Effect.catchTag("InvalidMessage", (e) => Effect.logWarning(e.message)) // "Put to ActorRef(...) is invalid: ..."
 * )
 * ```
 */
export class InvalidMessage extends Schema.TaggedError<InvalidMessage>()("InvalidMessage", {
  recipient: Schema.String,
  tag: Schema.String,
  issue: Schema.String
}) {
  override get message() {
    return `${this.tag} to ${this.recipient} is invalid: ${this.issue}`
  }
}

/**
 * Why a tell can fail: the recipient's mailbox is full under the `"fail"` policy (`MailboxFull`), or the
 * message cannot reach an actor of another node (`InvalidMessage`: it does not encode, is not JSON, is
 * larger than the frame limit or holds more values than `maxEnvelopeValues`), or the cluster cannot carry it to a sharded actor (`ClusterUnavailable`).
 */
export type TellError = MailboxFull | InvalidMessage | ClusterUnavailable

/**
 * Why an ask can fail besides the request's own declared failure. `NodeUnreachable` (from
 * `@troupe/transport`) comes at once when the recipient's node is down or goes down while the ask waits;
 * `ClusterUnavailable` when the cluster cannot carry a request to a sharded actor (see `Sharded`).
 */
export type AskError =
  | AskTimeout
  | RecipientTerminated
  | RequestFailed
  | MailboxFull
  | TransportError.NodeUnreachable
  | InvalidMessage
  | ClusterUnavailable

/** How a ref looks on the wire: its node, its path and the name of its protocol. */
export const Address = Schema.Struct({ node: Schema.String, path: Schema.String, protocol: Schema.String })

/** @internal Turns an address into a ref; set by the actor system while it decodes a message. */
export type Resolver = (address: typeof Address.Type, protocol: Protocol.Any) => ActorRef<Protocol.Any> | string

let currentResolver: Resolver | undefined

/** @internal Runs `f` (a decode) with refs resolved by `resolver`. */
export const withResolver: {
  <A>(resolver: Resolver, f: () => A): A
  <A, B>(resolver: Resolver, f: (b: B) => A, b: B): A
} = <A, B>(resolver: Resolver, f: (b?: B) => A, b?: B): A => {
  const previous = currentResolver
  currentResolver = resolver
  try {
    return f(b)
  } finally {
    currentResolver = previous
  }
}

/** @internal Told of every ref encoded into a message; set by the actor system while it encodes for a peer. */
export type Revealer = (ref: ActorRef<Protocol.Any>) => void

let currentRevealer: Revealer | undefined

/** @internal Runs `f` (an encode) telling `revealer` of every ref it encodes. */
export const withRevealer = <A>(revealer: Revealer, f: () => A): A => {
  const previous = currentRevealer
  currentRevealer = revealer
  try {
    return f()
  } finally {
    currentRevealer = previous
  }
}

/**
 * A schema for refs inside messages, so a message can carry "where to reply" across nodes. A ref is
 * encoded as its address (node, path, protocol name) and decoded, on the receiving node, back into a ref
 * that reaches the same actor.
 *
 * @example
 * ```ts
 * const Greeter = Protocol.make("Greeter", {
 *   Greet: { name: Schema.String, replyTo: ActorRef.schema(Greetings) }
 * })
 * ```
 */
export const schema = <P extends Protocol.Any>(protocol: P): Schema.Codec<ActorRef<P>, typeof Address.Type> =>
  Address.pipe(
    Schema.decodeTo(
      Schema.declare((u: unknown): u is ActorRef<P> => isActorRef(u) && u.protocol.name === protocol.name, {
        expected: `ActorRef<${protocol.name}>`
      }),
      SchemaTransformation.transformEffect({
        decode: (address) => {
          if (address.protocol !== protocol.name) {
            return Effect.fail(
              new SchemaIssue.InvalidValue(
                { message: `a ref to a ${protocol.name} actor, got a ref to a ${address.protocol} actor` },
                address
              )
            )
          }
          const resolved = (resolved: ActorRef<Protocol.Any> | string) =>
            typeof resolved === "string"
              ? Effect.fail(new SchemaIssue.InvalidValue({ message: resolved }, address))
              : Effect.succeed(resolved as ActorRef<P>)
          const here = () => currentResolver?.(address, protocol) ?? "refs can only be decoded by an actor system"
          // a sharded actor's ref: by the types of the runner the decode runs for (in the fiber's context, on the
          // cluster's wire), else by the system's resolver (which knows the types hosted over it)
          return address.node === "cluster"
            ? Effect.flatMap(Effect.serviceOption(ClusterRefs), (refs) =>
                resolved(Option.isSome(refs) ? refs.value.resolve(address, protocol) : here())
              )
            : resolved(here())
        },
        encode: (ref) => {
          currentRevealer?.(ref)
          return Effect.succeed({ node: ref.node, path: ref.path, protocol: ref.protocol.name })
        }
      })
    )
  ) as unknown as Schema.Codec<ActorRef<P>, typeof Address.Type>
