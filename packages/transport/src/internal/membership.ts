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
 * neither remembered nor passed on: gossip names it again, every heartbeat, once there is room), and the
 * addresses it remembers are bounded, the oldest of a node it is not linked to forgotten first.
 */
import { Option } from "effect"
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

export class Membership {
  private readonly engine: Engine
  /** The address each known node is dialed at. */
  private readonly addresses = new Map<string, string>()
  private readonly own: string | undefined

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
    let room = this.learnRoom()
    for (const member of frame.members) {
      if (member.node === engine.options.node || member.address === this.own) continue
      const known = this.addresses.get(member.node)
      // a node speaks for its own address; hearsay only fills in what is unknown
      const claim = known === undefined || (known !== member.address && member.node === from.peer.node)
      const linked = engine.links.has(member.node)
      const address = claim ? member.address : known!
      if (!linked && !engine.targets.has(address)) {
        if (room <= 0) continue // dialed when gossip names it again
        room--
      }
      if (claim) {
        this.remember(member)
        news.push(member)
      }
      if (!linked) engine.learn(address)
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

  /** How many more learned members may be dialed now: `maxLearnedDials` less those dialed and not linked yet. */
  private learnRoom(): number {
    let dialing = 0
    for (const target of this.engine.targets.values()) if (target.learned && target.peer === undefined) dialing++
    return this.engine.options.limits.maxLearnedDials - dialing
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
