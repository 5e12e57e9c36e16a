/**
 * Asks to actors of other nodes (and lookups): each waits for its reply under its own deadline, which fires in
 * every state (while the send waits for room in the link's window or for a paused recipient too). A caller
 * that gives up tells the other node, which then skips the request or interrupts the work on it.
 */
import { type NodeId, type Peer, type TransportError, Envelope as WireEnvelopes } from "@troupe/transport"
import { Cause, Effect, Exit, type Fiber, type Schema } from "effect"
import type { ActorRef, AskOptions } from "../../ActorRef.ts"
import * as ActorRefs from "../../ActorRef.ts"
import { MailboxFull } from "../../Mailbox.ts"
import * as Protocol from "../../Protocol.ts"
import { AskDeadline, askTimeoutMillis } from "../askDeadline.ts"
import { CurrentActor } from "../cell.ts"
import type { Remoting } from "../remoting.ts"
import {
  decodeWith,
  describe,
  isPlainValue,
  type Json,
  LookupResult,
  type Message,
  RemoteAskError,
  type ReplyPayload,
  SYSTEM_PATH
} from "./codec.ts"
import { IdMap } from "./idMap.ts"
import type { RemoteActorRef } from "./remoteRef.ts"
import * as TellEffect from "./tellEffect.ts"

type RequestDef = Protocol.RequestDef<Schema.Struct.Fields, Schema.Top, Schema.Top>

/** Senders per recipient whose asks have a template (more: made whole; bounded memory per ref). */
const TEMPLATES = 16

/**
 * An ask sent to another node, waiting for its reply; it is its own deadline (no timer, closure or fiber per
 * ask). A lookup has no request definition: its reply is a `LookupResult`.
 */
class Outgoing extends AskDeadline {
  // declared, set in the constructor (no field initializer function per ask: see `AskDeadline`)
  /** The envelope is in the link's resend buffer (so the other node may be working on it). */
  declare sent: boolean
  /** Withdraws the send while it waits (for room in the window, or for a paused recipient). */
  declare withdraw: (() => void) | undefined
  /** The caller's resumption while it waits (see {@link run}). */
  declare private resume: ((effect: Effect.Effect<unknown, unknown>) => void) | undefined
  declare readonly asks: Asks
  declare readonly id: string
  declare readonly peer: Peer.Peer
  /** The recipient (a ref, or the lookup's address), made a string only for an error. */
  declare readonly target: RemoteActorRef<Protocol.Any> | string
  declare readonly tag: string
  declare readonly def: RequestDef | undefined

  constructor(
    asks: Asks,
    id: string,
    peer: Peer.Peer,
    target: RemoteActorRef<Protocol.Any> | string,
    tag: string,
    def: RequestDef | undefined,
    timeoutMillis: number
  ) {
    super(timeoutMillis)
    this.sent = false
    this.withdraw = undefined
    this.resume = undefined
    this.asks = asks
    this.id = id
    this.peer = peer
    this.target = target
    this.tag = tag
    this.def = def
  }

  get recipient(): string {
    return String(this.target)
  }

  /** The deadline passed. */
  fire(): void {
    this.abandon(this.timedOut(this.recipient, this.tag))
  }

  /** What a refused send fails the ask with. */
  refused(error: TransportError.SendError): unknown {
    if (this.def === undefined) return error
    const { recipient, tag } = this
    return error._tag === "ResendBufferFull"
      ? new MailboxFull({ recipient, capacity: error.capacity, tag })
      : error._tag === "InvalidEnvelope"
        ? new ActorRefs.InvalidMessage({ recipient, tag, issue: error.message })
        : error
  }

  /**
   * Ends the ask with `exit`. Its correlation id is let go at once (an ask that ended is never among those waiting,
   * whatever the caller does next), then the caller resumes (in this call: it may send its next ask at once), and
   * the deadline is taken out of the heap after that: the caller's next write waits for no heap work, and the
   * deadline cannot fire in between (nothing else runs in this call; a deadline of an ask that is done is ignored).
   */
  complete(exit: Exit.Exit<unknown, unknown>): void {
    if (this.done) return
    this.done = true
    this.asks.forget(this)
    const withdraw = this.withdraw
    this.withdraw = undefined
    withdraw?.()
    try {
      // set before anything can end the ask: it is registered only in `run`, which sets it first
      this.resume?.(exit)
    } finally {
      this.asks.remoting.system.deadlines.cancel(this)
    }
  }

  /** The caller gave up (timeout or interruption): tell the other node to stop the work. */
  abandon(exit: Exit.Exit<unknown, unknown>): void {
    if (this.done) return
    const sent = this.sent
    this.complete(exit)
    if (sent) this.asks.remoting.sendSystem(this.peer, { type: "cancel", correlationId: this.id })
  }

  /**
   * Sends `envelope` (now, or once the recipient at its path resumes) and waits for the reply. The ask is
   * registered (its correlation id, its deadline) after its frame is written: the reply cannot come before this
   * call returns (this thread reads it), and the peer woken by the write does not wait for this bookkeeping.
   * An ask whose send failed in the call is done, and never registered.
   */
  run(envelope: WireEnvelopes.Envelope): Effect.Effect<unknown, unknown> {
    return Effect.callback<unknown, unknown>((resume) => {
      this.resume = resume
      this.send(envelope)
      if (!this.done) this.asks.register(this)
      // what an interruption runs: one object (a step like Effect.sync's), no closure per ask
      return TellEffect.tell(this, undefined, abandonStep) as Effect.Effect<void>
    })
  }

  /** Puts the envelope on the link now, or once its recipient, paused (its mailbox full), resumes. */
  private send(envelope: WireEnvelopes.Envelope): void {
    if (this.done) return
    const flow = this.asks.remoting.flow
    const node = this.peer.node
    const path = envelope.to.path
    if (!flow.isPaused(node, path)) this.offer(envelope)
    else {
      const held = flow.whenOpen(node, path, () => this.offer(envelope))
      if (held !== undefined) this.withdraw = held
    }
  }

  /** Offers the envelope to the link (no callback made unless it must wait for room in the window). */
  private offer(envelope: WireEnvelopes.Envelope): void {
    if (this.done) return
    this.withdraw = undefined
    const result = this.asks.remoting.transport.offer(this.peer, envelope)
    if (result === undefined) this.sent = true
    else if (typeof result !== "function") this.complete(Exit.fail(this.refused(result)))
    else {
      this.withdraw = result
      result.onDone((error) => {
        this.withdraw = undefined
        if (error === undefined) this.sent = true
        else this.complete(Exit.fail(this.refused(error)))
      })
    }
  }
}

/** The step an interrupted caller runs: the ask is abandoned (see {@link Outgoing.abandon}). */
const abandonStep = (_fiber: Fiber.Fiber<unknown, unknown>, outgoing: Outgoing): undefined => {
  outgoing.abandon(Exit.interrupt())
  return undefined
}

/** An ask's step without options (one function for all asks: no closure per ask). */
const askNow = (fiber: Fiber.Fiber<unknown, unknown>, ref: RemoteActorRef<Protocol.Any>, message: Message) =>
  ref.remoting.asks.start(fiber, ref, message, undefined) as Effect.Effect<void, unknown>

/** Why a lookup failed; `restarted`: the node there restarted before it answered (the new incarnation may). */
type LookupError =
  | "no-actor"
  | "protocol-mismatch"
  | "restarted"
  | TransportError.NodeUnreachable
  | ActorRefs.AskTimeout

/** The asks and lookups this node made to others, waiting for their replies by correlation id. */
export class Asks {
  /** The asks waiting for a reply, by correlation id. */
  private readonly outgoing = new IdMap<Outgoing>()
  private nextId = 0
  /** Templates of asks, per recipient and sender (see {@link template}), and the one used last. */
  private readonly templates = new WeakMap<RemoteActorRef<Protocol.Any>, Map<string, WireEnvelopes.Template>>()
  private lastRef: RemoteActorRef<Protocol.Any> | undefined = undefined
  private lastFrom: string | undefined = undefined
  private lastTemplate: WireEnvelopes.Template | undefined = undefined
  readonly remoting: Remoting
  constructor(remoting: Remoting) {
    this.remoting = remoting
  }

  /** An ask's effect: one step of the caller's fiber that sends the ask and waits (see `tellEffect.ts`). */
  ask(ref: RemoteActorRef<Protocol.Any>, message: Message, options: AskOptions | undefined) {
    return options === undefined
      ? (TellEffect.tell(ref, message, askNow) as Effect.Effect<unknown, unknown>)
      : Effect.withFiber<unknown, unknown>((fiber) => this.start(fiber, ref, message, options))
  }

  /** Sends an ask from the caller running on `fiber`: the effect that waits for its reply (or why it cannot go). */
  start(
    fiber: Fiber.Fiber<unknown, unknown>,
    ref: RemoteActorRef<Protocol.Any>,
    message: Message,
    options: AskOptions | undefined
  ): Effect.Effect<unknown, unknown> {
    const remoting = this.remoting
    const tag = message._tag
    const def = Protocol.requestDef(ref.protocol, tag)
    if (def === undefined)
      return Effect.die(new Error(`Cannot ask ${ref}: ${tag} is not a request of ${ref.protocol.name}`))
    let payload: Json
    try {
      payload = remoting.encodeFor(ref, message)
    } catch (error) {
      return Effect.fail(new ActorRefs.InvalidMessage({ recipient: String(ref), tag, issue: describe(error) }))
    }
    const system = remoting.system
    // the usual ask has no timeout of its own: the system's, with no recipient's name made for an error
    const timeoutMillis =
      options?.timeout === undefined
        ? system.askTimeoutMillis
        : askTimeoutMillis(options.timeout, system.askTimeoutMillis, String(ref), tag)
    if (typeof timeoutMillis !== "number") return Effect.fail(timeoutMillis)
    const outgoing = this.request(ref.peer, ref, tag, def, timeoutMillis)
    const from = fiber.getRef(CurrentActor)?.path
    remoting.access.reveal(ref.peer.node, from)
    const traceparent = remoting.traceparent(fiber)
    // the usual ask: its envelope's JSON made once per recipient and sender but for its payload, id and deadline
    const template = traceparent === undefined ? this.template(ref, from) : undefined
    const envelope =
      template !== undefined
        ? WireEnvelopes.fillRequest(template, payload, outgoing.id, outgoing.at)
        : WireEnvelopes.make({
            kind: "ask",
            to: ref.address,
            from: from === undefined ? undefined : { node: system.node as NodeId.NodeId, path: from },
            correlationId: outgoing.id,
            deadline: outgoing.at,
            traceparent,
            payload
          })
    return outgoing.run(envelope)
  }

  /**
   * The template of asks to `ref` from the actor at `from` (a path of this node; undefined: no actor), or undefined
   * once `TEMPLATES` senders have one for it (their asks are then made whole, as with a trace context).
   */
  private template(ref: RemoteActorRef<Protocol.Any>, from: string | undefined): WireEnvelopes.Template | undefined {
    if (ref === this.lastRef && from === this.lastFrom) return this.lastTemplate
    let byFrom = this.templates.get(ref)
    if (byFrom === undefined) {
      byFrom = new Map()
      this.templates.set(ref, byFrom)
    }
    let template = byFrom.get(from ?? "")
    if (template === undefined) {
      if (byFrom.size >= TEMPLATES) return undefined
      const node = this.remoting.system.node as NodeId.NodeId
      template = WireEnvelopes.requestTemplate({
        kind: "ask",
        to: ref.address,
        from: from === undefined ? undefined : { node, path: from }
      })
      byFrom.set(from ?? "", template)
    }
    this.lastRef = ref
    this.lastFrom = from
    this.lastTemplate = template
    return template
  }

  /** Asks `peer` whether an actor at `path` speaks `protocol`; resolves to a ref when it does. */
  lookup<P extends Protocol.Any>(peer: Peer.Peer, path: string, protocol: P): Effect.Effect<ActorRef<P>, LookupError> {
    return Effect.suspend(() => {
      const target = `${peer.node}${SYSTEM_PATH}`
      const outgoing = this.request(peer, target, "Lookup", undefined, this.remoting.system.askTimeoutMillis)
      const envelope = WireEnvelopes.make({
        kind: "ask",
        to: { node: peer.node, path: SYSTEM_PATH },
        correlationId: outgoing.id,
        payload: { _tag: "Lookup", path, protocol: protocol.name }
      })
      return outgoing.run(envelope)
    }).pipe(
      Effect.flatMap((result) =>
        result === "found"
          ? Effect.succeed(this.remoting.refs.get(peer, path, protocol) as unknown as ActorRef<P>)
          : Effect.fail(result as "no-actor" | "protocol-mismatch" | "restarted")
      )
    ) as Effect.Effect<ActorRef<P>, LookupError>
  }

  /** A request to a peer, its deadline stamped (it is registered by {@link Outgoing.run}, once sent). */
  private request(
    peer: Peer.Peer,
    target: RemoteActorRef<Protocol.Any> | string,
    tag: string,
    def: RequestDef | undefined,
    timeoutMillis: number
  ): Outgoing {
    const outgoing = new Outgoing(this, `${++this.nextId}`, peer, target, tag, def, timeoutMillis)
    outgoing.stamp(this.remoting.system.deadlines)
    return outgoing
  }

  /** The ask was sent (or waits to be): its reply is awaited by correlation id, under its deadline. */
  register(outgoing: Outgoing): void {
    this.outgoing.set(outgoing.id, outgoing)
    this.remoting.system.deadlines.add(outgoing)
  }

  /** The ask ended: no reply is awaited for it any more. */
  forget(outgoing: Outgoing): void {
    this.outgoing.delete(outgoing.id)
  }

  /** A reply arrived from `node`. */
  replied(node: string, correlationId: string | undefined, payload: unknown): void {
    const outgoing = correlationId === undefined ? undefined : this.outgoing.get(correlationId)
    if (outgoing === undefined || outgoing.peer.node !== node) return
    if (outgoing.def !== undefined) {
      outgoing.complete(this.decodeReply(payload, outgoing.def, outgoing))
      return
    }
    const exit = decodeWith(LookupResult, (payload as { value?: unknown } | null)?.value)
    outgoing.complete(Exit.isSuccess(exit) ? exit : Exit.fail("protocol-mismatch"))
  }

  /**
   * The node went down: asks waiting for it fail with `NodeUnreachable`; lookups too, unless the node restarted
   * (a new incarnation replaced the one asked): then they fail with `restarted`, which says to look up again.
   */
  nodeDown(node: string, error: TransportError.NodeUnreachable, restarted: boolean): void {
    for (const outgoing of this.outgoing.values()) {
      if (outgoing.peer.node !== node) continue
      outgoing.complete(Exit.fail(restarted && outgoing.tag === "Lookup" ? "restarted" : error))
    }
  }

  /** Asks waiting for a reply (for tests of leaks). */
  get size(): number {
    return this.outgoing.size
  }

  private decodeReply(payload: unknown, def: RequestDef, outgoing: Outgoing): Exit.Exit<unknown, unknown> {
    const reply = payload as Partial<ReplyPayload> | null
    // the usual reply: a value that is its own decoded form (no refs in it to resolve, no Schema to run)
    if (reply?._tag === "Success" && isPlainValue(def.success, (reply as { value: unknown }).value))
      return Exit.succeed((reply as { value: unknown }).value)
    const invalid = (issue: string) =>
      Exit.fail(new ActorRefs.InvalidMessage({ recipient: outgoing.recipient, tag: `reply to ${outgoing.tag}`, issue }))
    return ActorRefs.withResolver(this.remoting.resolve, () => {
      switch (reply?._tag) {
        case "Success": {
          const exit = decodeWith(def.success, (reply as { value: unknown }).value)
          return Exit.isSuccess(exit) ? exit : invalid(describe(Cause.squash(exit.cause)))
        }
        case "Failure": {
          const exit = decodeWith(def.failure, (reply as { error: unknown }).error)
          return Exit.isSuccess(exit) ? Exit.fail(exit.value) : invalid(describe(Cause.squash(exit.cause)))
        }
        case "Error": {
          const exit = decodeWith(RemoteAskError, (reply as { error: unknown }).error)
          return Exit.isSuccess(exit) ? Exit.fail(exit.value) : invalid(describe(Cause.squash(exit.cause)))
        }
        default:
          return invalid("not a reply")
      }
    })
  }
}
