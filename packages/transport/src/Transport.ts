/**
 * The `Transport` service: moves envelopes between nodes over reliable, ordered links. One API,
 * two implementations: `InProcess` (many nodes in one process, with fault injection) and
 * `WebSocket` (nodes in different processes or machines).
 *
 * Delivery: per pair of live nodes, every envelope a `send` accepted is handed to the receiving
 * consumer exactly once and in send order, across dropped connections and reconnects. What a node
 * had not acknowledged when its peer was declared down is lost; `PeerDown` says so.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ActorAddress, Envelope, Transport, WebSocket } from "@troupe/transport"
 *
 * const program = Effect.gen(function*() {
 *   const transport = yield* Transport.Transport
 *   const peer = yield* transport.connect("ws://127.0.0.1:7001")
 *   yield* transport.send(peer.node, Envelope.make({ kind: "tell", to: ActorAddress.make(peer.node, "/echo"), payload: "hi" }))
 * }).pipe(Effect.provide(WebSocket.layer({ node: "a", listen: { port: 7000 } })))
 * ```
 * @since 0.1.0
 */
import type { Duration, Effect, Option, PubSub, Redacted, Scope, Stream } from "effect"
import { Context } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import type { Envelope, PayloadWriter } from "./Envelope.ts"
import type * as FailureDetector from "./FailureDetector.ts"
import type { Incarnation, NodeId } from "./NodeId.ts"
import type { Peer, PeerEvent } from "./Peer.ts"
import type { NodeUnreachable, SendError } from "./TransportError.ts"

/**
 * One envelope received from a peer: the sending node and incarnation, and the envelope (whose
 * `seq` is set).
 *
 * @since 0.1.0
 */
export interface Delivery {
  readonly from: NodeId
  readonly incarnation: Incarnation
  readonly envelope: Envelope
}

/**
 * The state of the link to one peer.
 *
 * - `connected`: a connection carries the link right now (otherwise it is reconnecting).
 * - `unacknowledged`: envelopes sent and not yet acknowledged (the resend buffer's fill).
 * - `waiting`: senders suspended because the resend buffer is full.
 * - `received`: the last sequence number received from the peer.
 *
 * @since 0.1.0
 */
export interface LinkStats {
  readonly node: NodeId
  readonly incarnation: Incarnation
  readonly connected: boolean
  readonly unacknowledged: number
  readonly waiting: number
  readonly received: number
}

/**
 * Counters since the transport started (the same figures are exported as Effect metrics, see
 * `TransportMetrics`), and the state of each live link.
 *
 * @since 0.1.0
 */
export interface Stats {
  readonly framesIn: number
  readonly framesOut: number
  readonly bytesIn: number
  readonly bytesOut: number
  readonly envelopesIn: number
  readonly envelopesOut: number
  /** Envelopes written again after a reconnect. */
  readonly resent: number
  /** Envelopes received again after a reconnect and dropped. */
  readonly duplicates: number
  /** Frames and envelopes rejected by the schemas (each answered with an `error` frame). */
  readonly badFrames: number
  /** Handshakes refused (wrong token, protocol mismatch, quarantined incarnation, ...). */
  readonly refused: number
  readonly linksUp: number
  readonly links: ReadonlyArray<LinkStats>
}

/**
 * A send waiting for room in a link's window (see {@link Service.offer}): calling it withdraws the send;
 * `onDone` sets what hears once it is in the resend buffer or failed (at once if that already happened).
 *
 * @example
 * ```ts
 * const result = transport.offer(peer, envelope)
 * if (typeof result === "function") result.onDone((error) => console.log(error ?? "sent"))
 * ```
 * @since 0.1.0
 */
export interface Waiting {
  (): void
  readonly onDone: (done: (error: SendError | undefined) => void) => void
}

/**
 * The transport's operations.
 *
 * @since 0.1.0
 */
export interface Service {
  /** This node's id. */
  readonly node: NodeId
  /** This run of the node, drawn when the transport started. */
  readonly incarnation: Incarnation
  /** Where other nodes reach this one: a `ws://` / `wss://` URL, or the node id in process. */
  readonly address: Option.Option<string>
  /**
   * Joins a peer: a URL for the WebSocket transport, a node id in process. Waits until the link is
   * up and returns the peer; call it again at any time (it is idempotent). From the first call on,
   * the transport keeps that target connected, reconnecting with exponential backoff and jitter,
   * until it shuts down. Fails only if the target is this node itself, cannot be dialed (a
   * malformed URL) or the transport has stopped; bound the wait with `Effect.timeout`.
   */
  readonly connect: (target: string) => Effect.Effect<Peer, NodeUnreachable>
  /**
   * Enqueues an envelope on the reliable link to a node (pass a `Peer` to pin it to that
   * incarnation). Succeeds once the envelope is in the resend buffer; it is then delivered exactly
   * once, in order, while both nodes live. When the buffer is full it waits (policy `"suspend"`) or
   * fails with `ResendBufferFull` (policy `"fail"`). Fails at once with `NodeUnreachable` when the
   * node is unknown, down, or not the pinned incarnation.
   */
  readonly send: (to: NodeId | Peer, envelope: Envelope) => Effect.Effect<void, SendError>
  /**
   * {@link Service.send} without an Effect, for callers that cannot wait (a runtime's replies and system
   * messages) or wait on their own terms (an ask with a deadline). Returns `undefined` once the envelope is
   * in the resend buffer, or the `SendError`. Replies and system envelopes (kinds `reply`, `system`) go on an
   * urgent lane: never refused for a full buffer, never behind waiting user sends. A user envelope that finds
   * the window full (policy `"suspend"`) returns a {@link Waiting} send: a function that withdraws it; `done`
   * (or the one given to its `onDone` later, for a caller that makes none unless it must wait) is called once it
   * is in the buffer, or with the error that ended the wait. A caller that made an envelope with `Envelope.fill`
   * and already has its payload's JSON (`JSON.stringify(payload)`'s text, keys in any order) passes it as
   * `json`, with its UTF-8 `bytes` when it knows them: that text is sent as it is (the caller vouches for it).
   * One that can write that text itself passes its {@link Envelope.PayloadWriter} as `json` instead: the payload is
   * then written straight into the resend buffer, without a string (the caller vouches for what it writes).
   */
  readonly offer: (
    to: NodeId | Peer,
    envelope: Envelope,
    done?: (error: SendError | undefined) => void,
    json?: string | PayloadWriter,
    bytes?: number
  ) => SendError | undefined | Waiting
  /**
   * Takes every envelope received so far, in order (per sender), waiting until there is at least
   * one. Meant for exactly one consumer: taking an envelope is what acknowledges it to its sender,
   * so a consumer that stops taking eventually backpressures the senders.
   */
  readonly receive: Effect.Effect<NonEmptyReadonlyArray<Delivery>>
  /** {@link Service.receive} as a stream. Same single-consumer rule. */
  readonly inbound: Stream.Stream<Delivery>
  /**
   * Push-style {@link Service.receive}, for the lowest latency: until the scope closes, `receiver` hears
   * of every envelope in the connection's own callback as it arrives, with the peer events in the same
   * order (see {@link Receiver}). Meant for exactly one consumer (a second registration is a defect);
   * `receive` gets nothing while one is registered.
   */
  readonly receiveWith: (receiver: Receiver) => Effect.Effect<void, never, Scope.Scope>
  /**
   * Subscribes to `PeerUp` / `PeerDown` events from now on. Subscribe before connecting (or read
   * `peers` after subscribing) so none is missed.
   */
  readonly subscribe: Effect.Effect<PubSub.Subscription<PeerEvent>, never, Scope.Scope>
  /** {@link Service.subscribe} as a stream (subscribes when the stream starts). */
  readonly events: Stream.Stream<PeerEvent>
  /** The peers with a live link. */
  readonly peers: Effect.Effect<ReadonlyArray<Peer>>
  /** Counters and the state of each link. */
  readonly stats: Effect.Effect<Stats>
}

/**
 * A push-style consumer of a transport (see {@link Service.receiveWith}). On registration it hears
 * `PeerUp` for each live peer, then gets the envelopes received before and not taken yet; from then on
 * each envelope as it arrives (in order per sender), `PeerUp` before a peer's first envelope and
 * `PeerDown` after its last. Handing an envelope over acknowledges it, so `deliver` must not wait: it
 * dispatches at once and bounds what it keeps by its own flow control (what it sends back in the call
 * carries the ack). A receiver that throws is logged; the envelope counts as delivered.
 *
 * @example
 * ```ts
 * yield* transport.receiveWith({
 *   deliver: (peer, envelope) => console.log(peer.node, envelope.payload),
 *   peer: (event) => console.log(event._tag, event.node)
 * })
 * ```
 * @since 0.1.0
 */
export interface Receiver {
  /**
   * One envelope (its `seq` set) from `peer`: the sending node and incarnation, the same object for
   * everything one link delivers. Nothing is made per envelope to hand it over.
   */
  readonly deliver: (peer: Peer, envelope: Envelope) => void
  readonly peer: (event: PeerEvent) => void
  /**
   * A link to `peer` ended (before its `PeerDown`) with `envelopes` this node sent that the peer had not
   * acknowledged: lost with the link (the peer may have taken some; its ack did not come back), never resent.
   * Also told, after the receiver's scope closed, what the transport's own shutdown could not deliver.
   */
  readonly lost?: (peer: Peer, envelopes: ReadonlyArray<Envelope>) => void
}

/**
 * The transport service.
 *
 * @since 0.1.0
 */
export class Transport extends Context.Service<Transport, Service>()("@troupe/transport/Transport") {}

/**
 * What to do when the resend buffer to a peer is full: make the sender wait (`"suspend"`, the
 * default) or fail the send with `ResendBufferFull` (`"fail"`).
 *
 * @since 0.1.0
 */
export type OverflowPolicy = "suspend" | "fail"

/**
 * Options shared by both transports. Every field has a default.
 *
 * - `node`: this node's id (default: a random one).
 * - `secret`: the shared secret (at least 16 characters) every node of a cluster is given. It never
 *   crosses the wire: each handshake proves it with an HMAC over fresh nonces from both sides, so a
 *   peer that does not know it is refused with close code 4001. Without a secret, any peer may join
 *   (the WebSocket transport refuses to start so unless told `insecureNoAuth`).
 * - `heartbeatInterval`: how often heartbeats are sent (default 1 second).
 * - `failureDetector`: when a silent peer is declared down (default `FailureDetector.phiAccrual()`).
 * - `reconnect`: backoff between dial attempts: `initialDelay` (100 ms), `maxDelay` (5 s), `factor`
 *   (2); each delay is jittered to between half and all of its value.
 * - `resendBuffer`: `capacity` in envelopes (default 8192), `bytes` (default 64 MiB) and `overflow` policy
 *   (default `"suspend"`). The capacity is also the window: at most that many envelopes are unacknowledged,
 *   and no more user envelopes are taken while `bytes` of them are (one may pass it: an envelope of up to
 *   `maxFrameBytes` always goes once the buffer has room).
 * - `maxFrameBytes`: the largest frame accepted or sent (default 4 MiB); larger inbound frames
 *   close the connection with 1009; a larger envelope fails `send` with `InvalidEnvelope`.
 * - `maxEnvelopeValues`: the most JSON values one envelope may hold (default 50,000; at least 64): its
 *   payload's values (each array element and object member counts one) and its own fields' (about 8). A
 *   receiver's work grows with the values, not the bytes (`JSON.parse` costs about a microsecond per value),
 *   so a payload of many tiny values blocks its node long before it reaches `maxFrameBytes`. A larger envelope
 *   fails `send` with `InvalidEnvelope` (`field: "payload"`); one that arrives from a peer is refused before it
 *   is parsed (a `bad-envelope` error frame), and the rest of its frame is delivered.
 * - `handshakeTimeout`: how long a new connection may take to complete the handshake (default 5 s).
 * - `shutdownTimeout`: on shutdown, how long to wait for peers to acknowledge what was sent before
 *   saying goodbye (default 1 second).
 * - `limits`: what no peer can make this node exceed; see {@link Limits}.
 * - `connectAll`: links to every member the node learns of (default `true`): linked nodes gossip
 *   their members and dial those they have no link to, so a node that joins one member links to
 *   all (transitive connections, as in Erlang distribution). `false`: the node links only to the
 *   nodes it dials and those that dial it, and tells no one about its members.
 *
 * @since 0.1.0
 */
export interface Options {
  readonly node?: string | undefined
  readonly secret?: string | Redacted.Redacted<string> | undefined
  readonly heartbeatInterval?: Duration.Input | undefined
  readonly failureDetector?: FailureDetector.Options | undefined
  readonly reconnect?:
    | {
        readonly initialDelay?: Duration.Input | undefined
        readonly maxDelay?: Duration.Input | undefined
        readonly factor?: number | undefined
      }
    | undefined
  readonly resendBuffer?:
    | {
        readonly capacity?: number | undefined
        readonly bytes?: number | undefined
        readonly overflow?: OverflowPolicy | undefined
      }
    | undefined
  readonly maxFrameBytes?: number | undefined
  readonly maxEnvelopeValues?: number | undefined
  readonly handshakeTimeout?: Duration.Input | undefined
  readonly shutdownTimeout?: Duration.Input | undefined
  readonly limits?: Limits | undefined
  readonly connectAll?: boolean | undefined
}

/**
 * The limits a peer cannot raise (all optional):
 *
 * - `maxPeers`: live links at once (default 1000); a handshake beyond it is refused with 4008.
 * - `maxPeersPerAddress`: live links at once with peers at one address (default 100; the address a link's
 *   connection came from or went to, an IPv4 address or an IPv6 /64, see `Peer.addressUnit`), accepted or dialed
 *   (members learned by gossip too); a handshake beyond it is refused with 4008. A node id is whatever a peer with
 *   the secret says it is, so one process could otherwise take every link of `maxPeers` under as many ids, or make
 *   this node dial and hold that many to members it makes up. Raise it for many nodes on one host (or behind one
 *   NAT or proxy): they all count at that one address.
 * - `maxHandshakes`: inbound connections still in their handshake at once (default 64); more are
 *   closed with 4008.
 * - `maxPeerHeartbeatInterval`: the longest heartbeat interval a peer may declare (default 5 s, or
 *   this node's own interval if longer); a longer one is taken as this, so a peer that goes silent
 *   is declared down in bounded time. One given shorter than this node's own `heartbeatInterval` is a
 *   `TransportStartError` (`field: "limits.maxPeerHeartbeatInterval"`).
 * - `maxFailedHandshakes`: failed handshakes (a wrong secret, a forged proof) allowed per address
 *   within 10 seconds (default 5); beyond it, that address is refused until the 10 seconds pass.
 * - `maxConnections`, `maxConnectionsPerAddress` (WebSocket): TCP connections at once, in total
 *   (default 2000) and per remote address (default 100); more are closed as they are accepted. A
 *   connection must finish its HTTP upgrade and handshake within `handshakeTimeout`.
 * - `logLinesPerPeer`: warnings logged per peer (or address) per second (default 10); the rest are
 *   counted and summed up in one line.
 * - `maxLearnedDials`: members learned by gossip (`connectAll`) that this node dials at once, not linked yet
 *   (default 64); members named beyond it are dialed when gossip names them again, so a peer that gossips
 *   members it made up cannot make this node open a socket for each.
 *
 * @example
 * ```ts
 * WebSocket.layer({ node: "hub", secret, listen: { port: 7000 }, limits: { maxPeers: 200, maxLearnedDials: 16 } })
 * ```
 *
 * @since 0.1.0
 */
export interface Limits {
  readonly maxPeers?: number | undefined
  readonly maxPeersPerAddress?: number | undefined
  readonly maxHandshakes?: number | undefined
  readonly maxPeerHeartbeatInterval?: Duration.Input | undefined
  readonly maxFailedHandshakes?: number | undefined
  readonly maxConnections?: number | undefined
  readonly maxConnectionsPerAddress?: number | undefined
  readonly logLinesPerPeer?: number | undefined
  readonly maxLearnedDials?: number | undefined
}
