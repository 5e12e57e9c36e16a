/**
 * The node's remote access policy at work (see `RemoteAccess`): whether a peer may reach an actor by
 * path, and whether it may list its actors under a receptionist key or a topic. An actor is reachable by
 * a peer when the policy names its path, when this node revealed it to that peer (it sent the peer a
 * message, or a ref to it went into one), or when it is listed in this node's receptionist or topics.
 * Refusals are logged, at most once a second per peer, with a count.
 */
import { Effect } from "effect"
import type { ActorRef } from "../ActorRef.ts"
import type * as Protocol from "../Protocol.ts"
import * as RemoteAccess from "../RemoteAccess.ts"
import type { ActorCell } from "./cell.ts"
import { PeerLogWindow } from "./peerLogWindow.ts"
import type { SystemImpl } from "./system.ts"

export class Access {
  private readonly system: SystemImpl
  private readonly policy: Required<
    Omit<RemoteAccess.RemoteAccess, "maxListingsPerNode" | "maxListings" | "maxJoinsNotBegun" | "maxSessions">
  >
  /** The peers each local actor was revealed to (forgotten with the actor). */
  private readonly revealed = new WeakMap<ActorCell, Set<string>>()
  private readonly refusals = new PeerLogWindow()

  constructor(system: SystemImpl, policy: RemoteAccess.RemoteAccess) {
    this.system = system
    this.policy = {
      reach: policy.reach ?? "all",
      register: policy.register ?? "all",
      subscribe: policy.subscribe ?? "all"
    }
  }

  /** This node told `node` about its actor at `path` (a sender, or a ref in a message). */
  reveal(node: string, path: string | undefined): void {
    if (this.policy.reach === "all" || path === undefined) return
    const cell = this.system.registry.get(path)
    if (cell === undefined) return
    let peers = this.revealed.get(cell)
    if (peers === undefined) {
      peers = new Set()
      this.revealed.set(cell, peers)
    }
    peers.add(node)
  }

  /** Whether encoding for a peer must track the refs it reveals (not when the policy lets peers reach all). */
  get tracksReveals(): boolean {
    return this.policy.reach !== "all"
  }

  /** A ref encoded into a message for `node`: reveals it when it is one of this node's actors. */
  readonly revealer =
    (node: string) =>
    (ref: ActorRef<Protocol.Any>): void => {
      if (ref.node === this.system.node) this.reveal(node, ref.path)
    }

  /** Whether the policy names `path` (then every peer may reach it, for as long as the node runs). */
  reachesByPolicy(path: string): boolean {
    return RemoteAccess.matches(this.policy.reach, path)
  }

  /** Whether `node` may reach the actor at `path` here; a refusal is logged. */
  mayReach(node: string, path: string, what: string): boolean {
    if (RemoteAccess.matches(this.policy.reach, path)) return true
    const cell = this.system.registry.get(path)
    if (cell !== undefined && this.revealed.get(cell)?.has(node)) return true
    if (this.system.receptionist.isListed(path) || this.system.topics.isListed(path)) return true
    this.refused(node, `${what} ${path}: not an actor this node lets other nodes reach`)
    return false
  }

  /**
   * Whether `node` may list one of its actors under `name` in the receptionist or a topic here. Every node tells
   * its peers of all its listings, so a key or topic this node's policy does not name at all is only not taken
   * here (logged at debug level: a hub's own keys reach its leaves); one it names, from a node it does not name for
   * it, is refused with a warning (a node claiming a key that is not its own).
   */
  mayList(node: string, directory: "receptionist" | "topics", name: string): boolean {
    const listings = directory === "receptionist" ? this.policy.register : this.policy.subscribe
    if (RemoteAccess.mayList(listings, name, node)) return true
    const what = directory === "receptionist" ? `registration under key ${name}` : `subscription to topic ${name}`
    if (!RemoteAccess.names(listings, name)) {
      this.refused(node, `${what}: not a ${directory === "receptionist" ? "key" : "topic"} this node lists`, "Debug")
      return false
    }
    this.refused(node, `${what}: not allowed from this node`)
    return false
  }

  private refused(node: string, detail: string, level: "Warn" | "Debug" = "Warn"): void {
    if (level === "Debug") {
      this.system.runBackground(
        Effect.logDebug("A peer's listing was not taken").pipe(Effect.annotateLogs({ peer: node, detail }))
      )
      return
    }
    const earlier = this.refusals.admit(node, Date.now())
    if (earlier === undefined) return
    const more = earlier === 0 ? "" : ` (and ${earlier} more refused earlier)`
    this.system.runBackground(
      Effect.logWarning("A peer was refused").pipe(Effect.annotateLogs({ peer: node, detail: `${detail}${more}` }))
    )
  }
}
