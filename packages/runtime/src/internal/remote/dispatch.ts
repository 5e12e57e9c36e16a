/**
 * The receiving side of remoting: every envelope the transport hands over is dispatched at once and never
 * waits. Actor messages are decoded with their recipient's protocol and put in its mailbox; one whose
 * recipient's mailbox is full is parked in order with the recipient's waiting senders (see `flow.ts`).
 * Replies, cancellations and other system messages are handled on the spot. What a link delivered is
 * dispatched even if its node has gone meanwhile (a graceful shutdown loses nothing the link acknowledged).
 */
import type { Peer, Envelope as WireEnvelope } from "@troupe/transport"
import { Cause, Effect, Exit, Schema } from "effect"
import * as ActorRefs from "../../ActorRef.ts"
import { MailboxFull } from "../../Mailbox.ts"
import * as Protocol from "../../Protocol.ts"
import { Envelope, lend, settle } from "../cell/envelope.ts"
import type { ActorCell } from "../cell.ts"
import type { Directory } from "../directory.ts"
import { PeerLogWindow } from "../peerLogWindow.ts"
import type { Remoting } from "../remoting.ts"
import {
  type Codec,
  codecOf,
  decodeReason,
  decodeSystemMessage,
  describe,
  encodeWith,
  LookupRequest,
  type LookupResult,
  RemoteAskError,
  SYSTEM_PATH,
  spanOf,
  UnknownProtocol
} from "./codec.ts"
import { RemoteReply } from "./replies.ts"

const tagOf = (payload: unknown): string => String((payload as { _tag?: unknown } | null)?._tag ?? "?")

export class Dispatcher {
  private readonly remoting: Remoting
  /** The protocol of the last recipient, and its codec. */
  private protocol: Protocol.Any | undefined = undefined
  private codec: Codec | undefined = undefined
  /** The last recipient, while it lives (see `recipient`). */
  private last: ActorCell | undefined = undefined
  invalidMessages = 0
  /** Warnings about messages that did not decode: at most one a second per peer (a peer cannot flood the log). */
  private readonly invalidLog = new PeerLogWindow()
  constructor(remoting: Remoting) {
    this.remoting = remoting
  }

  /** Dispatches one envelope from another node, at once (the transport calls it as the envelope arrives). */
  readonly dispatch = (peer: Peer.Peer, envelope: WireEnvelope.Envelope): void => {
    try {
      switch (envelope.kind) {
        case "tell":
        case "ask":
          this.deliver(peer, envelope)
          return
        case "reply":
          this.remoting.asks.replied(peer.node, envelope.correlationId, envelope.payload)
          return
        case "system":
          this.receiveSystem(peer, envelope.payload)
          return
      }
    } catch (defect) {
      this.remoting.system.logDefect(`${peer.node}${envelope.to.path}`, Cause.die(defect))
    }
  }

  private invalid(
    peer: Peer.Peer,
    recipient: string,
    tag: string,
    issue: string,
    correlationId: string | undefined
  ): void {
    this.invalidMessages++
    const system = this.remoting.system
    const earlier = this.invalidLog.admit(peer.node, Date.now())
    if (earlier !== undefined) {
      system.runBackground(
        Effect.logWarning("A message from another node did not decode").pipe(
          Effect.annotateLogs(
            earlier === 0
              ? { from: peer.node, recipient, tag, issue }
              : { from: peer.node, recipient, tag, issue, earlier }
          )
        )
      )
    }
    if (correlationId !== undefined) {
      this.answer(peer, correlationId, new ActorRefs.InvalidMessage({ recipient, tag, issue }))
    } else {
      system.deadLetter(recipient, { _tag: tag }, "invalid")
    }
  }

  private answer(peer: Peer.Peer, correlationId: string, error: typeof RemoteAskError.Type): void {
    this.remoting.reply(peer, correlationId, { _tag: "Error", error: encodeWith(RemoteAskError, error) })
  }

  private deliver(peer: Peer.Peer, envelope: WireEnvelope.Envelope): void {
    const remoting = this.remoting
    const system = remoting.system
    const path = envelope.to.path
    const correlationId = envelope.kind === "ask" ? envelope.correlationId : undefined
    if (envelope.kind === "ask" && correlationId === undefined) return
    if (path === SYSTEM_PATH && correlationId !== undefined) {
      this.answerLookup(peer, correlationId, envelope.payload)
      return
    }
    const cell = this.recipient(peer, path, envelope.kind)
    if (cell === undefined || cell.isTerminated) {
      const tag = tagOf(envelope.payload)
      if (correlationId !== undefined) {
        this.answer(peer, correlationId, new ActorRefs.RecipientTerminated({ recipient: path, tag }))
      }
      system.deadLetter(path, { _tag: tag }, "terminated")
      return
    }
    if (cell.protocol !== this.protocol) {
      // consecutive messages are usually for the same protocol: its codec is kept at hand
      this.protocol = cell.protocol
      this.codec = codecOf(cell.protocol)
    }
    const decoded = this.codec!.decode(envelope.payload, remoting.resolve)
    if (typeof decoded === "string") {
      this.invalid(peer, path, tagOf(envelope.payload), decoded, correlationId)
      return
    }
    const sender =
      envelope.from === undefined ? undefined : remoting.refs.get(peer, envelope.from.path, UnknownProtocol)
    let reply: RemoteReply | undefined
    if (correlationId !== undefined) {
      const def = Protocol.requestDef(cell.protocol, decoded._tag)
      if (def === undefined) {
        this.invalid(
          peer,
          path,
          decoded._tag,
          `${decoded._tag} is not a request of ${cell.protocol.name}`,
          correlationId
        )
        return
      }
      reply = new RemoteReply(remoting.replies, peer, correlationId, path, decoded._tag, def)
    }
    const local = reply === undefined ? lend(decoded, sender) : new Envelope(decoded, sender, reply)
    if (envelope.traceparent !== undefined) local.span = spanOf(envelope.traceparent)
    if (reply !== undefined) {
      reply.envelope = local
      reply.cell = cell
    }
    if (!cell.deliver(local)) {
      // it does not fit now: parked with the senders waiting for room, unless the peer ignores pauses
      const flow = remoting.flow
      if (flow.mayPark(peer, path)) cell.park(local, flow.park(peer, path))
      else this.refuse(peer, path, local, reply, cell.options.mailbox.capacity)
    }
    settle(local)
    // kept (for a cancel from its caller) only while it waits or runs: a request answered in the call never is
    if (reply?.pending === true) remoting.replies.add(reply)
  }

  /**
   * The live actor at `path`, if `peer` may reach it (an actor it may not reach is answered as if it were not
   * there). The last one found is kept while it lives, if the policy names its path: consecutive messages are
   * usually for the same actor.
   */
  private recipient(peer: Peer.Peer, path: string, kind: string): ActorCell | undefined {
    const last = this.last
    if (last !== undefined && last.path === path && !last.isTerminated) return last
    const { access, system } = this.remoting
    const cell = access.mayReach(peer.node, path, kind) ? system.registry.get(path) : undefined
    this.last = cell !== undefined && !cell.isTerminated && access.reachesByPolicy(path) ? cell : undefined
    return cell
  }

  /** Refuses a message parked past the limit: a counted dead letter, and `MailboxFull` for a request. */
  private refuse(
    peer: Peer.Peer,
    path: string,
    local: Envelope,
    reply: RemoteReply | undefined,
    capacity: number
  ): void {
    const tag = local.message._tag
    if (reply !== undefined) {
      reply.done = true
      this.remoting.replies.forget(reply)
      this.answer(peer, reply.id, new MailboxFull({ recipient: path, capacity, tag }))
    }
    this.remoting.system.deadLetter(path, local.message, "overflow")
  }

  private answerLookup(peer: Peer.Peer, correlationId: string, payload: unknown): void {
    const exit = Schema.decodeUnknownExit(LookupRequest)(payload)
    if (Exit.isFailure(exit)) {
      this.invalid(peer, SYSTEM_PATH, "Lookup", describe(Cause.squash(exit.cause)), correlationId)
      return
    }
    const { system, access } = this.remoting
    const path = exit.value.path
    const cell = access.mayReach(peer.node, path, "lookup") ? system.registry.get(path) : undefined
    const result: typeof LookupResult.Type =
      cell === undefined || cell.isTerminated
        ? "no-actor"
        : cell.protocol.name === exit.value.protocol
          ? "found"
          : "protocol-mismatch"
    this.remoting.reply(peer, correlationId, { _tag: "Success", value: result })
  }

  private receiveSystem(peer: Peer.Peer, payload: unknown): void {
    const exit = decodeSystemMessage(payload)
    if (Exit.isFailure(exit)) {
      this.invalid(peer, SYSTEM_PATH, "system", describe(Cause.squash(exit.cause)), undefined)
      return
    }
    const { system, access, watches, flow } = this.remoting
    const message = exit.value
    switch (message.type) {
      case "watch": {
        const reachable = access.mayReach(peer.node, message.path, "watch")
        watches.watchedFrom(peer, message.path, reachable ? system.registry.get(message.path) : undefined)
        return
      }
      case "unwatch":
        watches.unwatchedFrom(peer, message.path)
        return
      case "terminated":
        watches.terminated(peer.node, message.path, decodeReason(message.reason))
        return
      case "cancel":
        this.remoting.replies.cancel(peer.node, message.correlationId)
        return
      case "pause":
        flow.pause(peer.node, message.path)
        return
      case "resume":
        flow.resume(peer.node, message.path)
        return
      case "directory":
        if (message.op === "remove") this.directory(message.directory).removeRemote(peer.node, message.entry)
        else if (access.mayList(peer.node, message.directory, message.entry.name)) {
          this.directory(message.directory).addRemote(peer.node, message.entry)
        }
        return
      case "directory-sync": {
        const directory = this.directory(message.directory)
        directory.removeNode(peer.node)
        for (const entry of message.entries) {
          if (access.mayList(peer.node, message.directory, entry.name)) directory.addRemote(peer.node, entry)
        }
        return
      }
    }
  }

  private directory(name: "receptionist" | "topics"): Directory {
    return name === "receptionist" ? this.remoting.system.receptionist : this.remoting.system.topics
  }
}
