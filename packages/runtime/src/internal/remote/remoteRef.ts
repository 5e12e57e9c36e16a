/**
 * Refs to actors of other nodes, and the cache that keeps one ref per actor, incarnation and protocol.
 */
import { Envelope, type NodeId, type Peer } from "@troupe/transport"
import type { Effect } from "effect"
import type { ActorRef, AskOptions, TellError } from "../../ActorRef.ts"
import * as ActorRefs from "../../ActorRef.ts"
import type * as Protocol from "../../Protocol.ts"
import type { Remoting } from "../remoting.ts"
import { Shares } from "../shares.ts"
import { type Codec, codecOf, type Message } from "./codec.ts"

/** Senders per remote ref whose tells get an envelope template (a bound on what a ref keeps). */
const TEMPLATES = 16

/** A ref to an actor of another node. */
export class RemoteActorRef<P extends Protocol.Any> implements ActorRef<P> {
  readonly [ActorRefs.TypeId]: typeof ActorRefs.TypeId = ActorRefs.TypeId
  readonly remoting: Remoting
  readonly protocol: P
  readonly peer: Peer.Peer
  readonly path: string
  /** The protocol's codec (looked up once: every tell encodes with it). */
  readonly codec: Codec
  constructor(remoting: Remoting, peer: Peer.Peer, path: string, protocol: P) {
    this.remoting = remoting
    this.peer = peer
    this.path = path
    this.protocol = protocol
    this.codec = codecOf(protocol)
  }
  private to: Envelope.Envelope["to"] | undefined = undefined
  /** The actor's address on the wire (made once: every ask to it carries it). */
  get address(): Envelope.Envelope["to"] {
    return (this.to ??= { node: this.peer.node, path: this.path })
  }
  /** Templates of tells to this actor by sender path ("" for none): at most `TEMPLATES`, kept while the ref lives. */
  private templates: Map<string, Envelope.Template> | undefined = undefined
  /** The template used last (one sender usually tells a ref many times in a row). */
  private lastTemplate: Envelope.Template | undefined = undefined
  private lastFrom: string | undefined = undefined

  /**
   * The template of tells to this actor from the actor at `from` (a path of node `self`; undefined: no actor),
   * or undefined once `TEMPLATES` other senders have one (their tells are then encoded whole, as before).
   */
  tellTemplate(self: NodeId.NodeId, from: string | undefined): Envelope.Template | undefined {
    if (this.lastTemplate !== undefined && this.lastFrom === from) return this.lastTemplate
    const templates = (this.templates ??= new Map())
    let template = templates.get(from ?? "")
    if (template === undefined) {
      if (templates.size >= TEMPLATES) return undefined
      template = Envelope.template({
        kind: "tell",
        to: { node: this.peer.node, path: this.path },
        from: from === undefined ? undefined : { node: self, path: from }
      })
      templates.set(from ?? "", template)
    }
    this.lastTemplate = template
    this.lastFrom = from
    return template
  }

  get node(): string {
    return this.peer.node
  }
  get name(): string {
    return this.path.slice(this.path.lastIndexOf("/") + 1)
  }
  tell(message: Protocol.Message<P>): Effect.Effect<void, TellError> {
    return this.remoting.tell(this, message as Message)
  }
  ask<M extends Protocol.Request<P>>(message: M, options?: AskOptions) {
    return this.remoting.asks.ask(this, message as unknown as Message, options) as never
  }
  toString(): string {
    return `ActorRef(${this.peer.node}${this.path})`
  }
  toJSON(): unknown {
    return { _id: "ActorRef", node: this.peer.node, path: this.path }
  }
}

/**
 * The refs made per node: bounded (past `limit` paths the oldest is dropped, and made again if used again), and over
 * all nodes (past `limitAll` paths, the oldest of the node holding the most: a peer may link under many node ids, each
 * naming 1,024 senders of its own), forgotten per path when that actor terminates and per node when the node goes down.
 */
export class RefCache {
  private readonly byNode = new Map<
    string,
    { readonly incarnation: string; readonly byPath: Map<string, Array<RemoteActorRef<Protocol.Any>>> }
  >()
  /** How many paths each node has here (to find the node holding the most past `limitAll`). */
  private readonly paths = new Shares()
  private readonly remoting: Remoting
  private readonly limit: number
  private readonly limitAll: number
  constructor(remoting: Remoting, limit = 1024, limitAll = 64 * limit) {
    this.remoting = remoting
    this.limit = limit
    this.limitAll = limitAll
  }

  /** The ref returned last (consecutive messages usually come from the same sender); cleared when dropped. */
  private last: RemoteActorRef<Protocol.Any> | undefined = undefined

  /** The ref to `path` on `peer` speaking `protocol`. */
  get<P extends Protocol.Any>(peer: Peer.Peer, path: string, protocol: P): RemoteActorRef<P> {
    const last = this.last
    if (
      last !== undefined &&
      last.path === path &&
      last.protocol === protocol &&
      last.peer.node === peer.node &&
      last.peer.incarnation === peer.incarnation
    ) {
      return last as RemoteActorRef<P>
    }
    const ref = this.lookup(peer, path, protocol)
    this.last = ref
    return ref
  }

  /**
   * A message this node sent to `path` on `peer`, back from its payload (a link that ended lost it): decoded with the
   * protocol of a ref to that actor, else the payload as it went on the wire (its fields, with its `_tag`).
   *
   * @example
   * system.deadLetter(recipient, refs.messageOf(peer, envelope.to.path, envelope.payload), "unreachable")
   */
  messageOf(peer: Peer.Peer, path: string, payload: unknown): Message {
    const cache = this.byNode.get(peer.node)
    const refs = cache?.incarnation === peer.incarnation ? cache.byPath.get(path) : undefined
    for (const ref of refs ?? []) {
      const decoded = ref.codec.decode(payload, this.remoting.resolve)
      if (typeof decoded !== "string") return decoded
    }
    const fields = typeof payload === "object" && payload !== null ? payload : { payload }
    return { ...fields, _tag: String((fields as { readonly _tag?: unknown })._tag) }
  }

  private lookup<P extends Protocol.Any>(peer: Peer.Peer, path: string, protocol: P): RemoteActorRef<P> {
    let cache = this.byNode.get(peer.node)
    if (cache === undefined || cache.incarnation !== peer.incarnation) {
      this.paths.removeAll(peer.node)
      cache = { incarnation: peer.incarnation, byPath: new Map() }
      this.byNode.set(peer.node, cache)
    }
    let refs = cache.byPath.get(path)
    if (refs === undefined) {
      if (cache.byPath.size >= this.limit) this.dropOldest(peer.node)
      else if (this.paths.total >= this.limitAll) this.dropOldest(this.paths.top()!)
      refs = []
      cache.byPath.set(path, refs)
      this.paths.add(peer.node)
    }
    // one ref per protocol name: a protocol made again under the same name replaces the old one (no closure
    // here: one capturing `protocol` would cost every lookup a context object)
    let same = -1
    for (let i = 0; i < refs.length; i++) {
      const ref = refs[i]!
      if (ref.protocol === protocol) return ref as RemoteActorRef<P>
      if (same < 0 && ref.protocol.name === protocol.name) same = i
    }
    const ref = new RemoteActorRef(this.remoting, peer, path, protocol)
    if (same >= 0) {
      refs[same] = ref
      this.last = undefined
    } else refs.push(ref)
    return ref
  }

  /** `node`'s oldest path leaves the cache. */
  private dropOldest(node: string): void {
    const byPath = this.byNode.get(node)!.byPath
    byPath.delete(byPath.keys().next().value!)
    this.paths.remove(node)
    this.last = undefined
  }

  /** The actor at `path` of `node` terminated. */
  forgetPath(node: string, path: string): void {
    if (this.byNode.get(node)?.byPath.delete(path) === true) this.paths.remove(node)
    if (this.last?.path === path && this.last.peer.node === node) this.last = undefined
  }

  forgetNode(node: string): void {
    this.byNode.delete(node)
    this.paths.removeAll(node)
    if (this.last?.peer.node === node) this.last = undefined
  }

  /** How many paths are cached (for tests of the bound). */
  get size(): number {
    let n = 0
    for (const cache of this.byNode.values()) n += cache.byPath.size
    return n
  }
}
