/**
 * The receiving side of a node: data frames checked against the link's sequence and window, their envelopes
 * handed to the consumer (queued for `receive`, or given to a `receiveWith` receiver in the connection's own
 * callback, with the peer events in the same order), and the acks of what the consumer took.
 */
import { Effect, Exit, Queue, Result, type Scope } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import * as Envelope from "../Envelope.ts"
import type * as Frame from "../Frame.ts"
import type { Incarnation, NodeId } from "../NodeId.ts"
import { type Peer, type PeerEvent, PeerUp } from "../Peer.ts"
import type { Delivery, Receiver } from "../Transport.ts"
import type { Connection } from "./connection.ts"
import type { Engine } from "./engine.ts"
import { scanFrame, type Wide } from "./jsonValues.ts"
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

const NULL = Buffer.from("null")

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
    const self = engine.options.node
    let out: Array<DeliveryImpl> | undefined
    let last: DeliveryImpl | undefined = link.lastQueued
    for (let i = 0; i < envelopes.length; i++) {
      const seq = first + i
      if (seq <= link.delivered) {
        engine.counters.duplicates++
        continue
      }
      link.delivered = seq
      const envelope = envelopes[i]
      let ok = false
      try {
        ok = (i < valid || Envelope.isEnvelope(envelope)) && (envelope as Envelope.Envelope).to.node === self
      } catch {
        ok = false // a pathological value (nesting deep enough to exhaust the stack): rejected below
      }
      if (ok) {
        ;(envelope as { seq?: number }).seq = seq
        const receiver = this.receiver
        if (receiver !== undefined && last === undefined) {
          // acknowledged before the receiver runs, so that what it sends back in the call carries the ack
          link.consumed = seq
          engine.counters.envelopesIn++
          this.handOver(receiver, link.peer, envelope as Envelope.Envelope)
          // the receiver's call took the link down: the rest was not acknowledged, and is lost with the link
          if (link.down) return
        } else {
          const delivery = new DeliveryImpl(link, envelope as Envelope.Envelope, seq)
          ;(out ??= []).push(delivery)
          last = delivery
        }
      } else {
        this.rejectEnvelope(
          connection,
          link,
          seq,
          envelope,
          wide?.find((w) => w.index === i)
        )
        // the consumer never sees it; acknowledge it together with the delivery before it
        if (last !== undefined) last.ackTo = seq
        else link.consumed = seq
      }
    }
    if (out !== undefined) {
      engine.counters.envelopesIn += out.length
      link.lastQueued = last
      Queue.offerAllUnsafe(this.queue, out)
    }
    link.maybeAck()
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
          if (this.receiver === receiver) this.receiver = undefined
        })
    )
  }

  /**
   * A frame's bytes that may hold more values than `maxEnvelopeValues` allows an envelope, counted before they are
   * parsed: undefined (refused with a `bad-frame` error) when the frame's own values exceed it, else the bytes to
   * parse, each envelope over the limit replaced by `null` (refused with a `bad-envelope` error when its turn
   * comes in `onData`, and acknowledged: the rest of the frame is delivered and the link goes on).
   */
  checkValues(
    connection: Connection,
    data: Buffer
  ): { readonly data: Buffer; readonly wide: ReadonlyArray<Wide> | undefined } | undefined {
    const limit = this.engine.options.maxEnvelopeValues
    const scan = scanFrame(data, limit)
    if (scan.rest > limit) {
      this.engine.badFrame(connection, "bad-frame", "", `a frame of ${scan.rest} JSON values; at most ${limit}`)
      return undefined
    }
    if (scan.wide.length === 0) return { data, wide: undefined }
    const pieces: Array<Uint8Array> = []
    let at = 0
    for (const w of scan.wide) {
      pieces.push(data.subarray(at, w.start), NULL)
      at = w.end
    }
    pieces.push(data.subarray(at))
    return { data: Buffer.concat(pieces), wide: scan.wide }
  }

  private rejectEnvelope(connection: Connection, link: Link, seq: number, value: unknown, wide?: Wide): void {
    const engine = this.engine
    let problem: Envelope.Problem
    if (wide !== undefined) {
      const limit = engine.options.maxEnvelopeValues
      problem = {
        field: "payload",
        message:
          `${wide.values} JSON values exceed this node's limit of ${limit} per envelope (maxEnvelopeValues); ` +
          "the envelope was not parsed: send the data in parts, or give every node the same maxEnvelopeValues"
      }
      engine.badFrame(connection, "bad-envelope", problem.field, problem.message, seq, link.peer.node)
      return
    }
    try {
      const decoded = Envelope.decode(value)
      problem = Result.isFailure(decoded)
        ? decoded.failure
        : { field: "to.node", message: `addressed to node ${decoded.success.to.node}, not ${engine.options.node}` }
    } catch (error) {
      problem = { field: "", message: `undecodable envelope: ${String(error)}` }
    }
    const code =
      problem.field === "to.node" && problem.message.startsWith("addressed") ? "misaddressed" : "bad-envelope"
    engine.badFrame(connection, code, problem.field, problem.message, seq, link.peer.node)
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
