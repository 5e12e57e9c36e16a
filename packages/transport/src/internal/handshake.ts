/**
 * The handshake: what a connection says before it carries a link, and who may say it.
 *
 *     dialer                                        acceptor
 *     hello { node, incarnation, key, nonce, ... } →
 *                                                   ← challenge { node, incarnation, key, nonce, ... }
 *     proof { HMAC(k, "dialer") }                  →
 *                                                   ← welcome { received, HMAC(k, "acceptor" + received) }
 *
 * `k` is made from the X25519 agreement and both introductions (see handshakeKeys.ts): only the holder
 * of an incarnation's private key can speak for it, and a connection that claims a live incarnation must
 * present the key that incarnation first linked with.
 *
 * Link state: the proof says which link (generation) the dialer knows last and whether it still holds
 * it; the welcome names the one both sides carry on with (see linkGeneration.ts).
 *
 * Identity: a node id is bound to the key of its live incarnation and, under mutual TLS, to the
 * certificate's subject CN. A new incarnation of a node id whose link is connected does not evict
 * it: the incumbent is probed first, and the newcomer is refused (4010) if it answers.
 *
 * Limits: handshakes in progress, peers, failed attempts per address (handshakeThrottle.ts), peers per address and
 * declared timings (peers.ts).
 */
import * as CloseCode from "../CloseCode.ts"
import * as Frame from "../Frame.ts"
import type { Incarnation, NodeId } from "../NodeId.ts"
import type { Connection } from "./connection.ts"
import type { Engine } from "./engine.ts"
import { acceptorLabel, b64, dialerLabel, mac, nonce, proofKey, sameBytes } from "./handshakeKeys.ts"
import { Throttle } from "./handshakeThrottle.ts"
import { accept, dialerState, takeUp } from "./linkGeneration.ts"
import { addressOf } from "./peers.ts"

const THROTTLED = "too many failed handshakes from this address; retry later"

/** How a connection's handshake stands. */
export class Auth {
  /** What this side said about itself (hello or challenge), once it spoke. */
  self: Frame.Hello | Frame.Challenge | undefined = undefined
  /** The peer's introduction, once received. */
  peer: Frame.Hello | Frame.Challenge | undefined = undefined
  /** The key both proofs are made with (the dialer computes it on the challenge, the acceptor on the proof). */
  key: Buffer | undefined = undefined
  /** Bad frames received before the handshake completed. */
  badFrames = 0
  /** The probe of an incumbent this handshake waits for (its deadline's cancel function). */
  probe: (() => void) | undefined = undefined
  /** The refusal this side sent, if any (the dialer reports it, not the echo of the close). */
  refusal: { readonly code: number; readonly reason: string } | undefined = undefined
}

/** How long an incumbent has to answer a probe before a new incarnation of its id replaces it. */
const PROBE_MAX_MS = 2_000
/** Bad frames tolerated on a connection before its handshake completes. */
const MAX_BAD_FRAMES_BEFORE_HANDSHAKE = 16

export class Handshake {
  private readonly engine: Engine
  private readonly throttle: Throttle
  /** Inbound connections that have not completed their handshake. */
  private readonly pending = new Set<Connection>()

  constructor(engine: Engine) {
    this.engine = engine
    this.throttle = new Throttle(engine.options.limits.maxFailedHandshakes)
  }

  private introduce<T extends "hello" | "challenge">(type: T) {
    const options = this.engine.options
    return {
      type,
      protocol: Frame.PROTOCOL_VERSION,
      node: options.node,
      incarnation: options.incarnation,
      key: options.publicKey,
      nonce: nonce(),
      maxFrameBytes: options.maxFrameBytes,
      window: options.capacity,
      heartbeatInterval: Math.max(1, Math.ceil(options.heartbeatMs))
    }
  }

  /** Whether connections from this address are refused for now (too many failed handshakes). */
  throttled(address: string): boolean {
    return this.throttle.blocked(address, Date.now())
  }

  /** A transport accepted a wire: refuse it at once when too many handshakes are in progress. */
  accepted(connection: Connection): void {
    connection.auth = new Auth()
    const limit = this.engine.options.limits.maxHandshakes
    if (this.pending.size >= limit) {
      this.refuse(connection, CloseCode.Overloaded, `${limit} handshakes are in progress; retry later`, "")
      return
    }
    this.pending.add(connection)
  }

  /** An outbound wire opened: the dialer speaks first. */
  start(connection: Connection): void {
    const auth = new Auth()
    auth.self = this.introduce("hello")
    connection.auth = auth
    connection.write(Frame.encode(auth.self))
  }

  /** The connection closed (or completed its handshake): forget what its handshake held. */
  ended(connection: Connection): void {
    this.pending.delete(connection)
    const auth = connection.auth
    auth?.probe?.()
  }

  /** The close code a dialer reports for a connection: its own refusal, or what the acceptor sent. */
  outcome(connection: Connection, code: number, reason: string): { readonly code: number; readonly reason: string } {
    return connection.auth?.refusal ?? { code, reason }
  }

  /** A frame on a connection that has not completed its handshake. */
  onFrame(connection: Connection, frame: Frame.Frame): void {
    const auth = connection.auth
    if (auth === undefined || auth.probe !== undefined) {
      this.badFrame(connection, `a ${frame.type} frame while the handshake waits`)
    } else if (connection.outbound) {
      if (frame.type === "challenge" && auth.peer === undefined) this.onChallenge(connection, auth, frame)
      else if (frame.type === "welcome" && auth.key !== undefined) this.onWelcome(connection, auth, frame)
      else
        this.badFrame(
          connection,
          `expected a ${auth.peer === undefined ? "challenge" : "welcome"} frame, got ${frame.type}`
        )
    } else if (frame.type === "hello" && auth.peer === undefined) this.onHello(connection, auth, frame)
    else if (frame.type === "proof" && auth.self !== undefined) this.onProof(connection, auth, frame)
    else this.badFrame(connection, `expected a ${auth.peer === undefined ? "hello" : "proof"} frame, got ${frame.type}`)
  }

  /**
   * A bad frame before the handshake completed: answered, and the connection closed after a few. The peer's hello
   * (or, to a dialer, its challenge) that does not decode is refused at once, for good (4002: the peer cannot send
   * another, and the same one would be refused again): its field and what this node needs are in the error frame
   * and the close reason. Without that, the connection would wait for a hello until the handshake timeout.
   */
  badFrame(connection: Connection, message: string, field = "type", code: Frame.ErrorCode = "unexpected-frame"): void {
    this.engine.badFrame(connection, code, field, message)
    const auth = connection.auth
    // a frame that decoded as far as its fields (not garbage, not another type) where only the introduction may come
    if (auth !== undefined && auth.peer === undefined && code === "bad-frame" && field !== "" && field !== "type") {
      const expected = connection.outbound ? "challenge" : "hello"
      this.refuse(
        connection,
        CloseCode.VersionMismatch,
        `its ${expected} is not one protocol ${Frame.PROTOCOL_VERSION} accepts: ${field}: ${message}`,
        connection.target ?? ""
      )
      return
    }
    if (auth !== undefined && ++auth.badFrames >= MAX_BAD_FRAMES_BEFORE_HANDSHAKE) {
      this.engine.protocolError(connection, `${auth.badFrames} bad frames before the handshake`)
    }
  }

  // ---------------------------------------------------------------------------------------------
  // the steps

  private onHello(connection: Connection, auth: Auth, hello: Frame.Hello): void {
    if (!this.admissible(connection, hello)) return
    auth.peer = hello
    auth.self = this.introduce("challenge")
    connection.write(Frame.encode(auth.self))
  }

  private onChallenge(connection: Connection, auth: Auth, challenge: Frame.Challenge): void {
    if (!this.admissible(connection, challenge)) return
    auth.peer = challenge
    auth.key = proofKey(this.engine.options, auth.self as Frame.Hello, challenge, challenge.key)
    const key = auth.key
    if (key === undefined) {
      this.unauthorized(connection, challenge, "its key is not a valid X25519 public key")
      return
    }
    this.afterIncumbent(connection, auth, challenge, () => {
      const { linked, generation } = dialerState(this.engine, challenge)
      const proof = b64(mac(key, dialerLabel(linked, generation)))
      connection.write(
        Frame.encode({
          type: "proof",
          proof,
          ...(linked ? { linked } : {}),
          ...(generation > 0 ? { generation } : {})
        })
      )
    })
  }

  private onProof(connection: Connection, auth: Auth, proof: Frame.Proof): void {
    const hello = auth.peer as Frame.Hello
    if (this.throttled(connection.address)) {
      // guesses sent at once all passed the check at their hello: the ones whose proof comes after the address's
      // last allowed failure are refused unverified, so an address gets its few verified guesses per window
      this.refuse(connection, CloseCode.Throttled, THROTTLED, `${hello.node}/${hello.incarnation}`)
      return
    }
    auth.key = proofKey(this.engine.options, hello, auth.self as Frame.Challenge, hello.key)
    const dialerLinked = proof.linked === true
    const dialerGeneration = proof.generation ?? 0
    if (auth.key === undefined || !sameBytes(proof.proof, mac(auth.key, dialerLabel(dialerLinked, dialerGeneration)))) {
      this.throttle.failed(connection.address, Date.now())
      this.unauthorized(connection, hello, "wrong secret: the proof does not match this node's secret")
      return
    }
    const key = auth.key
    this.afterIncumbent(connection, auth, hello, () => {
      const generation = accept(this.engine, hello, dialerLinked, dialerGeneration)
      const link = this.bind(connection, hello, generation)
      if (link === undefined) return
      const received = link.acknowledge()
      const proof = b64(mac(key, acceptorLabel(received, generation)))
      connection.write(Frame.encode({ type: "welcome", received, proof, generation }))
      this.engine.peers.attach(link, connection)
    })
  }

  private onWelcome(connection: Connection, auth: Auth, welcome: Frame.Welcome): void {
    const challenge = auth.peer as Frame.Challenge
    const generation = welcome.generation
    if (!sameBytes(welcome.proof, mac(auth.key!, acceptorLabel(welcome.received, generation)))) {
      this.unauthorized(connection, challenge, "wrong secret: the acceptor's proof does not match this node's secret")
      return
    }
    if (!takeUp(this.engine, challenge, generation)) {
      // this node dropped that link meanwhile, or holds a newer one: the next handshake sorts it out
      connection.close(CloseCode.ProtocolError, `this node no longer holds link ${generation}; dialing again`)
      return
    }
    const link = this.bind(connection, challenge, generation)
    if (link === undefined) return
    connection.established = true
    if (!link.onAck(welcome.received)) {
      this.engine.protocolError(connection, `welcome acknowledges ${welcome.received}, never sent`)
      return
    }
    this.engine.peers.attach(link, connection)
    if (connection.target !== undefined) this.engine.targets.get(connection.target)?.reached(link.peer)
  }

  // ---------------------------------------------------------------------------------------------
  // checks

  /**
   * The checks made on the peer's introduction before any proof: the address is not throttled,
   * the protocol matches, it is not this node, its incarnation was not declared down, its id is
   * the one its certificate names (mutual TLS), the node has room for it, and a live incarnation
   * is claimed only with the key it linked with.
   */
  private admissible(connection: Connection, intro: Frame.Hello | Frame.Challenge): boolean {
    const engine = this.engine
    const options = engine.options
    const peer = `${intro.node}/${intro.incarnation}`
    const link = engine.links.get(intro.node)
    const certified = connection.wire.peerCertificateName?.()
    // the key this incarnation linked with, while linked or after it went down
    const knownKey = link?.peer.incarnation === intro.incarnation ? link.peerKey : engine.peers.pastKeys.get(peer)
    const full = link === undefined ? engine.peers.fullAt(connection.wire) : undefined
    const refusal: readonly [number, string] | undefined =
      !connection.outbound && this.throttled(connection.address)
        ? [CloseCode.Throttled, THROTTLED]
        : intro.protocol !== Frame.PROTOCOL_VERSION
          ? [CloseCode.VersionMismatch, `protocol ${intro.protocol} is not ${Frame.PROTOCOL_VERSION}`]
          : intro.node === options.node
            ? [CloseCode.SelfConnection, `node id ${intro.node} is this node's own`]
            : engine.peers.quarantined.has(peer)
              ? [CloseCode.Quarantined, "this incarnation was declared down; restart to rejoin"]
              : options.certificateIdentity && certified !== intro.node
                ? [
                    CloseCode.Unauthorized,
                    `node id ${intro.node} is not the certificate's subject (CN=${certified ?? "none"})`
                  ]
                : link === undefined && engine.links.size >= options.limits.maxPeers
                  ? [CloseCode.Overloaded, `this node has ${engine.links.size} peers, its limit`]
                  : full !== undefined
                    ? [CloseCode.Overloaded, full]
                    : knownKey !== undefined && knownKey !== intro.key
                      ? [CloseCode.Unauthorized, `incarnation ${intro.incarnation} linked with another key`]
                      : undefined
    if (refusal === undefined) return true
    if (refusal[0] === CloseCode.Unauthorized && !connection.outbound) {
      this.throttle.failed(connection.address, Date.now())
    }
    this.refuse(connection, refusal[0], refusal[1], peer)
    return false
  }

  /**
   * When the peer is a new incarnation of a node whose link is connected, asks the incumbent first
   * (a heartbeat probe): if it answers within the probe time, the newcomer is refused (4010);
   * otherwise the handshake goes on, and binding the newcomer declares the incumbent down
   * (restarted). The acceptor asks before its welcome, the dialer before its proof.
   */
  private afterIncumbent(
    connection: Connection,
    auth: Auth,
    intro: Frame.Hello | Frame.Challenge,
    proceed: () => void
  ): void {
    const engine = this.engine
    const incumbent = engine.links.get(intro.node)
    const active = incumbent?.active
    if (incumbent === undefined || incumbent.peer.incarnation === intro.incarnation || active?.state !== "open") {
      proceed()
      return
    }
    const asked = Date.now()
    active.write(Frame.encode({ type: "heartbeat", probe: true }))
    // after a stall of this node's, an answer already waiting in the socket is read before the deadline decides
    auth.probe = engine.detector.deadline(Math.min(PROBE_MAX_MS, engine.options.handshakeMs / 2), () => {
      auth.probe = undefined
      if (connection.state !== "handshaking") return
      incumbent.heard(incumbent.lastHeard) // what it sent since counts as its answer, as at the detector's check
      if (!incumbent.down && engine.links.get(intro.node) === incumbent && incumbent.lastHeartbeat >= asked) {
        this.refuse(
          connection,
          CloseCode.IdInUse,
          `node id ${intro.node} is in use by a live incarnation; give this node another id`,
          `${intro.node}/${intro.incarnation}`
        )
        return
      }
      proceed()
    })
  }

  /** Binds the connection to the link of the peer's node and incarnation, with its declared timings bounded (peers.ts). */
  private bind(connection: Connection, intro: Frame.Hello | Frame.Challenge, generation: number) {
    const engine = this.engine
    if (engine.stopping) {
      connection.close(CloseCode.GoingAway, "node shutting down")
      return undefined
    }
    const limit = engine.options.limits.maxPeers
    if (!engine.links.has(intro.node) && engine.links.size >= limit) {
      // checked at the introduction too; handshakes that were under way together are checked again here
      this.refuse(connection, CloseCode.Overloaded, `this node has ${limit} peers, its limit`, `${intro.node}`)
      return undefined
    }
    const full = engine.links.has(intro.node) ? undefined : engine.peers.fullAt(connection.wire)
    if (full !== undefined) {
      this.refuse(connection, CloseCode.Overloaded, full, `${intro.node}`)
      return undefined
    }
    const link = engine.peers.bind(
      intro.node as NodeId,
      intro.incarnation as Incarnation,
      intro,
      generation,
      addressOf(connection.wire)
    )
    link.peerKey ??= intro.key
    connection.link = link
    connection.peer = link.peer
    connection.peerHeartbeatMs = link.peerHeartbeatMs
    connection.state = "open"
    this.ended(connection)
    return link
  }

  // ---------------------------------------------------------------------------------------------
  // refusals

  private unauthorized(connection: Connection, intro: Frame.Hello | Frame.Challenge, reason: string): void {
    this.refuse(connection, CloseCode.Unauthorized, reason, `${intro.node}/${intro.incarnation}`)
  }

  private refuse(connection: Connection, code: number, reason: string, peer: string): void {
    if (connection.auth !== undefined) connection.auth.refusal = { code, reason }
    this.engine.counters.refused++
    this.engine.log("Warn", "connection refused", {
      peer: peer === "" ? connection.address : peer,
      address: connection.address,
      code: CloseCode.name(code),
      reason
    })
    connection.close(code, reason)
  }
}
