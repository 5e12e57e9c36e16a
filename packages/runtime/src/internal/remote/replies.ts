/**
 * Requests from other nodes being handled here: the reply path of each, kept until it is answered, skipped or
 * cancelled by its caller. A reply goes on the link's urgent lane: it never blocks the actor that answers.
 */
import { type NodeId, type Peer, Envelope as WireEnvelopes } from "@troupe/transport"
import { Cause, Exit, Schema } from "effect"
import * as ActorRefs from "../../ActorRef.ts"
import type * as Protocol from "../../Protocol.ts"
import type { ActorCell, Envelope, ReplyTo } from "../cell.ts"
import type { Remoting } from "../remoting.ts"
import { describe, encodeWith, RemoteAskError, type ReplyPayload, SYSTEM_PATH } from "./codec.ts"
import { IdMap } from "./idMap.ts"

/** The reply path of a request that came from another node. */
export class RemoteReply implements ReplyTo {
  // declared, set in the constructor (no field initializer function per request: see `AskDeadline`)
  declare done: boolean
  declare private finished: boolean
  declare private readonly replies: Replies
  declare readonly peer: Peer.Peer
  declare readonly id: string
  declare private readonly recipient: string
  declare private readonly tag: string
  declare private readonly def: Protocol.RequestDef<Schema.Struct.Fields, Schema.Top, Schema.Top>
  declare envelope: Envelope | undefined
  declare cell: ActorCell | undefined

  constructor(
    replies: Replies,
    peer: Peer.Peer,
    id: string,
    recipient: string,
    tag: string,
    def: Protocol.RequestDef<Schema.Struct.Fields, Schema.Top, Schema.Top>
  ) {
    this.done = false
    this.finished = false
    this.replies = replies
    this.peer = peer
    this.id = id
    this.recipient = recipient
    this.tag = tag
    this.def = def
    this.envelope = undefined
    this.cell = undefined
  }

  /** Neither answered nor given up yet. */
  get pending(): boolean {
    return !this.done && !this.finished
  }

  /**
   * Sends the reply (never waits: the urgent lane); the request is let go after the write (a cancel from its
   * caller that comes later finds it finished), so the caller woken by the write waits for no bookkeeping.
   */
  complete(exit: Exit.Exit<unknown, unknown>): undefined {
    if (this.finished) return undefined
    this.finished = true
    if (this.done || (Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause))) {
      this.replies.forget(this)
      return undefined
    }
    const remoting = this.replies.remoting
    try {
      // refs of this node's actors in the reply are revealed to its node (when the policy does not let all be reached)
      const payload = remoting.access.tracksReveals
        ? ActorRefs.withRevealer(remoting.access.revealer(this.peer.node), () => this.encodeExit(exit))
        : this.encodeExit(exit)
      const refused = remoting.reply(this.peer, this.id, payload)
      // a reply the wire refuses (too big, not JSON) is answered with why
      if (refused !== undefined) {
        remoting.reply(this.peer, this.id, this.failed(`the reply could not be sent: ${refused}`))
      }
    } finally {
      this.replies.forget(this)
    }
    return undefined
  }

  /** The caller is gone: skip the request or interrupt the work on it; nothing is kept for it. */
  cancel(): void {
    if (this.done) return
    this.done = true
    this.finished = true
    this.replies.forget(this)
    if (this.cell !== undefined && this.envelope !== undefined) this.cell.cancel(this.envelope)
  }

  private encodeExit(exit: Exit.Exit<unknown, unknown>): ReplyPayload {
    try {
      if (Exit.isSuccess(exit)) {
        const value = encodeWith(this.def.success, exit.value)
        // a void reply has no value: leave the key out (undefined is not JSON)
        return value === undefined ? ({ _tag: "Success" } as ReplyPayload) : { _tag: "Success", value }
      }
      const error = Cause.squash(exit.cause)
      if (this.def.failure !== Schema.Never && Schema.is(this.def.failure as Schema.Top)(error)) {
        return { _tag: "Failure", error: encodeWith(this.def.failure, error) }
      }
      if (Schema.is(RemoteAskError)(error)) return { _tag: "Error", error: encodeWith(RemoteAskError, error) }
      return this.failed(describe(error))
    } catch (defect) {
      return this.failed(`the reply could not be encoded: ${describe(defect)}`)
    }
  }

  private failed(cause: string): ReplyPayload {
    const error = new ActorRefs.RequestFailed({ recipient: this.recipient, tag: this.tag, cause })
    return { _tag: "Error", error: encodeWith(RemoteAskError, error) }
  }
}

/** The requests from other nodes being handled here, by node and correlation id. */
export class Replies {
  private readonly byNode = new Map<string, IdMap<RemoteReply>>()
  /** The template of replies to each node (see {@link template}). */
  private readonly templates = new Map<string, WireEnvelopes.Template>()
  readonly remoting: Remoting
  constructor(remoting: Remoting) {
    this.remoting = remoting
  }

  add(reply: RemoteReply): void {
    let byId = this.byNode.get(reply.peer.node)
    if (byId === undefined) {
      byId = new IdMap()
      this.byNode.set(reply.peer.node, byId)
    }
    byId.set(reply.id, reply)
  }

  /**
   * The request was answered or given up. Its node's table is kept while the node is up, empty or not (bounded by
   * the live peers; {@link nodeDown} drops it): a caller that asks one request at a time would otherwise cost a new
   * table per request.
   */
  forget(reply: RemoteReply): void {
    const byId = this.byNode.get(reply.peer.node)
    if (byId?.get(reply.id) !== reply) return
    byId.delete(reply.id)
  }

  /** The caller of a request from `node` gave up. */
  cancel(node: string, correlationId: string): void {
    this.byNode.get(node)?.get(correlationId)?.cancel()
  }

  /**
   * The template of replies to `node` (their JSON made once but for the payload and the correlation id), kept while
   * the node is up.
   */
  template(node: string): WireEnvelopes.Template {
    let template = this.templates.get(node)
    if (template === undefined) {
      template = WireEnvelopes.requestTemplate({
        kind: "reply",
        to: { node: node as NodeId.NodeId, path: SYSTEM_PATH }
      })
      this.templates.set(node, template)
    }
    return template
  }

  /** The node is gone: nobody waits for the replies to its requests. */
  nodeDown(node: string): void {
    this.templates.delete(node)
    const byId = this.byNode.get(node)
    if (byId === undefined) return
    for (const reply of byId.values()) reply.cancel()
    this.byNode.delete(node)
  }

  /** Requests from other nodes not answered yet (for tests of leaks). */
  get size(): number {
    let n = 0
    for (const byId of this.byNode.values()) n += byId.size
    return n
  }
}
