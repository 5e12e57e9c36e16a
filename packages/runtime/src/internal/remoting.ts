/**
 * Remoting: actors of other nodes, through the transport. This module ties the parts together and keeps the
 * live peers; each concern has its own module under `remote/`:
 * - `remoteRef.ts`: refs to remote actors (one per actor, incarnation and protocol, in a bounded cache);
 * - `asks.ts`: asks and lookups waiting for replies, each under its own deadline;
 * - `replies.ts`: requests from other nodes being handled here;
 * - `dispatch.ts`: every inbound envelope, dispatched at once (the dispatcher never waits);
 * - `flow.ts`: per-recipient flow control (a full mailbox slows only the senders to that actor);
 * - `watch.ts`: death watch across nodes;
 * - `membership.ts`: the live peers, and what a node going down ends;
 * - `codec.ts`: what goes on the wire.
 * Tells go on the link's user lane (waiting for room when its window is full); replies and system messages
 * go on its urgent lane, which never waits and never drops while both nodes live. When a node goes down:
 * asks waiting for it fail with `NodeUnreachable`, watchers of its actors get `Terminated` with `NodeDown`,
 * and its receptionist and topic entries are removed.
 */
import {
  type NodeId,
  type Peer,
  TransportError,
  type Transport as TransportService,
  type Envelope as WireEnvelope,
  Envelope as WireEnvelopes
} from "@troupe/transport"
import { Effect, type Fiber, type Scope } from "effect"
import type { ActorRef, TellError } from "../ActorRef.ts"
import * as ActorRefs from "../ActorRef.ts"
import { MailboxFull } from "../Mailbox.ts"
import type * as Protocol from "../Protocol.ts"
import { Access } from "./access.ts"
import { type ActorCell, CurrentActor } from "./cell.ts"
import * as ClusterRefs from "./clusterRefs.ts"
import { notConnected } from "./links.ts"
import { PeerLogWindow } from "./peerLogWindow.ts"
import { Asks } from "./remote/asks.ts"
import {
  type Announcement,
  describe,
  type Json,
  type Message,
  type ReplyPayload,
  SYSTEM_PATH,
  type SystemMessage,
  traceparentOf
} from "./remote/codec.ts"
import { Dispatcher } from "./remote/dispatch.ts"
import { FlowControl } from "./remote/flow.ts"
import { type LivePeer, Membership } from "./remote/membership.ts"
import { RefCache, type RemoteActorRef } from "./remote/remoteRef.ts"
import { Replies } from "./remote/replies.ts"
import * as TellEffect from "./remote/tellEffect.ts"
import { type RemoteWatch, RemoteWatches } from "./remote/watch.ts"
import { addressUnit } from "./shares.ts"
import type { SystemImpl } from "./system.ts"

export { toJson, UnknownProtocol } from "./remote/codec.ts"
export { RemoteActorRef } from "./remote/remoteRef.ts"

/** A remote tell's step (one function for all tells: no closure per tell). */
const tellNow = (fiber: Fiber.Fiber<unknown, unknown>, ref: RemoteActorRef<Protocol.Any>, message: Message) =>
  ref.remoting.tellNow(fiber, ref, message)

export class Remoting {
  readonly system: SystemImpl
  readonly transport: TransportService.Service
  /** The live peers, as the transport links and downs them (see `remote/membership.ts`). */
  readonly membership: Membership
  /** Live peers by node id (each with the address its link came up on, if the transport has addresses). */
  readonly peers: Map<string, LivePeer>
  /** What peers may do here (see `access.ts`). */
  readonly access: Access
  readonly refs: RefCache
  readonly asks: Asks
  readonly replies: Replies
  readonly watches: RemoteWatches
  readonly flow: FlowControl
  private readonly dispatcher: Dispatcher
  /** Errors about replies and system messages the wire refused: at most one a second per peer. */
  private readonly refusedLog = new PeerLogWindow()

  constructor(system: SystemImpl, transport: TransportService.Service) {
    this.system = system
    this.transport = transport
    this.membership = new Membership(this)
    this.peers = this.membership.peers
    this.access = new Access(system, system.settings.remoteAccess)
    this.refs = new RefCache(this)
    this.asks = new Asks(this)
    this.replies = new Replies(this)
    this.watches = new RemoteWatches(this)
    this.flow = new FlowControl(
      (peer, message) => this.sendSystem(peer, message),
      (node) => addressUnit(node, this.peers.get(node)?.remoteAddress)
    )
    this.dispatcher = new Dispatcher(this)
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
      // every envelope is dispatched in the connection's callback as it arrives (no fiber wakes for it), and peer
      // events come in the same order: a peer is known before its first envelope
      yield* self.transport.receiveWith({
        deliver: self.dispatcher.dispatch,
        peer: (event) =>
          event._tag === "PeerUp"
            ? self.membership.up(event)
            : self.membership.down(event.node, event.incarnation, event.reason, event.message),
        lost: (peer, envelopes) => self.lost(peer, envelopes)
      })
    })
  }

  /**
   * A link ended with envelopes its peer had not acknowledged: each tell and ask among them is a dead letter
   * (`unreachable`), counted here, on the sender, with the message it carried (the peer may have taken some; its
   * ack did not come back). Replies and system messages to a node that is down are moot.
   */
  private lost(peer: Peer.Peer, envelopes: ReadonlyArray<WireEnvelope.Envelope>): void {
    for (const { kind, to, payload } of envelopes) {
      if (kind !== "tell" && kind !== "ask") continue
      const message = this.refs.messageOf(peer, to.path, payload)
      this.system.deadLetter(`ActorRef(${to.node}${to.path})`, message, "unreachable")
    }
  }

  /** Messages from other nodes that did not decode. */
  get invalidMessages(): number {
    return this.dispatcher.invalidMessages
  }

  /** Requests from other nodes not answered yet (a leak check). */
  get pendingInbound(): number {
    return this.replies.size
  }

  /** Actors here that other nodes watch (a leak check). */
  get watchedHere(): number {
    return this.watches.size.watched
  }

  /** Watches of actors on other nodes held here (a leak check). */
  get watching(): number {
    return this.watches.size.watching
  }

  // ------------------------------------------------------------------------------------------------------
  // Refs
  // ------------------------------------------------------------------------------------------------------

  /** A ref to an actor of `node` (its current incarnation); undefined when the node is not a live peer. */
  refFor<P extends Protocol.Any>(node: string, path: string, protocol: P): ActorRef<P> | undefined {
    const peer = this.peers.get(node)
    return peer === undefined ? undefined : (this.refs.get(peer, path, protocol) as unknown as ActorRef<P>)
  }

  /** Refs inside a message decode to local refs (this node) or remote refs (a peer). */
  readonly resolve: ActorRefs.Resolver = (address, protocol) => {
    if (address.node === this.system.node) return this.system.localRef(address.path, protocol)
    if (address.node === "cluster") return ClusterRefs.ofSystem(this.system).resolve(address, protocol)
    return this.refFor(address.node, address.path, protocol) ?? notConnected(address.node)
  }

  senderAddress(fiber: Fiber.Fiber<unknown, unknown>) {
    const cell = fiber.getRef(CurrentActor)
    return cell === undefined ? undefined : { node: this.system.node as NodeId.NodeId, path: cell.path }
  }

  traceparent(fiber: Fiber.Fiber<unknown, unknown>): string | undefined {
    return this.system.tracing ? traceparentOf(fiber) : undefined
  }

  /** Encodes a message for a remote actor, revealing to its node the refs of this node's actors in it. */
  encodeFor(ref: RemoteActorRef<Protocol.Any>, message: Message): Json {
    const codec = ref.codec
    return this.access.tracksReveals
      ? ActorRefs.withRevealer(this.access.revealer(ref.peer.node), () => codec.encode(message))
      : codec.encode(message)
  }

  // ------------------------------------------------------------------------------------------------------
  // Sending
  // ------------------------------------------------------------------------------------------------------

  /**
   * Tells a remote actor. Waits while its recipient asks for a pause (its mailbox is full) or the link's
   * window is full; fails with `InvalidMessage` when the message cannot cross the wire (it does not encode,
   * is not JSON, or exceeds the frame limit) and with `MailboxFull` under the fail policy. A tell to a node
   * that is gone becomes a dead letter.
   */
  tell(ref: RemoteActorRef<Protocol.Any>, message: Message): Effect.Effect<void, TellError> {
    return TellEffect.tell(ref, message, tellNow)
  }

  /** Runs a tell in `fiber`: undefined once the envelope is on the link, else the effect that finishes it. */
  tellNow(
    fiber: Fiber.Fiber<unknown, unknown>,
    ref: RemoteActorRef<Protocol.Any>,
    message: Message
  ): Effect.Effect<void, TellError> | undefined {
    // a plain struct is its own payload, and its JSON is written straight into the link's bytes
    const write = ref.codec.writer(message)
    let payload: Json
    if (write !== undefined) payload = message as unknown as Json
    else {
      try {
        payload = this.encodeFor(ref, message)
      } catch (error) {
        return Effect.fail(
          new ActorRefs.InvalidMessage({ recipient: String(ref), tag: message._tag, issue: describe(error) })
        )
      }
    }
    const from = fiber.getRef(CurrentActor)?.path
    this.access.reveal(ref.peer.node, from)
    const traceparent = this.traceparent(fiber)
    const template = traceparent === undefined ? ref.tellTemplate(this.system.node as NodeId.NodeId, from) : undefined
    const envelope =
      template !== undefined
        ? WireEnvelopes.fill(template, payload)
        : WireEnvelopes.make({
            kind: "tell",
            to: { node: ref.peer.node, path: ref.path },
            from: from === undefined ? undefined : { node: this.system.node as NodeId.NodeId, path: from },
            traceparent,
            payload
          })
    // the payload's writer goes with a templated envelope only (the transport encodes any other whole)
    const writer = template === undefined ? undefined : write
    return this.flow.isPaused(ref.peer.node, ref.path)
      ? Effect.andThen(
          this.flow.open(ref.peer.node, ref.path),
          Effect.suspend(() => this.offerTell(ref, envelope, message, writer) ?? Effect.void)
        )
      : this.offerTell(ref, envelope, message, writer)
  }

  /**
   * Puts a tell on the link: undefined once done (the window had room: the usual case, no Effect built), else
   * a wait for room; a refusal becomes the tell's error (or a dead letter when the node is gone).
   */
  private offerTell(
    ref: RemoteActorRef<Protocol.Any>,
    envelope: WireEnvelope.Envelope,
    message: Message,
    write: WireEnvelope.PayloadWriter | undefined
  ): Effect.Effect<void, TellError> | undefined {
    // no callback made unless the tell must wait (the usual tell allocates nothing here)
    const result = this.transport.offer(ref.peer, envelope, undefined, write)
    if (result === undefined) return undefined
    if (typeof result !== "function") return this.tellRefused(ref, message, result)
    return Effect.callback<void, TellError>((resume) => {
      result.onDone((error) => resume(error === undefined ? Effect.void : this.tellRefused(ref, message, error)))
      return Effect.sync(result)
    })
  }

  private tellRefused(
    ref: RemoteActorRef<Protocol.Any>,
    message: Message,
    error: TransportError.SendError
  ): Effect.Effect<void, TellError> {
    const recipient = String(ref)
    return error._tag === "ResendBufferFull"
      ? Effect.fail(new MailboxFull({ recipient, capacity: error.capacity, tag: message._tag }))
      : error._tag === "InvalidEnvelope"
        ? Effect.fail(new ActorRefs.InvalidMessage({ recipient, tag: message._tag, issue: error.message }))
        : Effect.sync(() => this.system.deadLetter(recipient, message, "unreachable"))
  }

  /** Sends a reply or system envelope on the urgent lane; returns why the wire refused it, if it did. */
  private post(peer: Peer.Peer, envelope: WireEnvelope.Envelope): string | undefined {
    const refused = this.transport.offer(peer, envelope, noop)
    if (refused === undefined || typeof refused === "function" || refused._tag === "NodeUnreachable") return
    const earlier = this.refusedLog.admit(peer.node, Date.now())
    if (earlier !== undefined) {
      const fields = { to: peer.node, kind: envelope.kind, issue: refused.message }
      this.system.runBackground(
        Effect.logError("A message to another node could not be sent").pipe(
          Effect.annotateLogs(earlier === 0 ? fields : { ...fields, earlier })
        )
      )
    }
    return refused.message
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

  /** Sends a reply; returns why the wire refused it, if it did. */
  reply(peer: Peer.Peer, correlationId: string, payload: ReplyPayload): string | undefined {
    return this.post(
      peer,
      WireEnvelopes.fillRequest(this.replies.template(peer.node), payload as unknown as Json, correlationId, undefined)
    )
  }

  /** Asks `node` whether an actor at `path` speaks `protocol`; resolves to a ref when it does. */
  lookup<P extends Protocol.Any>(node: string, path: string, protocol: P) {
    const peer = this.peers.get(node)
    if (peer === undefined) {
      return Effect.fail(
        new TransportError.NodeUnreachable({ node, reason: "unknown", detail: `no live link to node ${node}` })
      )
    }
    return this.asks.lookup(peer, path, protocol)
  }

  // ------------------------------------------------------------------------------------------------------
  // Death watch of remote actors (see `remote/watch.ts`)
  // ------------------------------------------------------------------------------------------------------

  watch(watcher: RemoteWatch["watcher"], ref: RemoteActorRef<Protocol.Any>, message: Message | undefined): () => void {
    return this.watches.watch(watcher, ref, message)
  }

  unwatch(watcher: ActorCell, ref: RemoteActorRef<Protocol.Any>): void {
    this.watches.unwatch(watcher, ref)
  }

  watcherTerminated(cell: ActorCell): void {
    this.watches.watcherTerminated(cell)
  }

  /**
   * Calls `listener` with each node declared down from now on (see `Membership.onNodeDown`); answers how to stop.
   */
  onNodeDown(listener: (node: string) => void): () => void {
    return this.membership.onNodeDown(listener)
  }
}

const noop = (): void => {}
