/**
 * The peers this node links with: a handshaken connection bound to its link (its declared timings bounded by this
 * node's policy, its address counted against `limits.maxPeersPerAddress`), a link declared down, and what is
 * remembered of incarnations that went down (quarantine, past keys, link generations, why a node went down).
 */
import { PubSub } from "effect"
import * as CloseCode from "../CloseCode.ts"
import type { Incarnation, NodeId } from "../NodeId.ts"
import { addressUnit, PeerDown, type PeerEvent, PeerUp } from "../Peer.ts"
import { NodeUnreachable } from "../TransportError.ts"
import type { Connection, Wire } from "./connection.ts"
import type { Engine } from "./engine.ts"
import { Link } from "./link.ts"

const QUARANTINE_LIMIT = 10_000

/** The timings and sizes a peer declared, bounded by this node's policy. */
export interface Declared {
  readonly maxFrameBytes: number
  readonly window: number
  readonly heartbeatInterval: number
}

/** The address a link on `wire` counts at: the peer's IP as the socket sees it, else the wire's remote address. */
export const addressOf = (wire: Wire): string | undefined => wire.peerIp?.() ?? wire.remoteAddress

/** The engine's links to its peers, as they come up and go down (`engine.peers`). */
export class Peers {
  /** Incarnations that are gone for good (a newer one replaced them, or they said goodbye). */
  readonly quarantined = new Set<string>()
  /** The key each incarnation that went down linked with: it cannot come back with another one. */
  readonly pastKeys = new Map<string, string>()
  /** The last link generation made with each incarnation ("node/incarnation"), while linked and after. */
  private readonly generations = new Map<string, number>()
  /** Why each node that went down (and did not come back) went down. */
  private readonly downed = new Map<string, string>()
  /** Live links by their peer's address unit (see `Peer.addressUnit`), bounded by `limits.maxPeersPerAddress`. */
  private readonly byAddress = new Map<string, number>()
  private readonly engine: Engine

  constructor(engine: Engine) {
    this.engine = engine
  }

  /** The highest generation of link to this incarnation this node made (0: none yet). */
  generationOf(node: string, incarnation: string): number {
    return this.generations.get(`${node}/${incarnation}`) ?? 0
  }

  /**
   * The link of `generation` to a node and incarnation, with the timings the peer `declared` bounded; a new
   * incarnation replaces (and downs) the old one. (A link of another generation to the same incarnation was declared
   * down by the handshake.)
   */
  bind(
    node: NodeId,
    incarnation: Incarnation,
    declared: Declared,
    generation: number,
    remoteAddress?: string | undefined
  ): Link {
    const hello = this.bounded(declared)
    let link = this.engine.links.get(node)
    if (link !== undefined && link.peer.incarnation !== incarnation) {
      this.declareDown(link, "restarted", `node ${node} came back as incarnation ${incarnation}`)
      link = undefined
    }
    if (link === undefined) {
      // The peer's address rides on its `Peer`, not enumerable: a `PeerUp` made again from it (for a receiver that
      // comes later) says it too, while the `Peer` that `connect` and `peers` give stays `{ node, incarnation }`.
      const peer = { node, incarnation }
      if (remoteAddress !== undefined) Object.defineProperty(peer, "remoteAddress", { value: remoteAddress })
      link = new Link(this.engine, peer, hello, generation)
      const key = `${node}/${incarnation}`
      this.generations.delete(key)
      this.generations.set(key, generation)
      if (this.generations.size > QUARANTINE_LIMIT) this.generations.delete(this.generations.keys().next().value!)
      this.downed.delete(node)
      this.engine.links.set(node, link)
      if (remoteAddress !== undefined) this.counted(addressUnit(remoteAddress), 1)
      this.engine.counters.linksUp++
      this.publish(new PeerUp(peer))
      this.engine.log("Info", "link up", { peer: node, incarnation })
    } else {
      link.peerLimits(hello)
      link.peerHeartbeatMs = hello.heartbeatInterval
    }
    return link
  }

  /**
   * Makes a handshaken connection carry its link. When the link already has one (both nodes dialed
   * each other), both nodes keep the connection dialed by the node with the smaller id, so they
   * agree without talking; between two connections dialed by the same node the newer wins.
   */
  attach(link: Link, connection: Connection): void {
    const current = link.active
    if (current !== undefined && current !== connection && current.state === "open") {
      const preferred = [this.engine.options.node, link.peer.node].sort()[0]
      const dialer = (c: Connection) => (c.outbound ? this.engine.options.node : link.peer.node)
      const newWins = dialer(connection) === preferred || dialer(current) !== preferred
      const loser = newWins ? current : connection
      link.detached(loser)
      loser.close(CloseCode.Duplicate, "another connection carries this link")
      if (!newWins) return
    }
    link.attached(connection)
    const at = Date.now()
    this.engine.log("Debug", "connection attached", {
      peer: link.peer.node,
      outbound: connection.outbound,
      sinceHeartbeat: `${at - link.lastHeartbeat} ms`
    })
    // the peer's incarnation just proved its key on this connection: it is alive
    link.heard(at)
    this.engine.membership.attached(link)
  }

  /** Publishes a peer event, telling a registered receiver first (in order with its deliveries). */
  private publish(event: PeerEvent): void {
    this.engine.inbound.notify(event)
    PubSub.publishUnsafe(this.engine.events, event)
  }

  /**
   * Ends `link` for good (once): closes its connection, tells the receiver what it carried unacknowledged (`lost`),
   * fails its waiting senders and publishes `PeerDown`; a later link to the peer starts anew.
   */
  declareDown(link: Link, reason: PeerDown["reason"], message: string): void {
    if (link.down) return
    link.down = true
    const { node, incarnation } = link.peer
    if (this.engine.links.get(node) === link) {
      this.engine.links.delete(node)
      const address = (link.peer as { readonly remoteAddress?: string }).remoteAddress
      if (address !== undefined) this.counted(addressUnit(address), -1)
    }
    // a live incarnation that was only unreachable may link again (a new link, on both sides)
    if (reason === "restarted" || reason === "shutdown") this.quarantine(`${node}/${incarnation}`)
    if (link.peerKey !== undefined) {
      this.pastKeys.set(`${node}/${incarnation}`, link.peerKey)
      if (this.pastKeys.size > QUARANTINE_LIMIT) this.pastKeys.delete(this.pastKeys.keys().next().value!)
    }
    this.downed.set(node, `${reason}: ${message}`)
    if (this.downed.size > QUARANTINE_LIMIT) this.downed.delete(this.downed.keys().next().value!)
    this.engine.counters.linksUp--
    for (const connection of this.engine.connections) {
      if (connection.link === link) {
        connection.close(reason === "shutdown" ? CloseCode.Normal : CloseCode.Quarantined, message)
      }
    }
    this.engine.inbound.lost(link.peer, link.unacknowledgedJson())
    link.release(new NodeUnreachable({ node, reason: "down", detail: `${reason}: ${message}` }))
    for (const target of this.engine.targets.values()) {
      if (target.peer?.node === node && target.peer.incarnation === incarnation) target.lost()
    }
    this.publish(new PeerDown({ node, incarnation, reason, message }))
    this.engine.log(reason === "shutdown" ? "Info" : "Warn", "link down", {
      peer: node,
      incarnation,
      reason,
      detail: message
    })
  }

  /** A peer's declared timings, bounded by this node's policy. */
  private bounded(declared: Declared): Declared {
    return {
      maxFrameBytes: declared.maxFrameBytes,
      window: Math.min(declared.window, 1 << 24),
      heartbeatInterval: Math.min(declared.heartbeatInterval, this.engine.options.limits.maxPeerHeartbeatMs)
    }
  }

  /** How many live links have peers at `address` (its unit: an IPv4 address, an IPv6 /64). */
  linksAt(address: string): number {
    return this.byAddress.get(addressUnit(address)) ?? 0
  }

  /**
   * Why a new link on `wire` is refused for its address (`limits.maxPeersPerAddress` links there already), or
   * undefined when it is not.
   */
  fullAt(wire: Wire): string | undefined {
    const address = addressOf(wire)
    if (address === undefined) return undefined
    const limit = this.engine.options.limits.maxPeersPerAddress
    const held = this.linksAt(address)
    return held < limit
      ? undefined
      : `this node has ${held} peers at address ${addressUnit(address)}, its limit per address (limits.maxPeersPerAddress)`
  }

  private counted(unit: string, by: number): void {
    const count = (this.byAddress.get(unit) ?? 0) + by
    if (count > 0) this.byAddress.set(unit, count)
    else this.byAddress.delete(unit)
  }

  private quarantine(key: string): void {
    this.quarantined.add(key)
    if (this.quarantined.size > QUARANTINE_LIMIT) this.quarantined.delete(this.quarantined.values().next().value!)
  }

  /** Why `node` went down, if it did and did not come back. */
  downReason(node: string): string | undefined {
    return this.downed.get(node)
  }
}
