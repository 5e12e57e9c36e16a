/**
 * A connection: one wire (a socket or an in-process pipe) to a peer, from dial or accept through the handshake to
 * its close, and what the transport tells the engine about it (the engine handles what the connection reads).
 */
import type { Peer } from "../Peer.ts"
import type { Engine } from "./engine.ts"
import type { Writes } from "./frameArena.ts"
import { FrameDecoder } from "./frameDecoder.ts"
import type { Auth } from "./handshake.ts"
import type { Link } from "./link.ts"
import { HIGH_WATER } from "./linkLimits.ts"

/** The raw connection a transport hands to the engine. */
export interface Wire {
  /**
   * Sends one binary message; `done` is called once it is written out (with no error: `undefined`, or `null` as
   * Node's streams and ws give it) or failed. With `room`, the message is `data.subarray(room)`: the bytes before
   * it are free for the wire's own header (see `headerRoom`).
   */
  readonly send: (data: Buffer, done: (error?: Error | null) => void, room: number) => void
  /**
   * Bytes a frame built for this wire leaves free in front of the message (`send`'s `room`), for the header the wire
   * writes there instead of copying the message after it (WebSocket: see wsWrite.ts); 0 when it adds none.
   */
  readonly headerRoom: number
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
  /**
   * The peer's IP address as the socket sees it, for a dialed wire too (once open); none in process. What a link's
   * `PeerUp` says its peer's `remoteAddress` is (the unit the runtime shares its bounds over all peers by).
   */
  readonly peerIp?: (() => string | undefined) | undefined
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
  /**
   * Bytes arrived, a part of a message perhaps (a transport whose messages arrive over many reads tells each read): a
   * peer sending a frame of several MB over a slow network is heard while it arrives, not only once it is whole.
   */
  readonly read: () => void
  readonly closed: (code: number, reason: string) => void
  /** A socket error, and what kind of failure it is. */
  readonly failed: (error: Error, kind: WireFailure) => void
}

/** Opens an outbound wire to a target (a URL or a node id). Events must arrive asynchronously. */
export type Dialer = (target: string, events: WireEvents) => Wire

export interface DialOutcome {
  readonly established: boolean
  readonly peer: Peer | undefined
  readonly code: number
  readonly reason: string
  /** A TLS failure that retrying will not fix. */
  readonly tls: string | undefined
}

const now = Date.now

/** A close reason must fit in 123 bytes. */
const reasonText = (reason: string): string =>
  Buffer.byteLength(reason) > 120 ? `${Buffer.from(reason).subarray(0, 100).toString()}...` : reason

export class Connection implements WireEvents, Writes {
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
  /** Decodes what the connection reads (it keeps what the peer's envelopes repeat: see `frameDecoder.ts`). */
  readonly decoder = new FrameDecoder()
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

  /**
   * Bytes arrived: on an open connection the peer is heard (for the idle check, and at the failure detector's check:
   * see `Link.heard`), as for a whole frame; a field store a read. During the handshake its own deadline rules.
   */
  read = (): void => {
    if (this.state !== "open") return
    const at = now()
    this.lastReceived = at
    const link = this.link
    if (link !== undefined && !link.down) link.lastHeard = at
  }

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
  /** Frames handed to the wire, and those whose write completed (with or without an error: see frameArena.ts). */
  handed = 0
  completed = 0

  /**
   * Writes a frame if the connection can still carry one: `frame.subarray(room)`, the bytes before it free for the
   * wire's header (a link's data frames leave `wire.headerRoom`).
   */
  write(frame: Buffer, room = 0): void {
    if (this.state === "closed" || this.state === "closing" || this.state === "connecting") return
    this.engine.counters.framesOut++
    this.engine.counters.bytesOut += frame.length - room
    this.inflight++
    this.handed++
    this.wire.send(frame, this.onWritten, room)
  }

  private onWritten = (error?: Error | null): void => {
    this.inflight--
    this.completed++
    // ws reports a write that succeeded with `null`: only an Error means the socket is closing (its close event
    // follows and is handled); anything else is the drain that writes what waited behind a full buffer
    if (error instanceof Error) return
    const link = this.link
    if (link?.awaitingDrain && link.active === this && this.wire.bufferedAmount() <= HIGH_WATER) {
      link.awaitingDrain = false
      link.scheduleFlush()
    }
  }

  /** When `close` was called. */
  closingAt = 0

  /**
   * This node was stalled for `millis`: its deadlines for the peer move by as much (idle always; handshake and
   * close for a `long` stall: see `detector.ts`).
   */
  forgive(millis: number, long: boolean): void {
    this.lastReceived += millis
    if (!long) return
    this.startedAt += millis
    this.closingAt += millis
  }

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
