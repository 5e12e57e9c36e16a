/**
 * The receiving side of a node: data frames checked against the link's sequence and window, their envelopes
 * handed to the consumer (queued for `receive`, or given to a `receiveWith` receiver in the connection's own
 * callback, with the peer events in the same order), and the acks of what the consumer took.
 *
 * A receiver's work is bounded per loop turn (see `inboundSlices.ts`): once a turn's time for it is spent, the rest
 * of the frame, and every frame and peer event after it, waits for the next turns, in the order they came. A waiting
 * envelope is not acknowledged until handed over: the sender's window bounds what waits.
 */
import { Effect, Exit, Queue, type Scope } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import * as Envelope from "../Envelope.ts"
import type * as Frame from "../Frame.ts"
import type { Incarnation, NodeId } from "../NodeId.ts"
import { type Peer, type PeerEvent, PeerUp } from "../Peer.ts"
import type { Delivery, Receiver } from "../Transport.ts"
import type { Connection } from "./connection.ts"
import type { Engine } from "./engine.ts"
import { checkValues, rejection } from "./inboundChecks.ts"
import { Part, Slices } from "./inboundSlices.ts"
import type { Wide } from "./jsonValues.ts"
import type { Link } from "./link.ts"

/** An envelope queued for `receive`, with the link it came on. */
export class DeliveryImpl implements Delivery {
  readonly from: NodeId
  readonly incarnation: Incarnation
  readonly envelope: Envelope.Envelope
  readonly link: Link
  /** The sequence number this delivery acknowledges once taken (covers rejected envelopes after it). */
  ackTo: number
  constructor(link: Link, envelope: Envelope.Envelope, seq: number) {
    this.from = link.peer.node
    this.incarnation = link.peer.incarnation
    this.envelope = envelope
    this.link = link
    this.ackTo = seq
  }
}

export class Inbound {
  readonly engine: Engine
  /** What arrived while no receiver is registered, for `receive`. */
  readonly queue: Queue.Queue<DeliveryImpl>

  constructor(engine: Engine, queue: Queue.Queue<DeliveryImpl>) {
    this.engine = engine
    this.queue = queue
  }

  /** Takes every envelope queued, waiting for one (`Service.receive`). */
  readonly receive: Effect.Effect<NonEmptyReadonlyArray<Delivery>> = Effect.suspend(() =>
    Effect.map(Queue.takeAll(this.queue), (batch): NonEmptyReadonlyArray<Delivery> => {
      this.consumed(batch)
      return batch
    })
  )

  /**
   * A data frame on `link`: in sequence and within the window, or the connection is closed with 1002. Its first
   * `valid` envelopes are valid envelopes for sure (the connection's decoder says so): they are not checked again.
   */
  onData(
    connection: Connection,
    link: Link,
    frame: Frame.Data,
    valid = 0,
    wide: ReadonlyArray<Wide> | undefined = undefined
  ): void {
    const engine = this.engine
    const envelopes = frame.envelopes
    const first = frame.first
    if (first > link.delivered + 1) {
      engine.protocolError(connection, `sequence gap: expected ${link.delivered + 1}, got ${first}`)
      return
    }
    const lastSeq = first + envelopes.length - 1
    if (lastSeq > link.ackHigh + engine.options.capacity) {
      engine.protocolError(
        connection,
        `envelope ${lastSeq} is beyond the window: ${engine.options.capacity} after the last ack (${link.ackHigh})`
      )
      return
    }
    // the ack first: the room it frees in the window is there for what a receiver sends back in its call
    if (!link.onAck(frame.ack)) {
      engine.protocolError(connection, `ack ${frame.ack} of an envelope never sent`)
      return
    }
    if (link.down) return // a sender resumed by the ack took the link down
    // envelopes at or below the last delivered were delivered already (a resend after a reconnect)
    const next = link.delivered + 1 - first
    if (next > 0) engine.counters.duplicates += Math.min(next, envelopes.length)
    if (next < envelopes.length) {
      link.delivered = lastSeq
      const receiver = this.receiver
      if (receiver === undefined || link.lastQueued !== undefined)
        this.enqueue(new Part(connection, link, frame, valid, wide, next))
      else if (this.slices.busy) this.slices.wait(new Part(connection, link, frame, valid, wide, next))
      else {
        // handed over from the frame itself: a part of it is made only if this turn's slice runs out first
        const left = this.handOverFrom(receiver, connection, link, envelopes, first, valid, wide, next)
        if (left < envelopes.length) this.slices.wait(new Part(connection, link, frame, valid, wide, left))
      }
    }
    link.maybeAck()
  }

  /** Whether `envelope` is a valid envelope for this node (`vouched`: the decoder says it is a valid envelope). */
  private accepts(envelope: unknown, vouched: boolean): boolean {
    try {
      return (
        (vouched || Envelope.isEnvelope(envelope)) &&
        (envelope as Envelope.Envelope).to.node === this.engine.options.node
      )
    } catch {
      return false // a pathological value (nesting deep enough to exhaust the stack): rejected
    }
  }

  /** Queues what is left of `part` for `receive`. */
  private enqueue(part: Part): void {
    const { link, envelopes, first } = part
    let out: Array<DeliveryImpl> | undefined
    let last: DeliveryImpl | undefined = link.lastQueued
    for (let i = part.next; i < envelopes.length; i++) {
      const seq = first + i
      if (this.accepts(envelopes[i], i < part.valid)) {
        const envelope = envelopes[i] as Envelope.Envelope
        ;(envelope as { seq?: number }).seq = seq
        const delivery = new DeliveryImpl(link, envelope, seq)
        ;(out ??= []).push(delivery)
        last = delivery
      } else {
        this.reject(part.connection, link, first, envelopes, part.wide, i)
        // the consumer never sees it; acknowledge it together with the delivery before it
        if (last !== undefined) last.ackTo = seq
        else link.consumed = seq
      }
    }
    part.next = envelopes.length
    if (out !== undefined) {
      this.engine.counters.envelopesIn += out.length
      link.lastQueued = last
      Queue.offerAllUnsafe(this.queue, out)
    }
  }

  /**
   * Hands the envelopes of a frame from `from` to `receiver`, each acknowledged before the receiver runs (what it
   * sends back in the call carries the ack); returns where it stopped: `envelopes.length` once all went (or the
   * receiver's call took the link down), else the first envelope left when this loop turn's `SLICE_MS` ran
   * out. The decoder vouched for the first `valid` envelopes.
   */
  private handOverFrom(
    receiver: Receiver,
    connection: Connection,
    link: Link,
    envelopes: ReadonlyArray<unknown>,
    first: number,
    valid: number,
    wide: ReadonlyArray<Wide> | undefined,
    from: number
  ): number {
    const engine = this.engine
    const wasDown = link.down
    for (let i = from; i < envelopes.length; i++) {
      if (this.slices.spent()) return i
      const seq = first + i
      if (this.accepts(envelopes[i], i < valid)) {
        const envelope = envelopes[i] as Envelope.Envelope
        ;(envelope as { seq?: number }).seq = seq
        link.consumed = seq
        engine.counters.envelopesIn++
        this.handOver(receiver, link.peer, envelope)
        // the receiver's call took the link down: the rest was not acknowledged, and is lost with the link
        if (link.down && !wasDown) break
      } else {
        this.reject(connection, link, first, envelopes, wide, i)
        link.consumed = seq // the receiver never sees it: acknowledged
      }
    }
    return envelopes.length
  }

  private reject(
    connection: Connection,
    link: Link,
    first: number,
    envelopes: ReadonlyArray<unknown>,
    wide: ReadonlyArray<Wide> | undefined,
    i: number
  ): void {
    const seq = first + i
    const { code, problem } = rejection(
      this.engine,
      envelopes[i],
      wide?.find((w) => w.index === i)
    )
    this.engine.badFrame(connection, code, problem.field, problem.message, seq, link.peer.node)
  }

  /** The turn's clock and what waits for the next turns (see `inboundSlices.ts`). */
  private readonly slices = new Slices((item) => this.runWaiting(item))

  /** Runs what waited for this turn: false when the turn's time ran out in it (see {@link Slices}). */
  private runWaiting(item: Part | PeerEvent): boolean {
    const receiver = this.receiver
    if (item instanceof Part) {
      if (receiver === undefined) this.enqueue(item)
      else {
        const { connection, link, envelopes, first, valid, wide } = item
        item.next = this.handOverFrom(receiver, connection, link, envelopes, first, valid, wide, item.next)
        if (item.next < envelopes.length) return false
      }
      item.link.maybeAck()
    } else if (receiver !== undefined) this.tell(receiver, item)
    return true
  }

  /** The consumer envelopes are handed to as they arrive (`Service.receiveWith`); none: they are queued. */
  private receiver: Receiver | undefined = undefined

  private handOver(receiver: Receiver, peer: Peer, envelope: Envelope.Envelope): void {
    try {
      receiver.deliver(peer, envelope)
    } catch (defect) {
      this.engine.log("Error", "the receiver failed", { peer: peer.node, detail: String(defect) })
    }
  }

  /** Tells the receiver of a peer event (before the engine publishes it), in order with its deliveries. */
  notify(event: PeerEvent): void {
    const receiver = this.receiver
    if (receiver === undefined) return
    if (this.slices.busy)
      this.slices.wait(event) // after the envelopes that came before it
    else this.tell(receiver, event)
  }

  private tell(receiver: Receiver, event: PeerEvent): void {
    try {
      receiver.peer(event)
    } catch (defect) {
      this.engine.log("Error", "the receiver failed", { peer: event.node, detail: String(defect) })
    }
  }

  /**
   * The last receiver's `lost`, kept after its scope closed: what this transport's own shutdown (after the
   * runtime's) loses is still told to the runtime that sent it.
   */
  private lostTo: Receiver["lost"] = undefined

  /** Tells the receiver of what a link that ended had not had acknowledged (JSON envelopes, parsed here). */
  lost(peer: Peer, json: ReadonlyArray<string>): void {
    const lostTo = this.lostTo
    if (lostTo === undefined || json.length === 0) return
    try {
      lostTo(
        peer,
        json.map((text) => JSON.parse(text) as Envelope.Envelope)
      )
    } catch (defect) {
      this.engine.log("Error", "the receiver failed", { peer: peer.node, detail: String(defect) })
    }
  }

  /** Registers the receiver: it hears of the live peers, then takes what is queued, then all as it arrives. */
  receiveWith(receiver: Receiver): Effect.Effect<void, never, Scope.Scope> {
    return Effect.acquireRelease(
      Effect.suspend(() => {
        if (this.receiver !== undefined) return Effect.die(new Error("the transport's receiver is registered already"))
        this.receiver = receiver
        this.lostTo = receiver.lost
        for (const link of this.engine.links.values()) this.notify(new PeerUp(link.peer))
        const queued: Array<DeliveryImpl> = []
        for (let taken = Queue.takeUnsafe(this.queue); taken !== undefined && Exit.isSuccess(taken); ) {
          queued.push(taken.value)
          taken = Queue.takeUnsafe(this.queue)
        }
        this.consumed(queued)
        for (const delivery of queued) this.handOver(receiver, delivery.link.peer, delivery.envelope)
        return Effect.void
      }),
      () =>
        Effect.sync(() => {
          if (this.receiver !== receiver) return
          this.receiver = undefined
          this.slices.turnEnded() // what waits for it is queued for `receive` (peer events are not)
        })
    )
  }

  /** A frame's bytes that may hold too many values, counted before they are parsed (see `inboundChecks.ts`). */
  checkValues(
    connection: Connection,
    data: Buffer
  ): { readonly data: Buffer; readonly wide: ReadonlyArray<Wide> | undefined } | undefined {
    return checkValues(this.engine, connection, data)
  }

  /** The consumer took a batch: advance each link's consumed mark and acknowledge. */
  private consumed(batch: ReadonlyArray<Delivery>): void {
    let single: Link | undefined
    let several: Set<Link> | undefined
    for (let i = 0; i < batch.length; i++) {
      const delivery = batch[i] as DeliveryImpl
      const link = delivery.link
      if (delivery.ackTo > link.consumed) link.consumed = delivery.ackTo
      if (link.lastQueued === delivery) link.lastQueued = undefined
      if (single === undefined) single = link
      else if (single !== link) {
        several ??= new Set([single])
        several.add(link)
      }
    }
    if (several !== undefined) for (const link of several) link.maybeAck()
    else single?.maybeAck()
  }
}
