/**
 * Per-recipient flow control across nodes. A message from another node that finds its recipient's mailbox
 * full is parked in order with the recipient's waiting senders (the node's dispatcher never waits), and the
 * sending node is told to `pause` sends to that actor; once everything parked is in the mailbox, it is told to
 * `resume`. So a full mailbox slows only the senders to that actor, while replies, cancellations and other
 * actors' messages keep flowing. A peer that ignores the pause is cut short: past `maxParked` envelopes parked
 * for one peer, the rest are refused as `overflow` dead letters (a request is answered with `MailboxFull`); and since
 * every peer (each node id, each incarnation) has its own budget and what a peer parked stays after it leaves, one
 * recipient holds at most `maxParkedPerRecipient` parked in all, from every peer (an honest sender is paused after its
 * first parked envelope: it parks about a window at most).
 * Pauses a peer asks for are kept up to the same bound per peer node: an honest peer pauses a path only while it
 * holds an envelope of ours parked, and it parks at most `maxParked`; pauses past that (paths made up by a
 * hostile peer) are ignored, so a peer cannot grow this node's memory with them. Since a peer may link under many
 * node ids, the pauses of all peers together are bounded too (`maxPaused`, 4 x `maxParked`), shared max-min fair by
 * the peers' addresses and then node ids (see `shares.ts`): past it, a pause of a node whose address (or, within one
 * address, the node itself) holds fewer than the one holding the most takes the place of that one's oldest pause
 * (which is let go: its senders go on), and any other is ignored. So a process linked under many ids from one address
 * keeps one address's share, and an honest peer on another keeps all it needs (`maxParked` at most).
 */
import type { Peer } from "@troupe/transport"
import { Effect } from "effect"
import { addressUnit, FairTable } from "../shares.ts"
import type { SystemMessage } from "./codec.ts"

/** A sender waiting for a paused recipient; `go` runs once it may send (or the recipient's node is gone). */
interface Held {
  readonly go: () => void
  cancelled: boolean
}

const key = (node: string, path: string): string => `${node}\u0000${path}`

export class FlowControl {
  /** Sending side: recipients on other nodes that asked for a pause, with the senders holding for them. */
  private readonly paused = new Map<string, Array<Held>>()
  /**
   * Sending side: the paths each node has paused, oldest first (bounded by `maxParked` per node and `maxPaused` of all
   * nodes, shared by address and node).
   */
  private readonly pausedBy = new FairTable<true>()
  /** Receiving side: envelopes parked per sending node (and incarnation) and recipient. */
  private readonly parked = new Map<string, number>()
  /** Receiving side: envelopes parked per sending node and incarnation. */
  private readonly parkedByPeer = new Map<string, number>()
  /** Receiving side: envelopes parked per recipient, from every peer. */
  private readonly parkedByRecipient = new Map<string, number>()
  private readonly notify: (peer: Peer.Peer, message: SystemMessage) => void
  /** The unit a node's pauses are shared by: its link's address (see `shares.ts`). */
  private readonly unitOf: (node: string) => string
  readonly maxParked: number
  readonly maxParkedPerRecipient: number
  /** The most paths all peer nodes together may have paused. */
  readonly maxPaused: number

  constructor(
    notify: (peer: Peer.Peer, message: SystemMessage) => void,
    unitOf: (node: string) => string = (node) => addressUnit(node, undefined),
    maxParked = 16_384,
    maxParkedPerRecipient = 4 * maxParked,
    maxPaused = 4 * maxParked
  ) {
    this.notify = notify
    this.unitOf = unitOf
    this.maxParked = maxParked
    this.maxParkedPerRecipient = maxParkedPerRecipient
    this.maxPaused = maxPaused
  }

  // sending side

  /** Whether sends to `path` on `node` hold for now. */
  isPaused(node: string, path: string): boolean {
    return this.paused.size > 0 && this.paused.has(key(node, path))
  }

  /** Runs `go` now, or once the recipient resumes; returns what withdraws a held sender. */
  whenOpen(node: string, path: string, go: () => void): (() => void) | undefined {
    const held = this.paused.size === 0 ? undefined : this.paused.get(key(node, path))
    if (held === undefined) {
      go()
      return undefined
    }
    const entry: Held = { go, cancelled: false }
    held.push(entry)
    return () => {
      entry.cancelled = true
    }
  }

  /** Waits (as an Effect) until sends to `path` on `node` may go. */
  open(node: string, path: string): Effect.Effect<void> {
    return Effect.callback<void>((resume) => {
      const withdraw = this.whenOpen(node, path, () => resume(Effect.void))
      return withdraw === undefined ? undefined : Effect.sync(withdraw)
    })
  }

  /**
   * `node` asks to hold sends to `path`; ignored past `maxParked` paused paths of that node, and past `maxPaused` of
   * all nodes unless its address or it holds fewer than the one holding the most (whose oldest pause is let go).
   */
  pause(node: string, path: string): void {
    const k = key(node, path)
    if (this.paused.has(k)) return
    const table = this.pausedBy
    if (table.count(node) >= this.maxParked) return
    const unit = this.unitOf(node)
    if (table.total >= this.maxPaused) {
      const yielder = table.yielder(node, unit)
      if (yielder === undefined) return
      this.resume(yielder, table.oldest(yielder)![0])
    }
    table.add(node, unit, path, true)
    this.paused.set(k, [])
  }

  resume(node: string, path: string): void {
    const k = key(node, path)
    const held = this.paused.get(k)
    if (held === undefined) return
    this.paused.delete(k)
    this.pausedBy.delete(node, path)
    for (const entry of held) if (!entry.cancelled) entry.go()
  }

  /** The node is gone: its held senders go on (and find it unreachable). */
  nodeDown(node: string): void {
    const paths = this.pausedBy.deleteNode(node)
    if (paths !== undefined) for (const path of paths.keys()) this.resume(node, path)
  }

  /** How many paths `node` has paused, and all nodes together (for tests and stats). */
  pausedCount(node?: string): number {
    return node === undefined ? this.pausedBy.total : this.pausedBy.count(node)
  }

  // receiving side

  /** May one more envelope from `peer` to `path` be parked? */
  mayPark(peer: Peer.Peer, path: string): boolean {
    if (this.parkedByPeer.size === 0) return true // the usual case: nothing parked, no key to build
    return (
      (this.parkedByPeer.get(`${peer.node}\u0000${peer.incarnation}`) ?? 0) < this.maxParked &&
      (this.parkedByRecipient.get(path) ?? 0) < this.maxParkedPerRecipient
    )
  }

  /** An envelope from `peer` to `path` was parked; returns what to call once it is in the mailbox. */
  park(peer: Peer.Peer, path: string): () => void {
    const byPeer = `${peer.node}\u0000${peer.incarnation}`
    const k = `${byPeer}\u0000${path}`
    const n = this.parked.get(k) ?? 0
    this.parked.set(k, n + 1)
    this.parkedByPeer.set(byPeer, (this.parkedByPeer.get(byPeer) ?? 0) + 1)
    this.parkedByRecipient.set(path, (this.parkedByRecipient.get(path) ?? 0) + 1)
    if (n === 0) this.notify(peer, { type: "pause", path })
    return () => {
      const left = this.parked.get(k)! - 1
      const total = this.parkedByPeer.get(byPeer)! - 1
      if (total === 0) this.parkedByPeer.delete(byPeer)
      else this.parkedByPeer.set(byPeer, total)
      const atRecipient = this.parkedByRecipient.get(path)! - 1
      if (atRecipient === 0) this.parkedByRecipient.delete(path)
      else this.parkedByRecipient.set(path, atRecipient)
      if (left > 0) {
        this.parked.set(k, left)
        return
      }
      this.parked.delete(k)
      this.notify(peer, { type: "resume", path })
    }
  }

  /** Envelopes parked here, and senders held here (for tests and stats). */
  get size(): { readonly parked: number; readonly held: number } {
    let parked = 0
    for (const n of this.parkedByPeer.values()) parked += n
    let held = 0
    for (const list of this.paused.values()) held += list.length
    return { parked, held }
  }
}
