/**
 * How a runner's bucket hands the messages the cluster brings to its actors: a durable message through the actor's
 * inbox (stored before the cluster marks it processed; a told one kept until the inbox takes it), a volatile one
 * as it is, and one that does not decode refused to its sender.
 */
import { Cause, type Context, type Duration, Effect, Exit, Schedule, Schema } from "effect"
import { type ActorRef, AskTimeout, InvalidMessage, RecipientTerminated, RequestFailed } from "../../ActorRef.ts"
import { type ActorSystemService, internal as systemInternal } from "../../ActorSystem.ts"
import * as Durable from "../../durable/Durable.ts"
import type { Storage } from "../../durable/Storage.ts"
import { MailboxFull } from "../../Mailbox.ts"
import * as Protocol from "../../Protocol.ts"
import { ClusterUnavailable } from "../ClusterUnavailable.ts"
import type { Left } from "./bucket.ts"
import * as Resolver from "./resolver.ts"

/** What the cluster itself can answer instead of the actor (the errors every request may fail with). */
export const ClusterFailure = Schema.Union([
  RequestFailed,
  RecipientTerminated,
  AskTimeout,
  MailboxFull,
  InvalidMessage,
  ClusterUnavailable
])

/** A message of a type as a bucket gets it from the cluster. */
export interface Request {
  readonly requestId: bigint
  readonly payload: { readonly id: string; readonly message: unknown }
}

/**
 * A bucket's handler of each tag of `type`'s protocol: a valid message is delivered (while the bucket is here, see
 * `Left.guard`), one that does not decode is refused to its sender.
 */
export const handlers = <P extends Protocol.Any>(
  type: { readonly name: string; readonly protocol: P; readonly durable: boolean },
  actor: (id: string) => ActorRef<P>,
  left: Left,
  handlerTimeout: Duration.Input,
  context: Context.Context<never>,
  system: ActorSystemService
): Record<string, (request: Request) => Effect.Effect<unknown, unknown>> => {
  const handlers: Record<string, (request: Request) => Effect.Effect<unknown, unknown>> = {}
  for (const tag of type.protocol.tags) {
    const deliver = delivery(type, tag, actor, handlerTimeout, context)
    const valid = Schema.is(type.protocol.messageSchemas[tag]!)
    handlers[tag] = (request) =>
      typeof request.payload.id === "string" && valid(request.payload.message)
        ? left.guard(deliver(request))
        : refuse(type, tag, request.payload, system)
  }
  return handlers
}

/** How a bucket hands a valid message of `tag` to its actor. */
export const delivery = <P extends Protocol.Any>(
  type: { readonly name: string; readonly protocol: P; readonly durable: boolean },
  tag: string,
  actor: (id: string) => ActorRef<P>,
  handlerTimeout: Duration.Input,
  context: Context.Context<never>
): ((request: Request) => Effect.Effect<unknown, unknown>) => {
  const request = Protocol.requestDef(type.protocol, tag) !== undefined
  if (!type.durable)
    return request
      ? ({ payload }) => actor(payload.id).ask(payload.message as never, { timeout: handlerTimeout })
      : ({ payload }) => actor(payload.id).tell(payload.message as Protocol.Message<P>)
  // stored in the actor's durable inbox under the cluster's request id before the cluster marks the message
  // processed: a message redelivered after a crash is not handled twice, none is lost
  const stored = (id: string, effect: Effect.Effect<unknown, unknown, Storage>) =>
    effect.pipe(
      Effect.mapError((error) => storageFailure(Resolver.pathOf(type.name, id), tag, error)),
      Effect.provideContext(context as Context.Context<Storage>)
    )
  return request
    ? ({ payload, requestId }) =>
        stored(
          payload.id,
          Durable.ask(actor(payload.id), payload.message as never, {
            id: `cluster-${requestId}`,
            timeout: handlerTimeout
          })
        )
    : ({ payload, requestId }) =>
        stored(
          payload.id,
          untilStored(
            Resolver.pathOf(type.name, payload.id),
            tag,
            Durable.tell(actor(payload.id), payload.message as Protocol.Message<P>, { id: `cluster-${requestId}` })
          )
        )
}

/**
 * A told message was accepted when the cluster stored it (its sender has moved on): its write into the actor's
 * inbox is tried again until the runner's storage takes it, so that the cluster does not mark it processed
 * with a failure no one reads. Meanwhile it stays stored in the cluster, unanswered: if this runner stops or
 * loses the shard, the shard's next owner delivers it; the inbox keeps it once under its request id.
 */
const untilStored = <E>(
  recipient: string,
  tag: string,
  write: Effect.Effect<void, E, Storage>
): Effect.Effect<void, E, Storage> =>
  write.pipe(
    Effect.tapError((error) =>
      Effect.logWarning("A told message could not be stored in its actor's inbox; trying again").pipe(
        Effect.annotateLogs({ recipient, tag, error: error instanceof Error ? error.message : String(error) })
      )
    ),
    Effect.retry(inboxRetry)
  )

/** How often a told message's inbox write is tried again: from 50 ms, doubling, at most every 5 s, for ever. */
const inboxRetry = Schedule.min([Schedule.exponential("50 millis"), Schedule.spaced("5 seconds")])

/** The runner's storage refused a durable message: the sender learns it as `ClusterUnavailable`. */
const storageFailure = (recipient: string, tag: string, error: unknown): unknown => {
  const storageTag = (error as { readonly _tag?: unknown } | null)?._tag
  return typeof storageTag === "string" && storageTags.has(storageTag)
    ? new ClusterUnavailable({
        recipient,
        tag,
        reason: "PersistenceError",
        retryable: storageTag === "StorageUnavailable",
        detail: `the runner's storage refused it: ${(error as Error).message}`
      })
    : error
}

const storageTags: ReadonlySet<string> = new Set([
  "StorageUnavailable",
  "StorageTooNew",
  "StorageCorrupt",
  "PersistenceConflict",
  "NotDurable"
])

/**
 * A message that does not decode with the protocol's schema (sent through the engine by something other than a
 * Troupe ref): refused with `InvalidMessage` to its sender, logged and published as a dead letter on the
 * runner; the actor and its bucket go on with their other messages.
 */
export const refuse = (
  type: { readonly name: string; readonly protocol: Protocol.Any },
  tag: string,
  payload: unknown,
  system: ActorSystemService
): Effect.Effect<never, InvalidMessage> => {
  const id = (payload as { readonly id?: unknown } | null)?.id
  const recipient = Resolver.pathOf(type.name, typeof id === "string" ? id : "?")
  const decoded = Schema.decodeUnknownExit(RequestPayload(type.protocol, tag))(payload)
  const issue = Exit.isFailure(decoded) ? Cause.squash(decoded.cause) : "it is not a message of the protocol"
  const error = new InvalidMessage({ recipient, tag, issue: issue instanceof Error ? issue.message : String(issue) })
  systemInternal(system).deadLetter(recipient, { _tag: tag }, "invalid")
  return Effect.logWarning("A message from the cluster did not decode").pipe(
    Effect.annotateLogs({ recipient, tag, issue: error.issue }),
    Effect.andThen(Effect.fail(error))
  )
}

/** The payload of a message of `tag` as the bucket gets it (decoded): the actor's id and the message. */
const RequestPayload = (protocol: Protocol.Any, tag: string) =>
  Schema.Struct({ id: Schema.String, message: Schema.toType(protocol.messageSchemas[tag]!) })
