/**
 * Membership: the nodes of the cluster, learned by gossip over authenticated links, so that a node
 * that joins any member links to all of them (transitive connections, as Erlang distribution makes
 * by default). A star of nodes that dial one hub becomes a full mesh, as far as the members can
 * dial each other.
 *
 * Gossip only ever adds dial targets. Whether a node is up is decided by this node's own links and
 * failure detector, never by what a peer says; a member learned from a peer is dialed with this
 * node's own secret and TLS settings, so it must pass the same handshake as any other. An address a
 * node announced for itself wins over what others say about it; hearsay only fills in nodes whose
 * address is unknown, and never changes anything about a node this node is linked to.
 *
 * What a peer says cannot make this node do or keep more than its limits: it dials at most
 * `limits.maxLearnedDials` learned members at once that are not linked yet (a member named beyond it is
 * neither remembered nor passed on: gossip names it again, every heartbeat, once there is room), it holds at most
 * `limits.maxPeersPerAddress` links with the members at one address (a member named at an address holding that many is
 * not dialed, and a dial that reaches one is refused), and the addresses it remembers are bounded, the oldest of a
 * node it is not linked to forgotten first.
 *
 * The dials are shared fairly among the peers whose gossip named the members (max-min): a peer takes what is free,
 * and when none is, a peer holding fewer than its share (the bound over the peers holding dials) takes one from the
 * peer holding the most (that dial is dropped: its peer's gossip names the member again). So a peer naming thousands
 * of members it made up (at addresses that hold each dial until the handshake times out) cannot keep the members
 * honest peers name from being dialed; peers under many node ids each get their share, at least one: when more peers
 * name members than `maxLearnedDials`, each still dials one (the dials at once are then at most one per linked peer,
 * bounded by `limits.maxPeers`, where peers under `maxLearnedDials` node ids held every dial, one each, before).
 */
import { Fiber, Option } from "effect"
import * as Frame from "../Frame.ts"
import { goneAt } from "./dialing.ts"
import type { Engine } from "./engine.ts"
import type { Link } from "./link.ts"

/** How many times the address of a peer whose connection was lost is probed (see `Membership.lost`). */
const PROBES = 4

/** The most member addresses remembered (the oldest are forgotten first). */
const MEMORY = 10_000

/** Whether a URL's host is the unspecified address (listening on every interface). */
const everywhere = (url: string): boolean => {
  const host = URL.canParse(url) ? new URL(url).hostname : ""
  return host === "0.0.0.0" || host === "[::]"
}

/** The learned members dialed now and not linked yet: how many, and their addresses by the peer that named them. */
interface LearnedDials {
  total: number
  readonly bySource: Map<string, Array<string>>
}

export class Membership {
  private readonly engine: Engine
  /** The address each known node is dialed at. */
  private readonly addresses = new Map<string, string>()
  private readonly own: string | undefined
  /** The peer whose gossip named each member dialed as learned (by address; stale entries go at the next count). */
  private readonly namedBy = new Map<string, string>()

  constructor(engine: Engine) {
    this.engine = engine
    const own = Option.getOrUndefined(engine.options.address)
    // a URL on every interface (0.0.0.0) names no host a member could dial: it is not announced
    this.own = own === undefined || !everywhere(own) ? own : undefined
    if (own !== undefined && this.own === undefined && engine.options.connectAll) {
      engine.log(
        "Warn",
        "this node listens on every interface without an advertised URL: its members cannot link to it",
        {
          address: own,
          detail: "give advertisedUrl (troupe node --advertise wss://<host>:<port>) so that other members can dial it"
        }
      )
    }
  }

  /** What this node knows: itself and the members it has a live link to, with their addresses. */
  members(): Array<Frame.Member> {
    const members: Array<Frame.Member> = []
    if (this.own !== undefined) members.push({ node: this.engine.options.node, address: this.own })
    for (const node of this.engine.links.keys()) {
      const address = this.addresses.get(node)
      if (address !== undefined) members.push({ node: node as Frame.Member["node"], address })
    }
    return members
  }

  /** A connection now carries a link: tell the peer who this node knows. */
  attached(link: Link): void {
    if (this.engine.options.connectAll) this.send(link, this.members())
  }

  /**
   * The link lost its connection (without a goodbye): if nothing listens at its peer's announced address any more
   * (a TCP connect refused), the incarnation is gone and is declared down at once (see `dialing.ts`), even when
   * this node never dialed the peer itself. Only a probe, as the dial loop's redials: first after the reconnect
   * delay (a killed process's sockets close one after another: its listener may still answer at the first close),
   * then after twice as long, up to {@link PROBES} times while the link stays without a connection. A peer that is
   * alive is reconnected by the dial loops (this node's, the peer's), as before.
   */
  lost(link: Link): void {
    const address = this.addresses.get(link.peer.node)
    const probe = this.engine.options.probe
    if (address === undefined || probe === undefined || this.engine.targets.has(address)) return
    const engine = this.engine
    let delay = engine.options.initialDelayMs
    const attempt = (left: number) => {
      if (engine.stopping || link.down || link.active !== undefined || engine.links.get(link.peer.node) !== link) return
      probe(address, (refused) => {
        if (refused) goneAt(engine, link.peer, address)
        else if (left > 1) setTimeout(() => attempt(left - 1), (delay *= 2)).unref()
      })
    }
    setTimeout(() => attempt(PROBES), delay).unref()
  }

  /** The node that announced `address` as its own (or was said to be there), if any. */
  nodeAt(address: string): string | undefined {
    for (const [node, known] of this.addresses) if (known === address) return node
    return undefined
  }

  /** Gossip from a linked peer: remember new members, dial those not linked, pass the news on. */
  received(from: Link, frame: Frame.Members): void {
    const engine = this.engine
    if (!engine.options.connectAll) return
    const news: Array<Frame.Member> = []
    const source = from.peer.node
    const dials = this.learnedDials()
    for (const member of frame.members) {
      if (member.node === engine.options.node || member.address === this.own) continue
      const known = this.addresses.get(member.node)
      // a node speaks for its own address; hearsay only fills in what is unknown
      const claim = known === undefined || (known !== member.address && member.node === from.peer.node)
      const linked = engine.links.has(member.node)
      const address = claim ? member.address : known!
      const dial = !linked && !engine.targets.has(address)
      // a member at an address holding `maxPeersPerAddress` links would be refused once it answered: not dialed
      if (dial && (this.fullAt(address) || !this.mayDial(dials, source))) continue // dialed when gossip names it again
      if (claim) {
        this.remember(member)
        news.push(member)
      }
      if (dial) {
        this.dialed(dials, source, address)
        engine.learn(address)
      }
    }
    if (news.length === 0) return
    for (const link of engine.links.values()) if (link !== from) this.send(link, news)
  }

  /** Once per heartbeat: the whole list to one peer, so members that lost each other find each other again. */
  tick(): void {
    const links = this.engine.links
    if (links.size < 2 || !this.engine.options.connectAll) return
    let pick = Math.floor(Math.random() * links.size)
    for (const link of links.values()) {
      if (pick-- === 0) {
        this.send(link, this.members())
        return
      }
    }
  }

  /**
   * Whether the member at `url` is at an address (given as an IP in the URL) holding `limits.maxPeersPerAddress` links
   * already (see `Peers.fullAt`: a link beyond it is refused; a host name is only known once dialed).
   */
  private fullAt(url: string): boolean {
    const engine = this.engine
    const limit = engine.options.limits.maxPeersPerAddress
    if (engine.links.size < limit || !URL.canParse(url)) return false
    const host = new URL(url).hostname.replace(/^\[(.*)\]$/, "$1")
    const literal = host.includes(":") || /^\d+\.\d+\.\d+\.\d+$/.test(host)
    return literal && engine.peers.linksAt(host) >= limit
  }

  /**
   * The learned members dialed now and not linked yet, by the peer whose gossip named them (entries of `namedBy`
   * whose dial ended are dropped here).
   */
  private learnedDials(): LearnedDials {
    const bySource = new Map<string, Array<string>>()
    let total = 0
    for (const [address, source] of this.namedBy) {
      const target = this.engine.targets.get(address)
      if (target === undefined || !target.learned) {
        this.namedBy.delete(address)
        continue
      }
      if (target.peer !== undefined) continue
      total++
      const held = bySource.get(source)
      if (held === undefined) bySource.set(source, [address])
      else held.push(address)
    }
    return { total, bySource }
  }

  /**
   * Whether `source` may start one more learned dial: while fewer than `maxLearnedDials` run, yes; else if it holds
   * fewer than its share (the bound over the peers holding dials, itself included), the peer holding the most (at
   * least two more than `source`) gives up one of its dials to it; and when every peer holds one at most, a peer that
   * holds none starts one (so the dials at once are at most `maxLearnedDials`, or one per linked peer if more).
   */
  private mayDial(dials: LearnedDials, source: string): boolean {
    const max = this.engine.options.limits.maxLearnedDials
    if (dials.total < max) return true
    const held = dials.bySource.get(source)?.length ?? 0
    const sources = dials.bySource.size + (held === 0 ? 1 : 0)
    if (held >= Math.max(1, Math.floor(max / sources))) return false
    let most: Array<string> | undefined
    for (const addresses of dials.bySource.values())
      if (most === undefined || addresses.length > most.length) most = addresses
    // every peer holding one: a peer holding none still starts one (past the bound: at most one per linked peer), or
    // peers under `maxLearnedDials` node ids, one dial each, would keep every other peer's members from being dialed
    if (most === undefined || most.length < held + 2) return held === 0
    this.drop(most.pop()!)
    dials.total--
    return true
  }

  /** `source` started a learned dial of `address`. */
  private dialed(dials: LearnedDials, source: string, address: string): void {
    this.namedBy.set(address, source)
    dials.total++
    const held = dials.bySource.get(source)
    if (held === undefined) dials.bySource.set(source, [address])
    else held.push(address)
  }

  /** Stops dialing the learned member at `address` (its place went to another peer's; gossip names it again). */
  private drop(address: string): void {
    this.namedBy.delete(address)
    const target = this.engine.targets.get(address)
    if (target === undefined || !target.learned || target.peer !== undefined) return
    this.engine.targets.delete(address)
    if (target.fiber !== undefined) this.engine.run(Fiber.interrupt(target.fiber))
  }

  private remember(member: Frame.Member): void {
    this.addresses.delete(member.node)
    this.addresses.set(member.node, member.address)
    if (this.addresses.size <= MEMORY) return
    // the oldest address of a node this node is not linked to goes (hearsay never pushes out a linked member's)
    for (const node of this.addresses.keys()) {
      if (!this.engine.links.has(node)) {
        this.addresses.delete(node)
        return
      }
    }
  }

  private send(link: Link, members: ReadonlyArray<Frame.Member>): void {
    const connection = link.active
    if (members.length === 0 || connection?.state !== "open") return
    for (let i = 0; i < members.length; i += 1024) {
      connection.write(Frame.encode({ type: "members", members: members.slice(i, i + 1024) }))
    }
  }
}
