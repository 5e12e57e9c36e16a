/**
 * A link to one peer incarnation: reliable, ordered delivery over whichever connection carries it. Sending:
 * a resend buffer (a ring that grows up to the capacity) holds what the peer has not acknowledged; at most a
 * window of envelopes (our capacity, never more than the peer's window) is unacknowledged. What gets in when is
 * the link's admission (`admission.ts`): user sends that find the window full wait in order; replies and system
 * envelopes go on an urgent lane ahead of them and are never refused for a full buffer. Receiving: cumulative acks of what the consumer took, written with data
 * frames or on their own after a short delay; the engine refuses data past the last ack plus our window.
 */
import type * as Envelope from "../Envelope.ts"
import * as FailureDetector from "../FailureDetector.ts"
import * as Frame from "../Frame.ts"
import type { Peer } from "../Peer.ts"
import type { LinkStats } from "../Transport.ts"
import type { NodeUnreachable } from "../TransportError.ts"
import { Admission } from "./admission.ts"
import type { Connection } from "./connection.ts"
import type { Engine } from "./engine.ts"
import type { DeliveryImpl } from "./inbound.ts"
import { ACK_DELAY_MS, FRAME_BYTES, HIGH_WATER } from "./linkLimits.ts"
import { SendRing } from "./sendRing.ts"

const now = Date.now

export class Link {
  down = false
  /** Which link between these two incarnations this is (see `decide` in linkGeneration.ts): 1, 2, ... */
  readonly generation: number
  active: Connection | undefined = undefined
  /** The X25519 key the peer's incarnation linked with: later connections must prove the same. */
  peerKey: string | undefined = undefined
  readonly detector: FailureDetector.FailureDetector
  lastHeartbeat = now()
  /**
   * When the last frame of the peer was read, on any connection of this link (set per frame by the engine, which does
   * nothing more per frame: the detector's check counts it, see {@link heard}).
   */
  lastHeard = now()
  peerMaxFrameBytes = 0
  peerWindow = 0
  peerHeartbeatMs: number
  // sending
  /** The resend buffer (a caller that writes a payload into it: see `offerWritten` in outbound.ts). */
  readonly ring: SendRing
  /** This node's window: envelopes unacknowledged at most (see `window`). */
  readonly capacity: number
  /** Bytes of envelopes that may be unacknowledged (see `roomy`). */
  private readonly budget: number
  lastSeq = 0
  /** What gets into the resend buffer when: the urgent lane and the user sends waiting for room. */
  readonly admission = new Admission(this)
  acked = 0
  private sent = 0
  /** Bytes of the envelopes after `sent`, each plus its comma (to cut a frame once they reach `FRAME_BYTES`). */
  private unsent = 0
  private written = 0
  /** Bytes of all envelopes ever put in the resend buffer, each plus its comma (what admission lets in per call). */
  putBytes = 0
  private flushScheduled = false
  /** The last data frame held more than one envelope: sends are streaming, and each turn's go out batched. */
  private streaming = false
  awaitingDrain = false
  // receiving
  delivered = 0
  consumed = 0
  private ackSent = 0
  /** The highest ack written to the peer: the peer may send up to this plus our window. */
  ackHigh = 0
  private ackTimer: ReturnType<typeof setTimeout> | undefined = undefined
  lastQueued: DeliveryImpl | undefined = undefined
  ackPending = false
  idleWaiters: Array<() => void> = []
  readonly engine: Engine
  readonly peer: Peer

  constructor(
    engine: Engine,
    peer: Peer,
    hello: { readonly maxFrameBytes: number; readonly window: number; readonly heartbeatInterval: number },
    generation: number
  ) {
    this.engine = engine
    this.peer = peer
    this.generation = generation
    this.capacity = engine.options.capacity
    this.budget = engine.options.resendBytes
    this.ring = new SendRing(this.capacity)
    this.peerLimits(hello)
    this.peerHeartbeatMs = hello.heartbeatInterval
    this.detector = FailureDetector.make(engine.options.failureDetector, hello.heartbeatInterval, now())
  }

  heartbeat(at: number): void {
    this.lastHeartbeat = at
    this.detector.heartbeat(at)
  }

  /**
   * Any other frame from the peer, or a handshake it completed, shows it alive: once its heartbeat is an
   * interval overdue (lost with a connection cut before it went out, or queued behind data on a starved
   * machine), this counts as one (at most one per interval, so phi accrual learns heartbeat-like intervals).
   * Connections cut faster than heartbeats go then do not get a live peer declared down; a peer nothing is
   * heard from is declared down as before. Frames are counted where the peer is judged, not as they are read:
   * the detector's check (and a forgiven stall, before it is forgiven) calls this with {@link lastHeard}.
   *
   * @example
   * link.heard(link.lastHeard) // at the detector's check: frames read since an overdue heartbeat count as one
   */
  heard(at: number): void {
    if (at - this.lastHeartbeat >= Math.min(this.peerHeartbeatMs, this.engine.options.heartbeatMs)) this.heartbeat(at)
  }

  get unacknowledged(): number {
    return this.lastSeq - this.acked
  }

  /** Bytes an envelope may take so that a frame holding it fits both sides' limit (see {@link peerLimits}). */
  maxEnvelopeBytes = 0
  /** At most this many envelopes are unacknowledged: our capacity, and never more than the peer's window. */
  window = 0
  /** A data frame holds at most this many envelopes (see `FRAME_BYTES`). */
  frameEnvelopes = 1

  /**
   * The peer's limits, from its hello (again on each connection): the limits that follow from them are kept as
   * fields, read on every send (getters would be calls, and compile jobs, on every ask's path).
   *
   * @example
   * link.peerLimits({ maxFrameBytes: 1 << 20, window: 1024 }) // link.window: min(capacity, 1024)
   */
  peerLimits(hello: { readonly maxFrameBytes: number; readonly window: number }): void {
    this.peerMaxFrameBytes = hello.maxFrameBytes
    this.peerWindow = hello.window
    this.maxEnvelopeBytes = Math.min(this.engine.options.maxFrameBytes, hello.maxFrameBytes) - Frame.DATA_OVERHEAD
    this.window = Math.min(this.capacity, hello.window)
    this.frameEnvelopes = Math.max(1, this.window >> 2)
  }

  /**
   * Whether the resend buffer takes one more envelope: fewer than a window of them unacknowledged, and fewer than
   * the byte budget (`resendBuffer.bytes`) of them: a peer that reads nothing holds at most that (and one envelope).
   */
  roomy(): boolean {
    return this.lastSeq - this.acked < this.window && this.ring.held < this.budget
  }

  /**
   * Puts an urgent envelope in the resend buffer (the window has room: see `Admission.pushUrgent`) and writes it at
   * once, even while user sends stream.
   */
  pushAhead(json: string, bytes: number, template: Envelope.Template | undefined): void {
    this.enqueue(json, bytes, template)
    this.queued(true)
  }

  /** Writes what admission let in (see `Admission.admit`), as any envelope queued. */
  admitted(): void {
    if (this.sent < this.lastSeq) this.queued()
  }

  /**
   * Puts an envelope in the resend buffer (its JSON, or its payload's JSON and its template; `bytes` in all) and
   * writes it at once, in a microtask, or with the next full frame.
   */
  push(json: string, bytes: number, template: Envelope.Template | undefined): void {
    this.enqueue(json, bytes, template)
    this.queued()
  }

  /** {@link push} of the envelope the ring wrote last (`ring.writePayload`). */
  pushWritten(bytes: number): void {
    this.putWritten(bytes)
    this.queued()
  }

  /** Puts an envelope in the resend buffer; written later (see {@link queued}). */
  enqueue(json: string, bytes: number, template: Envelope.Template | undefined): void {
    this.ring.writeJson(json, bytes, template)
    this.putWritten(bytes)
  }

  private putWritten(bytes: number): void {
    this.ring.put(++this.lastSeq, this.acked, bytes)
    this.unsent += bytes + 1
    this.putBytes += bytes + 1
  }

  /**
   * Envelopes were queued: an idle socket gets them at once (latency: a lone send, an ask, a reply), unless user
   * sends are streaming (then the first of each turn would go alone in its frame); a busy one gets a batch in a
   * microtask, or at once when a full frame waits (see `FRAME_BYTES`).
   */
  private queued(urgent = false): void {
    if (!this.flushScheduled && (!this.streaming || urgent) && this.active?.inflight === 0) this.flush()
    else {
      if (!this.awaitingDrain && (this.lastSeq - this.sent >= this.frameEnvelopes || this.unsent >= FRAME_BYTES)) {
        this.writeData(true)
      }
      this.scheduleFlush()
    }
  }

  scheduleFlush(): void {
    if (this.flushScheduled) return
    this.flushScheduled = true
    queueMicrotask(this.flush)
  }

  /** Writes what is pending on the active connection: data frames (with the ack), or an ack frame. */
  flush = (): void => {
    this.flushScheduled = false
    const connection = this.active
    if (connection === undefined || connection.state !== "open" || this.down) return
    if (this.sent < this.lastSeq) this.writeData(false)
    if (this.consumed > this.ackSent) {
      this.ackSent = this.consumed
      connection.write(Frame.encode({ type: "ack", ack: this.acknowledge() }))
    }
  }

  /**
   * Writes `data` frames of what is not sent yet while the socket has room: all of it, or (`full`) only full
   * frames, the rest waiting for the microtask.
   */
  private writeData(full: boolean): void {
    const connection = this.active
    if (connection === undefined || connection.state !== "open" || this.down) return
    if (connection.wire.bufferedAmount() > HIGH_WATER) {
      this.awaitingDrain = true
      return
    }
    const counters = this.engine.counters
    const budget = Math.min(this.maxEnvelopeBytes, FRAME_BYTES)
    const most = this.frameEnvelopes
    while (this.sent < this.lastSeq) {
      const first = this.sent + 1
      let last = this.sent
      let size = 0
      while (last < this.lastSeq) {
        const bytes = this.ring.size(last + 1) + 1
        if (last >= first && (size + bytes > budget || last - first + 1 >= most)) break
        size += bytes
        last++
      }
      if (full && last === this.lastSeq && last - first + 1 < most && size < budget) return
      this.sent = last
      if (first <= this.written) counters.resent += Math.min(last, this.written) - first + 1
      if (last > this.written) this.written = last
      counters.envelopesOut += last - first + 1
      this.streaming = last > first
      this.ackSent = this.consumed
      const room = connection.wire.headerRoom
      connection.write(this.ring.frame(this.acknowledge(), first, last, size, connection, room), room)
      this.unsent = last === this.lastSeq ? 0 : this.unsent - size
      if (connection.wire.bufferedAmount() > HIGH_WATER) {
        this.awaitingDrain = true
        return
      }
    }
  }

  /** The ack to write now (what the consumer took); the peer may then send up to it plus our window. */
  acknowledge(): number {
    if (this.consumed > this.ackHigh) this.ackHigh = this.consumed
    return this.consumed
  }

  /** A connection now carries the link: everything unacknowledged goes out again on it. */
  attached(connection: Connection): void {
    this.active = connection
    this.sent = this.acked
    this.unsent = 0
    for (let seq = this.acked + 1; seq <= this.lastSeq; seq++) this.unsent += this.ring.size(seq) + 1
    this.awaitingDrain = false
    this.ackSent = 0
    this.scheduleFlush()
  }

  detached(connection: Connection): void {
    if (this.active !== connection) return
    this.active = undefined
    this.wakeIdle()
  }

  wakeIdle(): void {
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const wake of waiters) wake()
  }

  /** A cumulative ack from the peer frees the resend buffer up to `ack`. Returns false if bogus. */
  onAck(ack: number): boolean {
    if (ack <= this.acked) return true
    if (ack > this.lastSeq) return false
    this.ring.free(this.acked + 1, ack)
    this.acked = ack
    if (this.sent < ack) {
      // acknowledged before this connection sent it again (the peer had it): no longer to be sent
      for (let seq = this.sent + 1; seq <= ack; seq++) this.unsent -= this.ring.size(seq) + 1
      this.sent = ack
    }
    this.admission.acked()
    return true
  }

  /**
   * The consumer took envelopes up to `consumed`: acknowledge soon, or in this call once half the peer's window is
   * owed (the other half keeps this node busy while the peer refills; not at the end of the call: a socket read's
   * frames, or a slice of waiting ones, are handed over in one call, and its end was up to a whole window later).
   */
  maybeAck(): void {
    if (this.down || this.consumed <= this.ackSent) return
    const connection = this.active
    if (this.consumed - this.ackSent < Math.max(1, this.peerWindow >> 1)) {
      if (this.ackTimer === undefined) this.ackTimer = setTimeout(this.ackLater, ACK_DELAY_MS)
    } else if (connection?.state === "open") {
      this.ackSent = this.consumed
      connection.write(Frame.encode({ type: "ack", ack: this.acknowledge() }))
    }
  }

  private ackLater = (): void => {
    this.ackTimer = undefined
    if (this.consumed > this.ackSent) this.scheduleFlush()
  }

  /**
   * What the peer has not acknowledged (the resend buffer, then the urgent lane), as JSON: when the link ends,
   * it is lost (the peer may have taken some of it; its ack did not come back).
   */
  unacknowledgedJson(): Array<string> {
    const lost: Array<string> = []
    for (let seq = this.acked + 1; seq <= this.lastSeq; seq++) lost.push(this.ring.jsonOf(seq))
    this.admission.urgentJson(lost)
    return lost
  }

  /**
   * Releases everything: the link is down or the node is stopping. Down from then on in either case: a close that
   * comes after a shutdown released it (a peer's quarantine, 4008) must not declare it down again, reading the
   * unacknowledged envelopes of a ring cleared here (a TypeError thrown from the socket's close handler).
   */
  release(error: NodeUnreachable): void {
    this.down = true
    if (this.ackTimer !== undefined) clearTimeout(this.ackTimer)
    this.ackTimer = undefined
    this.ring.clear()
    this.admission.release(error)
    this.active = undefined
    this.wakeIdle()
  }

  stats(): LinkStats {
    return {
      node: this.peer.node,
      incarnation: this.peer.incarnation,
      connected: this.active?.state === "open",
      unacknowledged: this.unacknowledged,
      waiting: this.admission.waiting,
      received: this.delivered
    }
  }
}
