/**
 * What gets into a link's resend buffer, and when: an urgent envelope (a reply or a system message) goes in at once
 * while the window has room, else on the urgent lane, ahead of every user send waiting; a user send goes in while
 * nothing waits before it and the window has room, else it waits in line (see `waiter.ts`). An ack that frees room
 * lets in the urgent lane first, then the waiting sends in order, a frame's worth per loop turn (see {@link Admission.admit}).
 */
import type * as Envelope from "../Envelope.ts"
import type { Waiting } from "../Transport.ts"
import type { NodeUnreachable, SendError } from "../TransportError.ts"
import type { Link } from "./link.ts"
import { FRAME_BYTES, URGENT_LIMIT } from "./linkLimits.ts"
import { type Waiter, WaitLine } from "./waiter.ts"

/**
 * A link's admission: its urgent lane and its line of waiting user sends.
 *
 * @example
 * ```ts
 * const admission = new Admission(link)
 * if (admission.hasRoom()) link.push(json, bytes, template)
 * else admission.wait(json, bytes, template, (error) => console.log(error ?? "in the buffer"))
 * ```
 */
export class Admission {
  private readonly link: Link
  /**
   * Urgent envelopes waiting for room in the window: they go before any waiting user send. Undefined while none
   * waits (every send asks: a test for undefined does not depend on the array's shape, which changes with its first
   * element; V8 would throw away the send path's optimized code then).
   */
  private urgent: Array<Pick<Waiter, "json" | "bytes">> | undefined = undefined
  /** User sends waiting for room in the window. */
  private readonly waiters = new WaitLine()
  /** A waiter let in is being told (see `admit`): its sender, resumed in that call, sends on while there is room. */
  private resuming = false
  /** The link's sequence and bytes when this loop turn's first admission began (see `admit`); -1 between turns. */
  private turnSeq = -1
  private turnBytes = 0
  private readonly endTurn = (): void => {
    this.turnSeq = -1
  }

  constructor(link: Link) {
    this.link = link
  }

  /** Whether a user send goes into the resend buffer now: nothing waits before it, and the window has room. */
  hasRoom(): boolean {
    return this.urgent === undefined && (this.resuming || this.waiters.length === 0) && this.link.roomy()
  }

  /**
   * Puts an urgent envelope in the resend buffer, or in the urgent queue while the window is full. `json` is its JSON,
   * or a templated envelope's payload's (and what follows it: see `Envelope.afterPayload`) with `template` around it,
   * written into the buffer as is (made one string only if it must wait).
   */
  pushUrgent(json: string, bytes: number, template: Envelope.Template | undefined): void {
    const urgent = this.urgent
    const link = this.link
    if (urgent === undefined && link.roomy()) link.pushAhead(json, bytes, template)
    else if (urgent !== undefined && urgent.length >= URGENT_LIMIT * link.capacity) {
      // a peer that acknowledges nothing while this much waits for it is not consuming: bounded state per peer
      link.engine.peers.declareDown(
        link,
        "unreachable",
        `it acknowledged nothing while ${urgent.length} replies and system messages waited for its window`
      )
    } else {
      const waiting = { json: template === undefined ? json : template.head + json + template.tail, bytes }
      if (urgent === undefined) this.urgent = [waiting]
      else urgent.push(waiting)
    }
  }

  /** A user send waits for room; returns what withdraws it. */
  wait(
    json: string,
    bytes: number,
    template: Envelope.Template | undefined,
    done: ((error: SendError | undefined) => void) | undefined
  ): Waiting {
    return this.waiters.add(json, bytes, template, done)
  }

  /** Envelopes waiting: urgent ones and user sends. */
  get waiting(): number {
    return this.waiters.length + (this.urgent?.length ?? 0)
  }

  /** The ack freed room in the window: lets in what waits for it, if anything does. */
  acked(): void {
    if (this.urgent !== undefined || this.waiters.length > 0) this.admit()
  }

  /**
   * Lets in what waits for room: urgent envelopes first, then user sends in order, one at a time: a sender let in
   * is told at once (resumed, it runs inside `done`) and sends on while there is room, ahead of those behind it
   * (`resuming`); the next is let in only if room is left. Woken all at once, each sender past the first few
   * would find the window full again and wait again: a suspension per sender per ack, for one message each.
   * Once a frame's worth went into the buffer in this loop turn, the rest are let in on the next one
   * (`WaitLine.later`): many senders would otherwise refill the whole room an ack freed inside the ack's callback
   * (4,096 tells at once with 100 producers, against one producer's share of its fiber's turn with one), and
   * this node would read nothing (acks, the peer's sends) meanwhile. The acks of one turn count together (two read
   * in one socket read let in one frame's worth, not two, whether the first filled the frame or the room it freed
   * ran out first); an ack while the next turn is scheduled lets in only the urgent lane.
   */
  private admit(): void {
    if (this.resuming) return // an ack in a resumed sender's turn: the loop below lets in what it has room for
    const link = this.link
    if (this.turnSeq < 0) {
      this.turnSeq = link.lastSeq
      this.turnBytes = link.putBytes
      setImmediate(this.endTurn)
    }
    const from = this.turnSeq
    const fromBytes = this.turnBytes
    while (link.roomy()) {
      if (this.urgent !== undefined) {
        this.admitUrgent(this.urgent)
        continue
      }
      if (this.waiters.length === 0 || this.waiters.scheduled) break // (a turn of its own lets the line in)
      if (link.lastSeq - from >= link.frameEnvelopes || link.putBytes - fromBytes >= FRAME_BYTES) {
        this.waiters.later(this.admitTurn)
        break
      }
      const waiter = this.waiters.next()!
      if (waiter.cancelled) continue
      link.enqueue(waiter.json, waiter.bytes, waiter.template)
      this.resuming = true
      try {
        waiter.done(undefined)
      } finally {
        this.resuming = false
      }
    }
    link.admitted()
  }

  /** The next loop turn's part of `admit` (see `WaitLine.later`). */
  private readonly admitTurn = (): void => {
    if (!this.link.down && (this.urgent !== undefined || this.waiters.length > 0)) this.admit()
  }

  /** Puts in the resend buffer the urgent envelopes the window has room for. */
  private admitUrgent(urgent: Array<Pick<Waiter, "json" | "bytes">>): void {
    const link = this.link
    let n = 0
    while (n < urgent.length && link.roomy()) {
      link.enqueue(urgent[n]!.json, urgent[n]!.bytes, undefined)
      n++
    }
    this.urgent = n === urgent.length ? undefined : urgent.slice(n)
  }

  /** The urgent envelopes waiting, as JSON (after the resend buffer's: see `Link.unacknowledgedJson`). */
  urgentJson(into: Array<string>): void {
    for (const waiting of this.urgent ?? []) into.push(waiting.json)
  }

  /** Drops the urgent lane and fails the waiting sends: the link is down or the node is stopping. */
  release(error: NodeUnreachable): void {
    this.urgent = undefined
    this.waiters.fail(error)
  }
}
