/**
 * The live peers of remoting, as the transport links and downs them. A peer that links is known at once (refs to it
 * resolve) and is sent this node's directories; a new incarnation of a known node first downs the old one. A peer
 * declared down fails what waits on it (asks with `NodeUnreachable`, paused tells, requests it made, watches of its
 * actors with `NodeDown`), leaves the receptionist and topics, and its node-down listeners are told.
 */
import { type Peer, TransportError } from "@troupe/transport"
import * as SystemEvent from "../../SystemEvent.ts"
import * as Terminated from "../../Terminated.ts"
import type { Remoting } from "../remoting.ts"

/** A live peer, with the address its link came up on if the transport has addresses. */
export type LivePeer = Peer.Peer & { readonly remoteAddress?: string | undefined }

/** The live peers by node id, and who hears of a node going down (`remoting.membership`). */
export class Membership {
  /** Live peers by node id. */
  readonly peers = new Map<string, LivePeer>()
  /** Told (at once, in order with the peer's envelopes) of every node this node declares down. */
  private readonly downListeners = new Set<(node: string) => void>()
  private readonly remoting: Remoting

  constructor(remoting: Remoting) {
    this.remoting = remoting
  }

  /** A peer linked (`PeerUp`). */
  up(peer: LivePeer): void {
    const known = this.peers.get(peer.node)
    if (known?.incarnation === peer.incarnation) return
    if (known !== undefined)
      this.down(known.node, known.incarnation, "restarted", `a new incarnation linked: ${peer.incarnation}`)
    this.peers.set(peer.node, peer)
    this.remoting.system.publish(new SystemEvent.NodeUp({ node: peer.node, incarnation: peer.incarnation }))
    // the peer is known at once (refs to it resolve); the directories go to it on the next turn, as they did when
    // peer events came through a fiber, not from inside the transport's handshake that announced the peer
    setImmediate(() => this.syncDirectories(peer))
  }

  private syncDirectories(peer: Peer.Peer): void {
    if (this.peers.get(peer.node) !== peer) return
    const system = this.remoting.system
    for (const directory of ["receptionist", "topics"] as const) {
      this.remoting.sendSystem(peer, {
        type: "directory-sync",
        directory,
        entries: (directory === "receptionist" ? system.receptionist : system.topics).localAnnouncements()
      })
    }
  }

  /** A peer was declared down (`PeerDown`); ignored unless it is the live incarnation of its node. */
  down(node: string, incarnation: string, reason: Peer.DownReason, message: string): void {
    const peer = this.peers.get(node)
    if (peer === undefined || peer.incarnation !== incarnation) return
    this.peers.delete(node)
    const remoting = this.remoting
    const system = remoting.system
    remoting.asks.nodeDown(
      node,
      new TransportError.NodeUnreachable({
        node,
        reason: "down",
        detail: `the link to node ${node} ended before it replied: ${Terminated.describeNodeDown(
          new Terminated.NodeDown({ node, reason, detail: message }),
          system.node
        )}`
      }),
      reason === "restarted"
    )
    remoting.flow.nodeDown(node)
    remoting.replies.nodeDown(node)
    remoting.watches.nodeDown(node, reason, message)
    system.receptionist.removeNode(node)
    system.topics.removeNode(node)
    remoting.refs.forgetNode(node)
    for (const listener of this.downListeners) listener(node)
    system.publish(new SystemEvent.NodeDown({ node, incarnation, reason }))
  }

  /**
   * Calls `listener` with each node declared down from now on (the link to it ended: what it carried either
   * way may be lost, even if the node lives and links again); answers how to stop.
   */
  onNodeDown(listener: (node: string) => void): () => void {
    this.downListeners.add(listener)
    return () => this.downListeners.delete(listener)
  }
}
