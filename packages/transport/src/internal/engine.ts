/**
 * The node engine shared by both transports (the handshake is in `handshake.ts`, a link's reliable delivery
 * in `link.ts`, what arrives in `inbound.ts`): connections, links, heartbeats, failure detection, dialing
 * with backoff and shutdown. A transport only supplies wires (a socket or an in-process pipe) through
 * `Dialer` and `Engine.accept`.
 *
 * The data path (send, frame building, frame decoding, delivery) is plain synchronous code driven
 * by socket callbacks; Effect is used for the control plane (dial loops, the heartbeat ticker,
 * shutdown) and at the service boundary.
 */
import type { Option, Scope } from "effect"
import { Context, Deferred, Effect, Fiber, Metric, PubSub, Queue, Result, Schedule, Stream } from "effect"
import * as CloseCode from "../CloseCode.ts"
import type * as Envelope from "../Envelope.ts"
import * as Frame from "../Frame.ts"
import type { Incarnation, NodeId } from "../NodeId.ts"
import { type Peer, PeerDown, type PeerEvent, PeerUp } from "../Peer.ts"
import type { Service, Stats } from "../Transport.ts"
import { NodeUnreachable, type SendError } from "../TransportError.ts"
import * as TransportMetrics from "../TransportMetrics.ts"
import { Detector } from "./detector.ts"
import { type Auth, Handshake } from "./handshake.ts"
import { Inbound } from "./inbound.ts"
import { type DeliveryImpl, HIGH_WATER, Link } from "./link.ts"
import { LogLimiter } from "./logLimiter.ts"
import { Membership } from "./membership.ts"
import type { Resolved } from "./options.ts"
import * as Outbound from "./outbound.ts"

/** The raw connection a transport hands to the engine. */
export interface Wire {
  /** Sends one binary message; `done` is called once it is written out (or failed). */
  readonly send: (data: Buffer, done: (error?: Error) => void) => void
  /** Bytes queued and not yet written to the OS. */
  readonly bufferedAmount: () => number
  /** Closes with a close frame. */
  readonly close: (code: number, reason: string) => void
  /** Destroys the connection at once. */
  readonly terminate: () => void
  /** The peer's network address (for limits and logs); none in process. */
  readonly remoteAddress?: string | undefined
  /** The subject CN of the certificate the peer presented and TLS verified, if any. */
  readonly peerCertificateName?: (() => string | undefined) | undefined
}

/**
 * Why a socket failed: a frame over the size limit (`too-big`, the socket then closes with 1009),
 * a frame the WebSocket layer refused (`bad-frame`), a TLS failure that retrying will not fix
 * (`tls`), or anything else (`io`).
 */
export type WireFailure = "too-big" | "bad-frame" | "tls" | "io"

/** What a transport tells the engine about a wire. */
export interface WireEvents {
  /** The outbound wire is open (not called for accepted wires). */
  readonly opened: () => void
  readonly message: (data: Buffer, isBinary: boolean) => void
  readonly closed: (code: number, reason: string) => void
  /** A socket error, and what kind of failure it is. */
  readonly failed: (error: Error, kind: WireFailure) => void
}

/** Opens an outbound wire to a target (a URL or a node id). Events must arrive asynchronously. */
export type Dialer = (target: string, events: WireEvents) => Wire

/** Resolved options plus whatever the transport adds. */
export interface EngineOptions extends Resolved {
  readonly dial: Dialer
  readonly address: Option.Option<string>
  /** Mutual TLS: a peer's node id must be the subject CN of the certificate it presented. */
  readonly certificateIdentity?: boolean | undefined
}

interface DialOutcome {
  readonly established: boolean
  readonly peer: Peer | undefined
  readonly code: number
  readonly reason: string
  /** A TLS failure that retrying will not fix. */
  readonly tls: string | undefined
}

const HEARTBEAT = Frame.encode({ type: "heartbeat" })
const QUARANTINE_LIMIT = 10_000
/** Failed dials after which a member learned by gossip is no longer dialed (until gossip names it again). */
const LEARNED_DIAL_ATTEMPTS = 5
/** The largest frame accepted before the handshake completes (a hello is well under 1 KiB). */
const HANDSHAKE_FRAME_BYTES = 16 * 1024

const now = Date.now

/** A close reason must fit in 123 bytes. */
const reasonText = (reason: string): string =>
  Buffer.byteLength(reason) > 120 ? `${Buffer.from(reason).subarray(0, 100).toString()}...` : reason

export class Connection implements WireEvents {
  state: "connecting" | "handshaking" | "open" | "closing" | "closed"
  wire!: Wire
  link: Link | undefined = undefined
  peer: Peer | undefined = undefined
  peerHeartbeatMs = 0
  established = false
  lastReceived = now()
  startedAt = now()
  onDone: ((outcome: DialOutcome) => void) | undefined = undefined
  /** The handshake's state (see `handshake.ts`). */
  auth: Auth | undefined = undefined
  /** A TLS failure seen on this connection. */
  tlsFailure: string | undefined = undefined
  readonly engine: Engine
  readonly outbound: boolean
  readonly target: string | undefined

  constructor(engine: Engine, outbound: boolean, target: string | undefined) {
    this.engine = engine
    this.outbound = outbound
    this.target = target
    this.state = outbound ? "connecting" : "handshaking"
  }

  opened = (): void => {
    if (this.state !== "connecting") return
    this.state = "handshaking"
    this.startedAt = now()
    this.engine.handshake.start(this)
  }

  message = (data: Buffer, isBinary: boolean): void => this.engine.onMessage(this, data, isBinary)

  closed = (code: number, reason: string): void => this.engine.onClosed(this, code, reason)

  /** Where the peer is: its network address, or the target dialed. */
  get address(): string {
    return this.wire.remoteAddress ?? this.target ?? "in-process"
  }

  failed = (error: Error, kind: WireFailure): void => {
    if (kind === "too-big" || kind === "bad-frame") {
      this.engine.counters.badFrames++
      this.engine.log("Warn", "bad frame", {
        peer: this.peer?.node ?? this.address,
        code: kind,
        detail: error.message
      })
    } else if (kind === "tls") {
      this.tlsFailure = error.message
      this.engine.log("Error", "TLS failure", { peer: this.peer?.node ?? this.address, detail: error.message })
    } else {
      this.engine.log("Debug", "socket error", {
        peer: this.peer?.node ?? this.target ?? "unknown",
        detail: error.message
      })
    }
  }

  /** Frames handed to the wire and not yet written out. */
  inflight = 0

  /** Writes a frame if the connection can still carry one. */
  write(frame: Buffer): void {
    if (this.state === "closed" || this.state === "closing" || this.state === "connecting") return
    this.engine.counters.framesOut++
    this.engine.counters.bytesOut += frame.length
    this.inflight++
    this.wire.send(frame, this.onWritten)
  }

  private onWritten = (error?: Error): void => {
    this.inflight--
    if (error !== undefined) return // the socket is closing; its close event follows and is handled
    const link = this.link
    if (link?.awaitingDrain && link.active === this && this.wire.bufferedAmount() <= HIGH_WATER) {
      link.awaitingDrain = false
      link.scheduleFlush()
    }
  }

  /** When `close` was called. */
  closingAt = 0

  close(code: number, reason: string): void {
    if (this.state === "closed" || this.state === "closing") return
    this.state = "closing"
    this.closingAt = now()
    try {
      this.wire.close(code, reasonText(reason))
    } catch {
      this.wire.terminate()
    }
  }

  /** Stops a dial attempt or connection at once, without reporting an outcome. */
  abort(): void {
    this.onDone = undefined
    if (this.state !== "closed") this.wire.terminate()
  }
}

class Target {
  peer: Peer | undefined = undefined
  up: Deferred.Deferred<Peer, NodeUnreachable> = Deferred.makeUnsafe()
  fiber: Fiber.Fiber<void> | undefined = undefined
  lastRefusal = 0
  readonly target: string
  /** Learned from gossip (not given to `connect`): dialed a few times, then forgotten. */
  learned: boolean
  constructor(target: string, learned: boolean) {
    this.target = target
    this.learned = learned
  }

  reached(peer: Peer): void {
    this.peer = peer
    if (Deferred.isDoneUnsafe(this.up)) this.up = Deferred.makeUnsafe()
    Deferred.doneUnsafe(this.up, Effect.succeed(peer))
  }

  lost(): void {
    this.peer = undefined
    if (Deferred.isDoneUnsafe(this.up)) this.up = Deferred.makeUnsafe()
  }
}

type Counters = {
  -readonly [K in Exclude<keyof Stats, "links">]: number
}

export class Engine {
  readonly links = new Map<string, Link>()
  readonly connections = new Set<Connection>()
  readonly targets = new Map<string, Target>()
  /** Incarnations that are gone for good (a newer one replaced them, or they said goodbye). */
  readonly quarantined = new Set<string>()
  /** The key each incarnation that went down linked with: it cannot come back with another one. */
  readonly pastKeys = new Map<string, string>()
  /** The last link generation made with each incarnation ("node/incarnation"), while linked and after. */
  private readonly generations = new Map<string, number>()
  /** Why each node that went down (and did not come back) went down. */
  private readonly downed = new Map<string, string>()
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
  private readonly run: <A, E>(effect: Effect.Effect<A, E>) => Fiber.Fiber<A, E>
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

  private dial(target: Target, onDone: (outcome: DialOutcome) => void): Connection {
    const connection = new Connection(this, true, target.target)
    connection.onDone = onDone
    connection.wire = this.options.dial(target.target, connection) // throws for a malformed target
    this.connections.add(connection)
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
    const decoded = Frame.decode(data, isBinary)
    if (Result.isFailure(decoded)) {
      if (connection.state === "open")
        this.badFrame(connection, "bad-frame", decoded.failure.field, decoded.failure.message)
      else this.handshake.badFrame(connection, decoded.failure.message, decoded.failure.field, "bad-frame")
      return
    }
    const frame = decoded.success
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
    switch (frame.type) {
      case "data":
        this.inbound.onData(connection, link, frame)
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
        this.declareDown(link, "shutdown", `the peer said goodbye: ${frame.reason}`)
        return
      default:
        this.badFrame(connection, "unexpected-frame", "type", `a ${frame.type} frame on an open link`)
    }
  }

  /** The highest generation of link to this incarnation this node made (0: none yet). */
  generationOf(node: string, incarnation: string): number {
    return this.generations.get(`${node}/${incarnation}`) ?? 0
  }

  /**
   * The link of `generation` to a node and incarnation; a new incarnation replaces (and downs) the old
   * one. (A link of another generation to the same incarnation was declared down by the handshake.)
   */
  bind(
    node: NodeId,
    incarnation: Incarnation,
    hello: { readonly maxFrameBytes: number; readonly window: number; readonly heartbeatInterval: number },
    generation: number
  ): Link {
    let link = this.links.get(node)
    if (link !== undefined && link.peer.incarnation !== incarnation) {
      this.declareDown(link, "restarted", `node ${node} came back as incarnation ${incarnation}`)
      link = undefined
    }
    if (link === undefined) {
      link = new Link(this, { node, incarnation }, hello, generation)
      const key = `${node}/${incarnation}`
      this.generations.delete(key)
      this.generations.set(key, generation)
      if (this.generations.size > QUARANTINE_LIMIT) this.generations.delete(this.generations.keys().next().value!)
      this.downed.delete(node)
      this.links.set(node, link)
      this.counters.linksUp++
      this.publish(new PeerUp({ node, incarnation }))
      this.log("Info", "link up", { peer: node, incarnation })
    } else {
      link.peerMaxFrameBytes = hello.maxFrameBytes
      link.peerWindow = hello.window
      link.peerHeartbeatMs = hello.heartbeatInterval
    }
    return link
  }

  /**
   * Makes a handshaken connection carry its link. When the link already has one (both nodes dialed
   * each other), both nodes keep the connection dialed by the node with the smaller id, so they
   * agree without talking; between two connections dialed by the same node the newer wins.
   */
  attach(link: Link, connection: Connection): void {
    const current = link.active
    if (current !== undefined && current !== connection && current.state === "open") {
      const preferred = [this.options.node, link.peer.node].sort()[0]
      const dialer = (c: Connection) => (c.outbound ? this.options.node : link.peer.node)
      const newWins = dialer(connection) === preferred || dialer(current) !== preferred
      const loser = newWins ? current : connection
      link.detached(loser)
      loser.close(CloseCode.Duplicate, "another connection carries this link")
      if (!newWins) return
    }
    link.attached(connection)
    this.membership.attached(link)
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
        }
      }
      if (code === CloseCode.Quarantined && !link.down) {
        this.declareDown(link, "refused", `the peer quarantined this node: ${reason}`)
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
        if (known !== undefined) this.declareDown(known, "refused", `the peer refused this node: ${reason}`)
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

  /** Publishes a peer event, telling a registered receiver first (in order with its deliveries). */
  private publish(event: PeerEvent): void {
    this.inbound.notify(event)
    PubSub.publishUnsafe(this.events, event)
  }

  // ---------------------------------------------------------------------------------------------
  // peers going down

  declareDown(link: Link, reason: PeerDown["reason"], message: string): void {
    if (link.down) return
    link.down = true
    const { node, incarnation } = link.peer
    if (this.links.get(node) === link) this.links.delete(node)
    // a live incarnation that was only unreachable may link again (a new link, on both sides)
    if (reason === "restarted" || reason === "shutdown") this.quarantine(`${node}/${incarnation}`)
    if (link.peerKey !== undefined) {
      this.pastKeys.set(`${node}/${incarnation}`, link.peerKey)
      if (this.pastKeys.size > QUARANTINE_LIMIT) this.pastKeys.delete(this.pastKeys.keys().next().value!)
    }
    this.downed.set(node, `${reason}: ${message}`)
    if (this.downed.size > QUARANTINE_LIMIT) this.downed.delete(this.downed.keys().next().value!)
    this.counters.linksUp--
    for (const connection of this.connections) {
      if (connection.link === link) {
        connection.close(reason === "shutdown" ? CloseCode.Normal : CloseCode.Quarantined, message)
      }
    }
    this.inbound.lost(link.peer, link.unacknowledgedJson())
    link.release(new NodeUnreachable({ node, reason: "down", detail: `${reason}: ${message}` }))
    for (const target of this.targets.values()) {
      if (target.peer?.node === node && target.peer.incarnation === incarnation) target.lost()
    }
    this.publish(new PeerDown({ node, incarnation, reason, message }))
    this.log(reason === "shutdown" ? "Info" : "Warn", "link down", { peer: node, incarnation, reason, detail: message })
  }

  private quarantine(key: string): void {
    this.quarantined.add(key)
    if (this.quarantined.size > QUARANTINE_LIMIT) this.quarantined.delete(this.quarantined.values().next().value!)
  }

  /** Runs every heartbeat interval: heartbeats, failure detection, handshake and idle timeouts. */
  tick(at: number): void {
    this.detector.judge(at)
    for (const link of this.links.values()) if (link.active?.state === "open") link.active.write(HEARTBEAT)
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

  /** Why `node` went down, if it did and did not come back. */
  downReason(node: string): string | undefined {
    return this.downed.get(node)
  }

  readonly offer = (
    to: NodeId | Peer,
    envelope: Envelope.Envelope,
    done: (error: SendError | undefined) => void
  ): SendError | undefined | (() => void) => Outbound.offer(this, to, envelope, done)

  readonly send = (to: NodeId | Peer, envelope: Envelope.Envelope): Effect.Effect<void, SendError> =>
    Outbound.send(this, to, envelope)

  // ---------------------------------------------------------------------------------------------
  // dialing

  readonly connect = (target: string): Effect.Effect<Peer, NodeUnreachable> =>
    Effect.suspend(() => {
      if (this.stopping) {
        return Effect.fail(
          new NodeUnreachable({ node: target, reason: "stopped", detail: "the transport is shutting down" })
        )
      }
      let state = this.targets.get(target)
      if (state === undefined) {
        state = new Target(target, false)
        this.targets.set(target, state)
        state.fiber = this.run(this.dialLoop(state))
      }
      state.learned = false
      const peer = state.peer
      if (peer !== undefined && this.links.get(peer.node)?.peer === peer) return Effect.succeed(peer)
      return Deferred.await(state.up)
    })

  /** Dials a member learned from gossip, unless it is dialed already. */
  learn(address: string): void {
    if (this.stopping || this.targets.has(address)) return
    const target = new Target(address, true)
    this.targets.set(address, target)
    target.fiber = this.run(this.dialLoop(target))
  }

  private delay(failures: number): number {
    const { initialDelayMs, maxDelayMs, factor } = this.options
    const base = Math.min(maxDelayMs, initialDelayMs * factor ** Math.min(failures, 64))
    return base / 2 + (Math.random() * base) / 2
  }

  private dialLoop(target: Target): Effect.Effect<void> {
    const engine = this
    return Effect.gen(function* () {
      let failures = 0
      while (!engine.stopping) {
        const outcome = yield* Effect.callback<DialOutcome | Error>((resume) => {
          try {
            const connection = engine.dial(target, (o) => resume(Effect.succeed(o)))
            return Effect.sync(() => connection.abort())
          } catch (error) {
            resume(Effect.succeed(error instanceof Error ? error : new Error(String(error))))
          }
        })
        if (engine.stopping) return
        if (outcome instanceof Error) {
          engine.log("Error", "cannot dial this target", { target: target.target, detail: outcome.message })
          const detail = `cannot dial ${JSON.stringify(target.target)}: ${outcome.message}`
          Deferred.doneUnsafe(
            target.up,
            Effect.fail(new NodeUnreachable({ node: target.target, reason: "invalid", detail }))
          )
          return
        }
        if (outcome.code === CloseCode.SelfConnection) {
          engine.log("Error", "stopped dialing: the target is this node itself", { target: target.target })
          Deferred.doneUnsafe(
            target.up,
            Effect.fail(new NodeUnreachable({ node: target.target, reason: "self", detail: "the target is this node" }))
          )
          return
        }
        if (!outcome.established && (outcome.tls !== undefined || CloseCode.isFinal(outcome.code))) {
          const detail =
            outcome.tls !== undefined
              ? `TLS: ${outcome.tls}`
              : `${CloseCode.name(outcome.code)} (${outcome.code}): ${outcome.reason}`
          engine.log("Error", "stopped dialing: the target refused this node", { target: target.target, detail })
          Deferred.doneUnsafe(
            target.up,
            Effect.fail(new NodeUnreachable({ node: target.target, reason: "refused", detail }))
          )
          return
        }
        failures = outcome.established ? 0 : failures + 1
        if (!outcome.established) {
          engine.log("Debug", "dial failed", {
            target: target.target,
            code: CloseCode.name(outcome.code),
            reason: outcome.reason
          })
        }
        if (outcome.code === CloseCode.Duplicate && outcome.peer !== undefined) {
          target.reached(outcome.peer)
          yield* engine.linkIdle(outcome.peer)
          continue
        }
        if (outcome.established) target.lastRefusal = 0
        if (target.learned && failures >= LEARNED_DIAL_ATTEMPTS && engine.targets.get(target.target) === target) {
          engine.targets.delete(target.target)
          return
        }
        yield* Effect.sleep(engine.delay(failures))
      }
    })
  }

  /** Waits until the link to this peer has no connection (or is gone). */
  private linkIdle(peer: Peer): Effect.Effect<void> {
    return Effect.callback<void>((resume) => {
      const link = this.links.get(peer.node)
      if (link === undefined || link.peer.incarnation !== peer.incarnation || link.active === undefined) {
        resume(Effect.void)
        return
      }
      link.idleWaiters.push(() => resume(Effect.void))
    })
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
      for (const link of engine.links.values()) link.release(stopped(link.peer.node))
      yield* Queue.shutdown(engine.inbound.queue)
      yield* PubSub.shutdown(engine.events)
    })
  }
}

/** Registers the node's metrics, read from its counters at snapshot time. */
const registerMetrics = (engine: Engine, context: Context.Context<never>): (() => void) => {
  const attributed = Context.add(context, Metric.CurrentMetricAttributes, { node: engine.options.node })
  const counters = engine.counters
  const counter = (metric: Metric.Counter<number>, get: () => number) =>
    Metric.registerUnsafe(metric, attributed, {
      get: () => ({ count: get(), incremental: true }),
      update: () => {},
      modify: () => {}
    })
  const registrations = [
    counter(TransportMetrics.framesIn, () => counters.framesIn),
    counter(TransportMetrics.framesOut, () => counters.framesOut),
    counter(TransportMetrics.bytesIn, () => counters.bytesIn),
    counter(TransportMetrics.bytesOut, () => counters.bytesOut),
    counter(TransportMetrics.envelopesIn, () => counters.envelopesIn),
    counter(TransportMetrics.envelopesOut, () => counters.envelopesOut),
    counter(TransportMetrics.resent, () => counters.resent),
    counter(TransportMetrics.duplicates, () => counters.duplicates),
    counter(TransportMetrics.badFrames, () => counters.badFrames),
    counter(TransportMetrics.refused, () => counters.refused),
    Metric.registerUnsafe(TransportMetrics.linksUp, attributed, {
      get: () => ({ value: counters.linksUp }),
      update: () => {},
      modify: () => {}
    })
  ]
  return () => {
    for (const registration of registrations) registration.remove()
  }
}

/** Starts an engine in the current scope; it shuts down gracefully when the scope closes. */
export const make = (options: EngineOptions): Effect.Effect<Engine, never, Scope.Scope> =>
  Effect.gen(function* () {
    const context = yield* Effect.context<never>()
    const inbound = yield* Queue.unbounded<DeliveryImpl>()
    const events = yield* PubSub.unbounded<PeerEvent>()
    const engine = new Engine(options, context, inbound, events)
    const unregister = registerMetrics(engine, context)
    yield* Effect.addFinalizer(() => Effect.ensuring(engine.shutdown(), Effect.sync(unregister)))
    yield* Effect.forkScoped(
      Effect.repeat(
        Effect.sync(() => engine.tick(now())),
        Schedule.spaced(options.heartbeatMs)
      )
    )
    return engine
  })
