/**
 * The node engine shared by both transports (the handshake is in `handshake.ts`, a link's reliable delivery
 * in `link.ts` and what gets into its resend buffer when in `admission.ts`, what arrives in `inbound.ts`, a
 * connection in `connection.ts`, links coming up and going down in `peers.ts`, dialing with backoff in
 * `dialing.ts`): frames read, heartbeats, timeouts and shutdown. A transport only supplies wires (a socket or an
 * in-process pipe) through `Dialer` and `Engine.accept`.
 *
 * The data path (send, frame building, frame decoding, delivery) is plain synchronous code driven
 * by socket callbacks; Effect is used for the control plane (dial loops, the heartbeat ticker,
 * shutdown) and at the service boundary.
 */
import type { Option } from "effect"
import { type Context, Deferred, Effect, Fiber, PubSub, Queue, Stream } from "effect"
import * as CloseCode from "../CloseCode.ts"
import type * as Envelope from "../Envelope.ts"
import * as Frame from "../Frame.ts"
import type { NodeId } from "../NodeId.ts"
import type { Peer, PeerEvent } from "../Peer.ts"
import type { Service, Stats, Waiting } from "../Transport.ts"
import { NodeUnreachable, type SendError } from "../TransportError.ts"
import { Connection, type Dialer, type Wire, type WireEvents } from "./connection.ts"
import { Detector } from "./detector.ts"
import * as Dialing from "./dialing.ts"
import { Handshake } from "./handshake.ts"
import type { DeliveryImpl } from "./inbound.ts"
import { Inbound } from "./inbound.ts"
import type { Wide } from "./jsonValues.ts"
import type { Link } from "./link.ts"
import { UNCOUNTED_FRAME_BYTES } from "./linkLimits.ts"
import { LogLimiter } from "./logLimiter.ts"
import { Membership } from "./membership.ts"
import type { Resolved } from "./options.ts"
import * as Outbound from "./outbound.ts"
import { Peers } from "./peers.ts"

/** Resolved options plus whatever the transport adds. */
export interface EngineOptions extends Resolved {
  readonly dial: Dialer
  readonly address: Option.Option<string>
  /** Mutual TLS: a peer's node id must be the subject CN of the certificate it presented. */
  readonly certificateIdentity?: boolean | undefined
  /** Whether nothing listens at a target (a TCP connect refused), told to `done`; see `membership.ts` `lost`. */
  readonly probe?: ((target: string, done: (refused: boolean) => void) => void) | undefined
}

const HEARTBEAT = Frame.encode({ type: "heartbeat" })
/** The largest frame accepted before the handshake completes (a hello is well under 1 KiB). */
const HANDSHAKE_FRAME_BYTES = 16 * 1024

/** Frames this long or shorter are not counted (see `onMessage`): senders batch envelopes into frames up to this. */
const SCAN_FROM_BYTES = UNCOUNTED_FRAME_BYTES + Frame.DATA_OVERHEAD

const now = Date.now

type Counters = {
  -readonly [K in Exclude<keyof Stats, "links">]: number
}

export class Engine {
  readonly links = new Map<string, Link>()
  readonly connections = new Set<Connection>()
  readonly targets = new Map<string, Dialing.Target>()
  readonly peers = new Peers(this)
  stopping = false
  readonly counters: Counters = {
    framesIn: 0,
    framesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    envelopesIn: 0,
    envelopesOut: 0,
    resent: 0,
    duplicates: 0,
    badFrames: 0,
    refused: 0,
    linksUp: 0
  }
  readonly handshake: Handshake
  readonly membership: Membership
  readonly detector: Detector
  readonly run: <A, E>(effect: Effect.Effect<A, E>) => Fiber.Fiber<A, E>
  readonly options: EngineOptions
  readonly inbound: Inbound
  readonly events: PubSub.PubSub<PeerEvent>

  constructor(
    options: EngineOptions,
    context: Context.Context<never>,
    inbound: Queue.Queue<DeliveryImpl>,
    events: PubSub.PubSub<PeerEvent>
  ) {
    this.options = options
    this.inbound = new Inbound(this, inbound)
    this.events = events
    this.run = Effect.runForkWith(context)
    this.handshake = new Handshake(this)
    this.logLimiter = new LogLimiter(options.limits.logLinesPerPeer, (key, suppressed) =>
      this.emit("Warn", "log lines suppressed", {
        peer: key,
        suppressed,
        detail: `${suppressed} more warnings about ${key === "*" ? "many peers" : key} in the last second`
      })
    )
    this.membership = new Membership(this)
    this.detector = new Detector(this)
  }

  // ---------------------------------------------------------------------------------------------
  // logging

  private readonly logLimiter: LogLimiter

  /**
   * Logs a line. Warnings and errors about one peer (or address) are limited per second; the ones
   * over the limit are counted and summed up in one line.
   */
  log(level: "Debug" | "Info" | "Warn" | "Error", message: string, annotations: Record<string, unknown>): void {
    if (level === "Warn" || level === "Error") {
      const key = annotations.address ?? annotations.peer ?? annotations.target // an address: ids are the peer's choice
      if (typeof key === "string" && !this.logLimiter.allow(key, now())) return
    }
    this.emit(level, message, annotations)
  }

  private emit(
    level: "Debug" | "Info" | "Warn" | "Error",
    message: string,
    annotations: Record<string, unknown>
  ): void {
    this.run(
      Effect.logWithLevel(level)(message).pipe(
        Effect.annotateLogs({ node: this.options.node, ...annotations }),
        Effect.withLogSpan("transport")
      )
    )
  }

  // ---------------------------------------------------------------------------------------------
  // connections and handshake

  /** A transport accepted a wire: the engine waits for its `hello`. */
  accept(wire: Wire): WireEvents {
    const connection = new Connection(this, false, undefined)
    connection.wire = wire
    this.connections.add(connection)
    if (this.stopping) connection.close(CloseCode.GoingAway, "node shutting down")
    else this.handshake.accepted(connection)
    return connection
  }

  onMessage(connection: Connection, data: Buffer, isBinary: boolean): void {
    const counters = this.counters
    counters.framesIn++
    counters.bytesIn += data.length
    if (connection.state === "closed" || connection.state === "closing") return
    connection.lastReceived = now()
    const limit = connection.state === "open" ? this.options.maxFrameBytes : HANDSHAKE_FRAME_BYTES
    if (data.length > limit) {
      connection.failed(new Error(`a frame of ${data.length} bytes exceeds ${limit}`), "too-big")
      connection.close(CloseCode.TooBig, "frame too big")
      return
    }
    // a frame larger than a batch of envelopes (one envelope larger than UNCOUNTED_FRAME_BYTES): counted before it is
    // parsed, for the limit and the sender's grace (see inboundChecks.ts); not a frame of envelopes batched up to
    // UNCOUNTED_FRAME_BYTES (at most ~62,000 values: work bounded as much, counted at a cost)
    let wide: ReadonlyArray<Wide> | undefined
    if (connection.state === "open" && data.length > SCAN_FROM_BYTES) {
      const checked = this.inbound.checkValues(connection, data)
      if (checked === undefined) return
      ;({ data, wide } = checked)
    }
    const frame = connection.decoder.read(data, isBinary)
    if (frame === undefined) {
      const problem = connection.decoder.problem!
      if (connection.state === "open") this.badFrame(connection, "bad-frame", problem.field, problem.message)
      else this.handshake.badFrame(connection, problem.message, problem.field, "bad-frame")
      return
    }
    if (frame.type === "error") {
      this.log("Warn", "peer reported an error", {
        peer: connection.peer?.node ?? connection.target ?? "unknown",
        code: frame.code,
        field: frame.field,
        seq: frame.seq,
        detail: frame.message
      })
      return
    }
    if (connection.state === "handshaking") {
      this.handshake.onFrame(connection, frame)
      return
    }
    const link = connection.link
    if (link === undefined || link.down) return
    link.lastHeard = connection.lastReceived // counted at the detector's check (see `Link.heard`)
    switch (frame.type) {
      case "data":
        this.inbound.onData(connection, link, frame, connection.decoder.valid, wide)
        return
      case "ack":
        if (!link.onAck(frame.ack)) this.protocolError(connection, `ack ${frame.ack} of an envelope never sent`)
        return
      case "heartbeat":
        link.heartbeat(now())
        if (frame.probe === true) connection.write(HEARTBEAT)
        return
      case "members":
        this.membership.received(link, frame)
        return
      case "goodbye":
        this.peers.declareDown(link, "shutdown", `the peer said goodbye: ${frame.reason}`)
        return
      default:
        this.badFrame(connection, "unexpected-frame", "type", `a ${frame.type} frame on an open link`)
    }
  }

  onClosed(connection: Connection, code: number, reason: string): void {
    if (connection.state === "closed") return
    const before = connection.state
    connection.state = "closed"
    this.connections.delete(connection)
    this.handshake.ended(connection)
    ;({ code, reason } = this.handshake.outcome(connection, code, reason))
    const link = connection.link
    if (link !== undefined) {
      if (link.active === connection) {
        link.detached(connection)
        if (!this.stopping && !link.down) {
          this.log("Debug", "connection lost", { peer: link.peer.node, code: CloseCode.name(code), reason })
          this.membership.lost(link)
        }
      }
      if (code === CloseCode.Quarantined && !link.down) {
        this.peers.declareDown(link, "refused", `the peer quarantined this node: ${reason}`)
      }
    }
    if (connection.outbound && before === "handshaking" && code >= 4000 && connection.target !== undefined) {
      const target = this.targets.get(connection.target)
      if (target !== undefined && target.lastRefusal !== code) {
        target.lastRefusal = code
        this.log("Warn", "dial refused", { target: connection.target, code: CloseCode.name(code), reason })
      }
      if (code === CloseCode.Quarantined && target?.peer !== undefined) {
        const known = this.links.get(target.peer.node)
        if (known !== undefined) this.peers.declareDown(known, "refused", `the peer refused this node: ${reason}`)
      }
    }
    const onDone = connection.onDone
    connection.onDone = undefined
    onDone?.({ established: connection.established, peer: connection.peer, code, reason, tls: connection.tlsFailure })
  }

  badFrame(
    connection: Connection,
    code: Frame.ErrorCode,
    field: string,
    message: string,
    seq?: number,
    peer?: string
  ): void {
    this.counters.badFrames++
    this.log("Warn", "bad frame", {
      peer: peer ?? connection.peer?.node ?? connection.target ?? "unauthenticated",
      code,
      field,
      seq,
      detail: message
    })
    const frame: Frame.ErrorFrame = { type: "error", code, message, field }
    connection.write(Frame.encode(seq === undefined ? frame : { ...frame, seq }))
  }

  protocolError(connection: Connection, message: string): void {
    this.counters.badFrames++
    this.log("Warn", "protocol violation", { peer: connection.peer?.node ?? "unknown", detail: message })
    connection.close(CloseCode.ProtocolError, message)
  }

  /** Runs every heartbeat interval: heartbeats, failure detection, handshake and idle timeouts. */
  tick(at: number): void {
    this.detector.judge(at)
    for (const link of this.links.values()) {
      link.ring.trim() // an idle link keeps no spare memory
      if (link.active?.state === "open") link.active.write(HEARTBEAT)
    }
    this.membership.tick()
    for (const connection of this.connections) {
      if (
        (connection.state === "handshaking" || connection.state === "connecting") &&
        at - connection.startedAt > this.options.handshakeMs
      ) {
        connection.close(CloseCode.HandshakeTimeout, "no handshake in time")
      } else if (
        connection.state === "open" &&
        at - connection.lastReceived > 3 * Math.max(this.options.heartbeatMs, connection.peerHeartbeatMs)
      ) {
        connection.close(CloseCode.Idle, "nothing received for three heartbeat intervals")
        connection.wire.terminate()
      } else if (connection.state === "closing" && at - connection.closingAt > this.options.handshakeMs) {
        connection.wire.terminate() // a peer that never answers the close frame does not keep its socket
      }
    }
    this.logLimiter.flush(at)
  }

  // ---------------------------------------------------------------------------------------------
  // sending (see `outbound.ts`)

  readonly offer = (
    to: NodeId | Peer,
    envelope: Envelope.Envelope,
    done?: (error: SendError | undefined) => void,
    json?: string | Envelope.PayloadWriter,
    bytes?: number
  ): SendError | undefined | Waiting => Outbound.offer(this, to, envelope, done, json, bytes)

  readonly send = (to: NodeId | Peer, envelope: Envelope.Envelope): Effect.Effect<void, SendError> =>
    Outbound.send(this, to, envelope)

  // ---------------------------------------------------------------------------------------------
  // dialing (see `dialing.ts`)

  readonly connect = (target: string): Effect.Effect<Peer, NodeUnreachable> => Dialing.connect(this, target)

  /** Dials a member learned from gossip, unless it is dialed already. */
  learn(address: string): void {
    Dialing.learn(this, address)
  }

  // ---------------------------------------------------------------------------------------------
  // the service

  stats(): Stats {
    return { ...this.counters, links: Array.from(this.links.values(), (link) => link.stats()) }
  }

  service(): Service {
    const receive = this.inbound.receive
    return {
      node: this.options.node,
      incarnation: this.options.incarnation,
      address: this.options.address,
      connect: this.connect,
      send: this.send,
      offer: this.offer,
      receive,
      receiveWith: (receiver) => this.inbound.receiveWith(receiver),
      inbound: Stream.flattenArray(Stream.fromEffectRepeat(receive)),
      subscribe: PubSub.subscribe(this.events),
      events: Stream.fromPubSub(this.events),
      peers: Effect.sync(() => Array.from(this.links.values(), (link) => link.peer)),
      stats: Effect.sync(() => this.stats())
    }
  }

  /** Graceful shutdown: stop dialing, wait (bounded) for acks, say goodbye, close everything. */
  shutdown(): Effect.Effect<void> {
    const engine = this
    return Effect.gen(function* () {
      engine.stopping = true
      // Dialled connections stay open until the goodbye below (interrupting a dial loop aborts its
      // connection, and the peer would see a crash rather than a shutdown); the loops end after.
      for (const target of engine.targets.values()) {
        Deferred.doneUnsafe(
          target.up,
          Effect.fail(new NodeUnreachable({ node: target.target, reason: "stopped", detail: "the transport stopped" }))
        )
      }
      const deadline = now() + engine.options.shutdownMs
      const unacknowledged = () =>
        Array.from(engine.links.values()).some((l) => l.active !== undefined && l.unacknowledged > 0)
      while (unacknowledged() && now() < deadline) yield* Effect.sleep(5)
      const goodbye = Frame.encode({ type: "goodbye", reason: "node shutting down" })
      for (const link of engine.links.values()) {
        link.flush()
        link.active?.write(goodbye)
      }
      for (const connection of engine.connections) connection.close(CloseCode.GoingAway, "node shutting down")
      const closeDeadline = now() + 1000
      while (engine.connections.size > 0 && now() < closeDeadline) yield* Effect.sleep(5)
      for (const connection of engine.connections) connection.wire.terminate()
      for (const target of engine.targets.values()) {
        if (target.fiber !== undefined) yield* Fiber.interrupt(target.fiber)
      }
      const stopped = (node: string) =>
        new NodeUnreachable({ node, reason: "stopped", detail: "the transport is shutting down" })
      for (const link of engine.links.values()) {
        engine.inbound.lost(link.peer, link.unacknowledgedJson())
        link.release(stopped(link.peer.node))
      }
      yield* Queue.shutdown(engine.inbound.queue)
      yield* PubSub.shutdown(engine.events)
    })
  }
}
