/**
 * Remoting: actors of other nodes, through the transport.
 *
 * - Refs to remote actors (`RemoteActorRef`) encode each message with their protocol's Schema and send it as
 *   an envelope on the reliable link to their node, pinned to the incarnation they were made for.
 * - One dispatcher fiber takes every inbound envelope, decodes it with the recipient's protocol and puts it
 *   in the recipient's mailbox (waiting when that mailbox is full: backpressure reaches the sending node).
 *   A message that does not decode is counted, logged and, for an ask, answered with `InvalidMessage`.
 * - Replies and system messages (death watch, cancellation, lookups, the receptionist's and topics'
 *   replication) go through one outbox fiber per node, so no actor and not the dispatcher ever waits on them.
 * - When a node goes down: asks waiting for it fail with `NodeUnreachable`, watchers of its actors get
 *   `Terminated` with `NodeDown`, and its receptionist and topic entries are removed.
 */
import {
  type NodeId,
  type Peer,
  TransportError,
  type Transport as TransportService,
  type Envelope as WireEnvelope,
  Envelope as WireEnvelopes
} from "@troupe/transport"
import { Cause, Context, Duration, Effect, Exit, Fiber, PubSub, Queue, Schema, type Scope, Tracer } from "effect"
import type { ActorRef, AskOptions } from "../ActorRef.ts"
import * as ActorRefs from "../ActorRef.ts"
import { MailboxFull } from "../Mailbox.ts"
import * as Protocol from "../Protocol.ts"
import * as SystemEvent from "../SystemEvent.ts"
import * as Terminated from "../Terminated.ts"
import { Access } from "./access.ts"
import { type ActorCell, CurrentActor, Envelope, type ReplyTo, type Watcher } from "./cell.ts"
import type { Deadline } from "./deadlines.ts"
import type { Directory } from "./directory.ts"
import { notConnected } from "./links.ts"
import type { SystemImpl } from "./system.ts"

type Json = Schema.Json
type Message = { readonly _tag: string }

/** The path that system requests (lookups) are addressed to. */
const SYSTEM_PATH = "/system"

/** The protocol of a ref whose protocol this node does not know (the sender of an inbound message). */
export const UnknownProtocol = Protocol.make("unknown", {})

// ---------------------------------------------------------------------------------------------------------
// Codecs
// ---------------------------------------------------------------------------------------------------------

interface Codec {
  encode(message: Message): Json
  decode(payload: unknown): Message | string
}

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

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/** Encodes and decodes the messages of a protocol, one schema per tag, made once. */
const codecOf = (protocol: Protocol.Any): Codec => {
  let codec = codecs.get(protocol)
  if (codec !== undefined) return codec
  const encoders = new Map<string, (m: Message) => Json>()
  const decoders = new Map<string, (u: unknown) => Exit.Exit<unknown, Schema.SchemaError>>()
  for (const tag of protocol.tags) {
    const schema = protocol.messageSchemas[tag]!
    const encode = Schema.encodeSync(schema)
    encoders.set(tag, (message) => toJson(encode(message)) as Json)
    decoders.set(tag, Schema.decodeUnknownExit(schema) as (u: unknown) => Exit.Exit<unknown, Schema.SchemaError>)
  }
  codec =
    protocol === UnknownProtocol
      ? { encode: (message) => message as unknown as Json, decode: () => "no protocol to decode with" }
      : {
          encode: (message) => {
            const encode = encoders.get(message._tag)
            if (encode === undefined) throw new Error(`${message._tag} is not a message of ${protocol.name}`)
            return encode(message)
          },
          decode: (payload) => {
            const tag = (payload as { _tag?: unknown } | null)?._tag
            const decode = typeof tag === "string" ? decoders.get(tag) : undefined
            if (decode === undefined) {
              return `${JSON.stringify(tag ?? null)} is not a message of ${protocol.name} (expected one of ${[...protocol.tags].join(", ")})`
            }
            const exit = decode(payload)
            return Exit.isSuccess(exit) ? (exit.value as Message) : describe(Cause.squash(exit.cause))
          }
        }
  codecs.set(protocol, codec)
  return codec
}

const encodeWith = (schema: Schema.Top, value: unknown): Json =>
  toJson(Schema.encodeUnknownSync(schema as Schema.Codec<unknown, unknown, never, never>)(value)) as Json

const decodeWith = (schema: Schema.Top, value: unknown): Exit.Exit<unknown, Schema.SchemaError> =>
  Schema.decodeUnknownExit(schema as Schema.Codec<unknown, unknown, never, never>)(value)

/** The errors an ask can end with that travel back in a reply. */
const RemoteAskError = Schema.Union([
  ActorRefs.RecipientTerminated,
  ActorRefs.RequestFailed,
  ActorRefs.InvalidMessage,
  MailboxFull
])

/** The payload of a reply envelope. */
type ReplyPayload =
  | { readonly _tag: "Success"; readonly value: Json }
  | { readonly _tag: "Failure"; readonly error: Json }
  | { readonly _tag: "Error"; readonly error: Json }

const Reason = Schema.Union([
  Schema.Struct({ _tag: Schema.Literal("Stopped") }),
  Schema.Struct({ _tag: Schema.Literal("Failed"), cause: Schema.String }),
  Schema.Struct({ _tag: Schema.Literal("NodeDown"), node: Schema.String })
])

const Announcement = Schema.Struct({ name: Schema.String, protocol: Schema.String, path: Schema.String })
const DirectoryName = Schema.Literals(["receptionist", "topics"])

/** What nodes tell each other besides actor messages. */
const SystemMessage = Schema.Union([
  Schema.Struct({ type: Schema.Literal("watch"), path: Schema.String }),
  Schema.Struct({ type: Schema.Literal("unwatch"), path: Schema.String }),
  Schema.Struct({ type: Schema.Literal("terminated"), path: Schema.String, reason: Reason }),
  Schema.Struct({ type: Schema.Literal("cancel"), correlationId: Schema.String }),
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
type SystemMessage = typeof SystemMessage.Type
const decodeSystemMessage = Schema.decodeUnknownExit(SystemMessage)

/** A lookup: is there an actor at `path` speaking `protocol`? */
const LookupRequest = Schema.Struct({ _tag: Schema.Literal("Lookup"), path: Schema.String, protocol: Schema.String })
const LookupResult = Schema.Literals(["found", "no-actor", "protocol-mismatch"])

const encodeReason = (reason: Terminated.Reason): typeof Reason.Type =>
  reason._tag === "Failed"
    ? { _tag: "Failed", cause: Cause.pretty(reason.cause) }
    : reason._tag === "NodeDown"
      ? { _tag: "NodeDown", node: reason.node }
      : { _tag: "Stopped" }

const decodeReason = (reason: typeof Reason.Type): Terminated.Reason =>
  reason._tag === "Failed"
    ? new Terminated.Failed({ cause: Cause.die(new Error(reason.cause)) })
    : reason._tag === "NodeDown"
      ? new Terminated.NodeDown({ node: reason.node })
      : Terminated.stopped

const traceparentOf = (fiber: Fiber.Fiber<unknown, unknown>): string | undefined => {
  const span = Context.getOrUndefined(fiber.context, Tracer.ParentSpan)
  return span === undefined ? undefined : `00-${span.traceId}-${span.spanId}-${span.sampled ? "01" : "00"}`
}

const spanOf = (traceparent: string | undefined): Tracer.AnySpan | undefined => {
  if (traceparent === undefined) return undefined
  const [, traceId, spanId, flags] = traceparent.split("-")
  return Tracer.externalSpan({ traceId: traceId!, spanId: spanId!, sampled: flags === "01" })
}

// ---------------------------------------------------------------------------------------------------------
// Refs to remote actors
// ---------------------------------------------------------------------------------------------------------

/** A ref to an actor of another node. */
export class RemoteActorRef<P extends Protocol.Any> implements ActorRef<P> {
  readonly [ActorRefs.TypeId]: typeof ActorRefs.TypeId = ActorRefs.TypeId
  readonly remoting: Remoting
  readonly protocol: P
  readonly peer: Peer.Peer
  readonly path: string
  constructor(remoting: Remoting, peer: Peer.Peer, path: string, protocol: P) {
    this.remoting = remoting
    this.peer = peer
    this.path = path
    this.protocol = protocol
  }
  get node(): string {
    return this.peer.node
  }
  get name(): string {
    return this.path.slice(this.path.lastIndexOf("/") + 1)
  }
  tell(message: Protocol.Message<P>): Effect.Effect<void, MailboxFull> {
    return this.remoting.tell(this, message as Message)
  }
  ask<M extends Protocol.Request<P>>(message: M, options?: AskOptions) {
    return this.remoting.ask(this, message as unknown as Message, options) as never
  }
  toString(): string {
    return `ActorRef(${this.peer.node}${this.path})`
  }
  toJSON(): unknown {
    return { _id: "ActorRef", node: this.peer.node, path: this.path }
  }
}

/** An ask sent to another node, waiting for its reply. */
class Outgoing {
  done = false
  deadline: Deadline | undefined = undefined
  private resume: ((effect: Effect.Effect<unknown, unknown>) => void) | undefined = undefined
  private result: Exit.Exit<unknown, unknown> | undefined = undefined
  readonly remoting: Remoting
  readonly id: string
  readonly peer: Peer.Peer
  readonly decode: (payload: unknown) => Exit.Exit<unknown, unknown>

  constructor(
    remoting: Remoting,
    id: string,
    peer: Peer.Peer,
    decode: (payload: unknown) => Exit.Exit<unknown, unknown>
  ) {
    this.remoting = remoting
    this.id = id
    this.peer = peer
    this.decode = decode
  }

  complete(exit: Exit.Exit<unknown, unknown>): void {
    if (this.done) return
    this.done = true
    this.remoting.forget(this)
    if (this.resume !== undefined) this.resume(exit)
    else this.result = exit
  }

  /** The caller gave up (timeout or interruption): tell the other node to stop the work. */
  abandon(exit: Exit.Exit<unknown, unknown>): void {
    if (this.done) return
    this.complete(exit)
    this.remoting.post(
      this.peer,
      WireEnvelopes.make({
        kind: "system",
        to: { node: this.peer.node, path: SYSTEM_PATH },
        payload: { type: "cancel", correlationId: this.id }
      })
    )
  }

  readonly wait: Effect.Effect<unknown, unknown> = Effect.callback<unknown, unknown>((resume) => {
    if (this.result !== undefined) resume(this.result)
    else this.resume = resume
    return Effect.sync(() => this.abandon(Exit.interrupt()))
  })
}

/** The reply path of a request that came from another node. */
class RemoteReply implements ReplyTo {
  done = false
  private finished = false
  private readonly remoting: Remoting
  private readonly peer: Peer.Peer
  private readonly id: string
  private readonly recipient: string
  private readonly tag: string
  private readonly def: Protocol.RequestDef<Schema.Struct.Fields, Schema.Top, Schema.Top>
  envelope: Envelope | undefined = undefined
  cell: ActorCell | undefined = undefined

  constructor(
    remoting: Remoting,
    peer: Peer.Peer,
    id: string,
    recipient: string,
    tag: string,
    def: Protocol.RequestDef<Schema.Struct.Fields, Schema.Top, Schema.Top>
  ) {
    this.remoting = remoting
    this.peer = peer
    this.id = id
    this.recipient = recipient
    this.tag = tag
    this.def = def
  }

  get key(): string {
    return `${this.peer.node}\u0000${this.id}`
  }

  /** Returns the send of the reply: the actor's fiber runs it (waiting when the link is backpressured). */
  complete(exit: Exit.Exit<unknown, unknown>): Effect.Effect<void> | undefined {
    if (this.finished) return undefined
    this.finished = true
    this.remoting.inbound.delete(this.key)
    if (this.done || (Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause))) return undefined
    return this.remoting.sendReply(this.peer, this.id, this.encode(exit))
  }

  /** The caller is gone: skip the request or interrupt the work on it. */
  cancel(): void {
    if (this.done) return
    this.done = true
    if (this.cell !== undefined && this.envelope !== undefined) this.cell.cancel(this.envelope)
  }

  private encode(exit: Exit.Exit<unknown, unknown>): ReplyPayload {
    return ActorRefs.withRevealer(this.remoting.access.revealer(this.peer.node), () => this.encodeExit(exit))
  }

  private encodeExit(exit: Exit.Exit<unknown, unknown>): ReplyPayload {
    try {
      if (Exit.isSuccess(exit)) {
        const value = encodeWith(this.def.success, exit.value)
        // a void reply has no value: leave the key out (undefined is not JSON)
        return value === undefined ? ({ _tag: "Success" } as ReplyPayload) : { _tag: "Success", value }
      }
      const error = Cause.squash(exit.cause)
      if (this.def.failure !== Schema.Never && Schema.is(this.def.failure as Schema.Top)(error)) {
        return { _tag: "Failure", error: encodeWith(this.def.failure, error) }
      }
      if (Schema.is(RemoteAskError)(error)) return { _tag: "Error", error: encodeWith(RemoteAskError, error) }
      return this.failed(describe(error))
    } catch (defect) {
      return this.failed(`the reply could not be encoded: ${describe(defect)}`)
    }
  }

  private failed(cause: string): ReplyPayload {
    const error = new ActorRefs.RequestFailed({ recipient: this.recipient, tag: this.tag, cause })
    return { _tag: "Error", error: encodeWith(RemoteAskError, error) }
  }
}

interface RemoteWatch {
  readonly ref: RemoteActorRef<Protocol.Any>
  readonly watcher: ActorCell | ((terminated: Terminated.Terminated) => void)
  readonly message: Message | undefined
}

/** Another node watching actors of this one. */
class NodeWatcher implements Watcher {
  readonly cells = new Set<ActorCell>()
  private readonly remoting: Remoting
  private readonly peer: Peer.Peer
  constructor(remoting: Remoting, peer: Peer.Peer) {
    this.remoting = remoting
    this.peer = peer
  }
  notifyTerminated(terminated: Terminated.Terminated): void {
    this.remoting.sendSystem(this.peer, {
      type: "terminated",
      path: terminated.ref.path,
      reason: encodeReason(terminated.reason)
    })
  }
}

// ---------------------------------------------------------------------------------------------------------
// Remoting
// ---------------------------------------------------------------------------------------------------------

export class Remoting {
  readonly system: SystemImpl
  readonly transport: TransportService.Service
  /** Live peers by node id. */
  readonly peers = new Map<string, Peer.Peer>()
  /** Requests from other nodes being handled here, by node and correlation id. */
  readonly inbound = new Map<string, RemoteReply>()
  private readonly outgoing = new Map<string, Outgoing>()
  /** Refs to remote actors, by node, then path and protocol name (one ref per actor, incarnation and protocol). */
  private readonly refs = new Map<
    string,
    { readonly incarnation: string; readonly byPath: Map<string, RemoteActorRef<Protocol.Any>> }
  >()
  private readonly watches = new Map<string, Map<string, Array<RemoteWatch>>>()
  private readonly watchedBy = new Map<ActorCell, Set<RemoteWatch>>()
  private readonly nodeWatchers = new Map<string, NodeWatcher>()
  private readonly outboxes = new Map<
    string,
    { readonly queue: Queue.Queue<WireEnvelope.Envelope>; readonly fiber: Fiber.Fiber<void> }
  >()
  private nextId = 0
  invalidMessages = 0

  /** What peers may do here (see `access.ts`). */
  readonly access: Access

  constructor(system: SystemImpl, transport: TransportService.Service) {
    this.system = system
    this.transport = transport
    this.access = new Access(system, system.settings.remoteAccess)
    const announce =
      (directory: "receptionist" | "topics") => (op: "add" | "remove", entry: typeof Announcement.Type) =>
        this.broadcast({ type: "directory", directory, op, entry })
    system.receptionist.announce = announce("receptionist")
    system.topics.announce = announce("topics")
  }

  /** Starts the dispatcher and the peer-event listener in the current scope. */
  readonly start: Effect.Effect<void, never, Scope.Scope> = Effect.suspend(() => this.run())

  private run() {
    const self = this
    return Effect.gen(function* () {
      const events = yield* self.transport.subscribe
      for (const peer of yield* self.transport.peers) self.peerUp(peer)
      yield* Effect.forkScoped(
        Effect.forever(
          Effect.flatMap(PubSub.take(events), (event) =>
            Effect.sync(() =>
              event._tag === "PeerUp" ? self.peerUp(event) : self.peerDown(event.node, event.incarnation, event.reason)
            )
          )
        )
      )
      yield* Effect.forkScoped(
        Effect.forever(Effect.flatMap(self.transport.receive, (batch) => self.dispatchAll(batch)))
      )
      yield* Effect.addFinalizer(() => self.close)
    })
  }

  // ------------------------------------------------------------------------------------------------------
  // Refs
  // ------------------------------------------------------------------------------------------------------

  /** A ref to an actor of `node` (its current incarnation); undefined when the node is not a live peer. */
  refFor<P extends Protocol.Any>(node: string, path: string, protocol: P, peer?: Peer.Peer): ActorRef<P> | undefined {
    const target = peer ?? this.peers.get(node)
    if (target === undefined) return undefined
    let cache = this.refs.get(node)
    if (cache === undefined || cache.incarnation !== target.incarnation) {
      cache = { incarnation: target.incarnation, byPath: new Map() }
      this.refs.set(node, cache)
    }
    const key = protocol === UnknownProtocol ? path : `${path}\u0000${protocol.name}`
    let ref = cache.byPath.get(key)
    if (ref === undefined || ref.protocol !== protocol) {
      ref = new RemoteActorRef(this, target, path, protocol)
      cache.byPath.set(key, ref)
    }
    return ref as unknown as ActorRef<P>
  }

  /** Refs inside a message decode to local refs (this node) or remote refs (a peer). */
  readonly resolve: ActorRefs.Resolver = (address, protocol) => {
    if (address.node === this.system.node) return this.system.localRef(address.path, protocol)
    return this.refFor(address.node, address.path, protocol) ?? notConnected(address.node)
  }

  private senderAddress(fiber: Fiber.Fiber<unknown, unknown>) {
    const cell = fiber.getRef(CurrentActor)
    return cell === undefined ? undefined : { node: this.system.node as NodeId.NodeId, path: cell.path }
  }

  private traceparent(fiber: Fiber.Fiber<unknown, unknown>): string | undefined {
    return this.system.tracing ? traceparentOf(fiber) : undefined
  }

  // ------------------------------------------------------------------------------------------------------
  // Sending
  // ------------------------------------------------------------------------------------------------------

  tell(ref: RemoteActorRef<Protocol.Any>, message: Message): Effect.Effect<void, MailboxFull> {
    return Effect.withFiber((fiber) => {
      let payload: Json
      try {
        payload = this.encodeFor(ref, message)
      } catch (error) {
        return Effect.die(new Error(`Cannot send ${message._tag} to ${ref}: ${describe(error)}`))
      }
      const from = this.senderAddress(fiber)
      this.access.reveal(ref.peer.node, from?.path)
      const envelope = WireEnvelopes.make({
        kind: "tell",
        to: { node: ref.peer.node, path: ref.path },
        from,
        traceparent: this.traceparent(fiber),
        payload
      })
      return Effect.catch(this.transport.send(ref.peer, envelope), (error) =>
        error._tag === "ResendBufferFull"
          ? Effect.fail(new MailboxFull({ recipient: String(ref), capacity: error.capacity, tag: message._tag }))
          : Effect.sync(() =>
              this.system.deadLetter(String(ref), message, error._tag === "InvalidEnvelope" ? "invalid" : "unreachable")
            )
      )
    })
  }

  ask(
    ref: RemoteActorRef<Protocol.Any>,
    message: Message,
    options: AskOptions | undefined
  ): Effect.Effect<unknown, unknown> {
    return Effect.withFiber((fiber) => {
      const tag = message._tag
      const recipient = String(ref)
      const def = Protocol.requestDef(ref.protocol, tag)
      let payload: Json
      try {
        if (def === undefined) throw new Error(`${tag} is not a request of ${ref.protocol.name}`)
        payload = this.encodeFor(ref, message)
      } catch (error) {
        return Effect.die(new Error(`Cannot ask ${ref}: ${describe(error)}`))
      }
      const timeoutMillis =
        options?.timeout === undefined ? this.system.askTimeoutMillis : Duration.toMillis(options.timeout)
      const outgoing = this.request(ref.peer, (reply) => this.decodeReply(reply, def, recipient, tag))
      const deadlines = this.system.deadlines
      const deadline = deadlines.now() + timeoutMillis
      outgoing.deadline = deadlines.schedule(deadline, () =>
        outgoing.abandon(Exit.fail(new ActorRefs.AskTimeout({ recipient, tag, timeoutMillis })))
      )
      const from = this.senderAddress(fiber)
      this.access.reveal(ref.peer.node, from?.path)
      const envelope = WireEnvelopes.make({
        kind: "ask",
        to: { node: ref.peer.node, path: ref.path },
        from,
        correlationId: outgoing.id,
        deadline,
        traceparent: this.traceparent(fiber),
        payload
      })
      return this.transport.send(ref.peer, envelope).pipe(
        Effect.matchEffect({
          onFailure: (error: TransportError.SendError) => {
            const failure =
              error._tag === "ResendBufferFull"
                ? new MailboxFull({ recipient, capacity: error.capacity, tag })
                : error._tag === "InvalidEnvelope"
                  ? new ActorRefs.InvalidMessage({ recipient, tag, issue: error.message })
                  : error
            outgoing.complete(Exit.fail(failure))
            return Effect.fail(failure)
          },
          onSuccess: () => outgoing.wait
        })
      )
    })
  }

  /** Encodes a message for a remote actor, revealing to its node the refs of this node's actors in it. */
  private encodeFor(ref: RemoteActorRef<Protocol.Any>, message: Message): Json {
    return ActorRefs.withRevealer(this.access.revealer(ref.peer.node), () => codecOf(ref.protocol).encode(message))
  }

  /** Registers a request to a peer; its reply is decoded by `decode`. */
  private request(peer: Peer.Peer, decode: (payload: unknown) => Exit.Exit<unknown, unknown>): Outgoing {
    const outgoing = new Outgoing(this, `${++this.nextId}`, peer, decode)
    this.outgoing.set(outgoing.id, outgoing)
    return outgoing
  }

  forget(outgoing: Outgoing): void {
    this.outgoing.delete(outgoing.id)
    if (outgoing.deadline !== undefined) this.system.deadlines.cancel(outgoing.deadline)
  }

  private decodeReply(
    payload: unknown,
    def: Protocol.RequestDef<Schema.Struct.Fields, Schema.Top, Schema.Top>,
    recipient: string,
    tag: string
  ): Exit.Exit<unknown, unknown> {
    const reply = payload as Partial<ReplyPayload> | null
    const invalid = (issue: string) =>
      Exit.fail(new ActorRefs.InvalidMessage({ recipient, tag: `reply to ${tag}`, issue }))
    return ActorRefs.withResolver(this.resolve, () => {
      switch (reply?._tag) {
        case "Success": {
          const exit = decodeWith(def.success, (reply as { value: unknown }).value)
          return Exit.isSuccess(exit) ? exit : invalid(describe(Cause.squash(exit.cause)))
        }
        case "Failure": {
          const exit = decodeWith(def.failure, (reply as { error: unknown }).error)
          return Exit.isSuccess(exit) ? Exit.fail(exit.value) : invalid(describe(Cause.squash(exit.cause)))
        }
        case "Error": {
          const exit = decodeWith(RemoteAskError, (reply as { error: unknown }).error)
          return Exit.isSuccess(exit) ? Exit.fail(exit.value) : invalid(describe(Cause.squash(exit.cause)))
        }
        default:
          return invalid("not a reply")
      }
    })
  }

  /** Asks `node` whether an actor at `path` speaks `protocol`; resolves to a ref when it does. */
  lookup<P extends Protocol.Any>(
    node: string,
    path: string,
    protocol: P
  ): Effect.Effect<
    ActorRef<P>,
    "no-actor" | "protocol-mismatch" | TransportError.NodeUnreachable | ActorRefs.AskTimeout
  > {
    return Effect.suspend(() => {
      const peer = this.peers.get(node)
      if (peer === undefined) return Effect.fail("no-actor" as const)
      const outgoing = this.request(peer, (payload) => {
        const exit = decodeWith(LookupResult, (payload as { value?: unknown } | null)?.value)
        return Exit.isSuccess(exit) ? exit : Exit.fail("protocol-mismatch")
      })
      const timeoutMillis = this.system.askTimeoutMillis
      outgoing.deadline = this.system.deadlines.schedule(this.system.deadlines.now() + timeoutMillis, () =>
        outgoing.abandon(
          Exit.fail(new ActorRefs.AskTimeout({ recipient: `${node}${SYSTEM_PATH}`, tag: "Lookup", timeoutMillis }))
        )
      )
      const envelope = WireEnvelopes.make({
        kind: "ask",
        to: { node: peer.node, path: SYSTEM_PATH },
        correlationId: outgoing.id,
        payload: { _tag: "Lookup", path, protocol: protocol.name }
      })
      return this.transport.send(peer, envelope).pipe(
        Effect.andThen(outgoing.wait),
        Effect.flatMap((result) =>
          result === "found"
            ? Effect.succeed(this.refFor(node, path, protocol, peer)!)
            : Effect.fail(result as "no-actor" | "protocol-mismatch")
        )
      ) as Effect.Effect<
        ActorRef<P>,
        "no-actor" | "protocol-mismatch" | TransportError.NodeUnreachable | ActorRefs.AskTimeout
      >
    })
  }

  /** Sends an envelope from a context that cannot wait: through the node's outbox fiber. */
  post(peer: Peer.Peer, envelope: WireEnvelope.Envelope): void {
    if (this.peers.get(peer.node)?.incarnation !== peer.incarnation) return
    let outbox = this.outboxes.get(peer.node)
    if (outbox === undefined) {
      const queue = Effect.runSync(Queue.unbounded<WireEnvelope.Envelope>())
      const fiber = Effect.runForkWith(this.system.context)(
        Effect.forever(
          Effect.flatMap(Queue.take(queue), (next) =>
            Effect.catch(this.transport.send(peer, next), (error) =>
              Effect.logDebug("Dropped a system message to an unreachable node", error.message)
            )
          )
        )
      )
      outbox = { queue, fiber }
      this.outboxes.set(peer.node, outbox)
    }
    Queue.offerUnsafe(outbox.queue, envelope)
  }

  sendSystem(peer: Peer.Peer, message: SystemMessage): void {
    this.post(
      peer,
      WireEnvelopes.make({
        kind: "system",
        to: { node: peer.node, path: SYSTEM_PATH },
        payload: message as unknown as Json
      })
    )
  }

  private broadcast(message: SystemMessage): void {
    for (const peer of this.peers.values()) this.sendSystem(peer, message)
  }

  private replyEnvelope(peer: Peer.Peer, correlationId: string, payload: ReplyPayload): WireEnvelope.Envelope {
    return WireEnvelopes.make({
      kind: "reply",
      to: { node: peer.node, path: SYSTEM_PATH },
      correlationId,
      payload: payload as unknown as Json
    })
  }

  /** Sends a reply through the node's outbox (from contexts that cannot wait). */
  reply(peer: Peer.Peer, correlationId: string, payload: ReplyPayload): void {
    this.post(peer, this.replyEnvelope(peer, correlationId, payload))
  }

  /** Sends a reply from the current fiber; a node gone meanwhile has no one to read it. */
  sendReply(peer: Peer.Peer, correlationId: string, payload: ReplyPayload): Effect.Effect<void> {
    return Effect.catch(this.transport.send(peer, this.replyEnvelope(peer, correlationId, payload)), (error) =>
      error._tag === "NodeUnreachable"
        ? Effect.logDebug("A reply was not sent: its node is gone", error.message)
        : Effect.logError("A reply could not be sent", error)
    )
  }

  // ------------------------------------------------------------------------------------------------------
  // Receiving
  // ------------------------------------------------------------------------------------------------------

  private dispatchAll(
    batch: ReadonlyArray<{
      readonly from: string
      readonly incarnation: string
      readonly envelope: WireEnvelope.Envelope
    }>
  ): Effect.Effect<void> {
    for (let i = 0; i < batch.length; i++) {
      const waiting = this.dispatch(batch[i]!)
      if (waiting !== undefined) {
        const rest = batch.slice(i + 1)
        return Effect.andThen(
          waiting,
          Effect.suspend(() => this.dispatchAll(rest))
        )
      }
    }
    return Effect.void
  }

  /** Handles one inbound envelope; returns an effect only when its recipient's mailbox is full. */
  private dispatch(delivery: {
    readonly from: string
    readonly incarnation: string
    readonly envelope: WireEnvelope.Envelope
  }): Effect.Effect<void> | undefined {
    const peer = this.peers.get(delivery.from)
    if (peer === undefined || peer.incarnation !== delivery.incarnation) return undefined
    const envelope = delivery.envelope
    try {
      switch (envelope.kind) {
        case "tell":
        case "ask":
          return this.deliver(peer, envelope)
        case "reply":
          this.receiveReply(peer, envelope)
          return undefined
        case "system":
          this.receiveSystem(peer, envelope.payload)
          return undefined
      }
    } catch (defect) {
      this.system.logDefect(`${delivery.from}${envelope.to.path}`, Cause.die(defect))
      return undefined
    }
  }

  private invalid(
    peer: Peer.Peer,
    recipient: string,
    tag: string,
    issue: string,
    correlationId: string | undefined
  ): void {
    this.invalidMessages++
    this.system.runBackground(
      Effect.logWarning("A message from another node did not decode").pipe(
        Effect.annotateLogs({ from: peer.node, recipient, tag, issue })
      )
    )
    if (correlationId !== undefined) {
      this.reply(peer, correlationId, {
        _tag: "Error",
        error: encodeWith(RemoteAskError, new ActorRefs.InvalidMessage({ recipient, tag, issue }))
      })
    } else {
      this.system.deadLetter(recipient, { _tag: tag }, "invalid")
    }
  }

  private deliver(peer: Peer.Peer, envelope: WireEnvelope.Envelope): Effect.Effect<void> | undefined {
    const path = envelope.to.path
    const correlationId = envelope.kind === "ask" ? envelope.correlationId : undefined
    if (envelope.kind === "ask" && correlationId === undefined) return undefined
    if (path === SYSTEM_PATH && correlationId !== undefined) {
      this.answerSystemRequest(peer, correlationId, envelope.payload)
      return undefined
    }
    // an actor this peer may not reach is answered as if it were not there
    const cell = this.access.mayReach(peer.node, path, envelope.kind) ? this.system.registry.get(path) : undefined
    const tag = String((envelope.payload as { _tag?: unknown } | null)?._tag ?? "?")
    if (cell === undefined || cell.isTerminated) {
      if (correlationId !== undefined) {
        this.reply(peer, correlationId, {
          _tag: "Error",
          error: encodeWith(RemoteAskError, new ActorRefs.RecipientTerminated({ recipient: path, tag }))
        })
      }
      this.system.deadLetter(path, { _tag: tag }, "terminated")
      return undefined
    }
    const decoded = ActorRefs.withResolver(this.resolve, () => codecOf(cell.protocol).decode(envelope.payload))
    if (typeof decoded === "string") {
      this.invalid(peer, path, tag, decoded, correlationId)
      return undefined
    }
    const sender =
      envelope.from === undefined
        ? undefined
        : this.refFor(envelope.from.node, envelope.from.path, UnknownProtocol, peer)
    let reply: RemoteReply | undefined
    if (correlationId !== undefined) {
      const def = Protocol.requestDef(cell.protocol, decoded._tag)
      if (def === undefined) {
        this.invalid(
          peer,
          path,
          decoded._tag,
          `${decoded._tag} is not a request of ${cell.protocol.name}`,
          correlationId
        )
        return undefined
      }
      reply = new RemoteReply(this, peer, correlationId, path, decoded._tag, def)
    }
    const local = new Envelope(decoded, sender, reply)
    local.span = spanOf(envelope.traceparent)
    if (reply !== undefined) {
      reply.envelope = local
      reply.cell = cell
      this.inbound.set(reply.key, reply)
    }
    return cell.deliver(local)
  }

  private receiveReply(peer: Peer.Peer, envelope: WireEnvelope.Envelope): void {
    const outgoing = envelope.correlationId === undefined ? undefined : this.outgoing.get(envelope.correlationId)
    if (outgoing === undefined || outgoing.peer.node !== peer.node) return
    outgoing.complete(outgoing.decode(envelope.payload))
  }

  private answerSystemRequest(peer: Peer.Peer, correlationId: string, payload: unknown): void {
    const exit = Schema.decodeUnknownExit(LookupRequest)(payload)
    if (Exit.isFailure(exit)) {
      this.invalid(peer, SYSTEM_PATH, "Lookup", describe(Cause.squash(exit.cause)), correlationId)
      return
    }
    const path = exit.value.path
    const cell = this.access.mayReach(peer.node, path, "lookup") ? this.system.registry.get(path) : undefined
    const result: typeof LookupResult.Type =
      cell === undefined || cell.isTerminated
        ? "no-actor"
        : cell.protocol.name === exit.value.protocol
          ? "found"
          : "protocol-mismatch"
    this.reply(peer, correlationId, { _tag: "Success", value: result })
  }

  private receiveSystem(peer: Peer.Peer, payload: unknown): void {
    const exit = decodeSystemMessage(payload)
    if (Exit.isFailure(exit)) {
      this.invalid(peer, SYSTEM_PATH, "system", describe(Cause.squash(exit.cause)), undefined)
      return
    }
    const message = exit.value
    switch (message.type) {
      case "watch": {
        const reachable = this.access.mayReach(peer.node, message.path, "watch")
        const cell = reachable ? this.system.registry.get(message.path) : undefined
        if (cell === undefined || cell.isTerminated) {
          this.sendSystem(peer, { type: "terminated", path: message.path, reason: { _tag: "Stopped" } })
          return
        }
        const watcher = this.nodeWatcher(peer)
        watcher.cells.add(cell)
        cell.addWatcher(watcher, undefined)
        return
      }
      case "unwatch": {
        const cell = this.system.registry.get(message.path)
        const watcher = this.nodeWatchers.get(peer.node)
        if (cell !== undefined && watcher !== undefined) {
          cell.removeWatcher(watcher)
          watcher.cells.delete(cell)
        }
        return
      }
      case "terminated":
        this.remoteTerminated(peer.node, message.path, decodeReason(message.reason))
        return
      case "cancel":
        this.inbound.get(`${peer.node}\u0000${message.correlationId}`)?.cancel()
        return
      case "directory":
        if (message.op === "remove") this.directory(message.directory).removeRemote(peer.node, message.entry)
        else if (this.access.mayList(peer.node, message.directory, message.entry.name)) {
          this.directory(message.directory).addRemote(peer.node, message.entry)
        }
        return
      case "directory-sync": {
        const directory = this.directory(message.directory)
        directory.removeNode(peer.node)
        for (const entry of message.entries) {
          if (this.access.mayList(peer.node, message.directory, entry.name)) directory.addRemote(peer.node, entry)
        }
        return
      }
    }
  }

  private directory(name: "receptionist" | "topics"): Directory {
    return name === "receptionist" ? this.system.receptionist : this.system.topics
  }

  private nodeWatcher(peer: Peer.Peer): NodeWatcher {
    let watcher = this.nodeWatchers.get(peer.node)
    if (watcher === undefined) {
      watcher = new NodeWatcher(this, peer)
      this.nodeWatchers.set(peer.node, watcher)
    }
    return watcher
  }

  // ------------------------------------------------------------------------------------------------------
  // Death watch of remote actors
  // ------------------------------------------------------------------------------------------------------

  watch(watcher: RemoteWatch["watcher"], ref: RemoteActorRef<Protocol.Any>, message: Message | undefined): () => void {
    if (this.peers.get(ref.node)?.incarnation !== ref.peer.incarnation) {
      deliverTerminated({ ref, watcher, message }, new Terminated.NodeDown({ node: ref.node }))
      return () => {}
    }
    let byPath = this.watches.get(ref.node)
    if (byPath === undefined) {
      byPath = new Map()
      this.watches.set(ref.node, byPath)
    }
    let entries = byPath.get(ref.path)
    if (entries === undefined) {
      entries = []
      byPath.set(ref.path, entries)
      this.sendSystem(ref.peer, { type: "watch", path: ref.path })
    }
    const entry: RemoteWatch = { ref, watcher, message }
    entries.push(entry)
    if (typeof watcher !== "function") {
      let set = this.watchedBy.get(watcher)
      if (set === undefined) {
        set = new Set()
        this.watchedBy.set(watcher, set)
      }
      set.add(entry)
    }
    return () => this.unwatchEntry(entry)
  }

  unwatch(watcher: ActorCell, ref: RemoteActorRef<Protocol.Any>): void {
    for (const entry of this.watches.get(ref.node)?.get(ref.path) ?? []) {
      if (entry.watcher === watcher) this.unwatchEntry(entry)
    }
  }

  private unwatchEntry(entry: RemoteWatch): void {
    const byPath = this.watches.get(entry.ref.node)
    const entries = byPath?.get(entry.ref.path)
    if (entries === undefined) return
    const i = entries.indexOf(entry)
    if (i < 0) return
    entries.splice(i, 1)
    if (typeof entry.watcher !== "function") this.watchedBy.get(entry.watcher)?.delete(entry)
    if (entries.length === 0) {
      byPath!.delete(entry.ref.path)
      this.sendSystem(entry.ref.peer, { type: "unwatch", path: entry.ref.path })
    }
  }

  /** A local actor terminated: it no longer watches anything on other nodes. */
  watcherTerminated(cell: ActorCell): void {
    const entries = this.watchedBy.get(cell)
    if (entries === undefined) return
    this.watchedBy.delete(cell)
    for (const entry of entries) this.unwatchEntry(entry)
  }

  private remoteTerminated(node: string, path: string, reason: Terminated.Reason): void {
    const byPath = this.watches.get(node)
    const entries = byPath?.get(path)
    if (entries === undefined) return
    byPath!.delete(path)
    for (const entry of entries) {
      if (typeof entry.watcher !== "function") this.watchedBy.get(entry.watcher)?.delete(entry)
      deliverTerminated(entry, reason)
    }
  }

  // ------------------------------------------------------------------------------------------------------
  // Peers
  // ------------------------------------------------------------------------------------------------------

  private peerUp(peer: Peer.Peer): void {
    const known = this.peers.get(peer.node)
    if (known?.incarnation === peer.incarnation) return
    if (known !== undefined) this.peerDown(known.node, known.incarnation, "restarted")
    this.peers.set(peer.node, peer)
    this.system.publish(new SystemEvent.NodeUp({ node: peer.node, incarnation: peer.incarnation }))
    for (const directory of ["receptionist", "topics"] as const) {
      this.sendSystem(peer, {
        type: "directory-sync",
        directory,
        entries: this.directory(directory).localAnnouncements()
      })
    }
  }

  private peerDown(node: string, incarnation: string, reason: string): void {
    const peer = this.peers.get(node)
    if (peer === undefined || peer.incarnation !== incarnation) return
    this.peers.delete(node)
    const outbox = this.outboxes.get(node)
    if (outbox !== undefined) {
      this.outboxes.delete(node)
      outbox.fiber.interruptUnsafe()
    }
    for (const outgoing of [...this.outgoing.values()]) {
      if (outgoing.peer.node === node) {
        outgoing.complete(Exit.fail(nodeUnreachable(node, `node ${node} went down (${reason}) before replying`)))
      }
    }
    for (const reply of [...this.inbound.values()]) {
      if (reply.key.startsWith(`${node}\u0000`)) reply.cancel()
    }
    const byPath = this.watches.get(node)
    if (byPath !== undefined) {
      this.watches.delete(node)
      const down = new Terminated.NodeDown({ node })
      for (const entries of byPath.values()) {
        for (const entry of entries) {
          if (typeof entry.watcher !== "function") this.watchedBy.get(entry.watcher)?.delete(entry)
          deliverTerminated(entry, down)
        }
      }
    }
    const watcher = this.nodeWatchers.get(node)
    if (watcher !== undefined) {
      this.nodeWatchers.delete(node)
      for (const cell of watcher.cells) cell.removeWatcher(watcher)
    }
    this.system.receptionist.removeNode(node)
    this.system.topics.removeNode(node)
    this.refs.delete(node)
    this.system.publish(new SystemEvent.NodeDown({ node, incarnation, reason }))
  }

  /** Gives the outboxes a moment to flush (the last death-watch notifications), then stops them. */
  private readonly close: Effect.Effect<void> = Effect.suspend(() => {
    const outboxes = [...this.outboxes.values()]
    this.outboxes.clear()
    return Effect.forEach(
      outboxes,
      ({ queue, fiber }) =>
        Effect.andThen(
          Effect.timeoutOption(Effect.repeat(Queue.size(queue), { until: (size) => size === 0 }), "1 second"),
          Fiber.interrupt(fiber)
        ),
      { discard: true }
    )
  })
}

const nodeUnreachable = (node: string, detail: string): TransportError.NodeUnreachable =>
  new TransportError.NodeUnreachable({ node, reason: "down", detail })

const deliverTerminated = (entry: RemoteWatch, reason: Terminated.Reason): void => {
  const terminated = new Terminated.Terminated({ ref: entry.ref, reason })
  if (typeof entry.watcher === "function") entry.watcher(terminated)
  else entry.watcher.notifyTerminated(terminated, entry.message)
}
