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
 * hostile peer) are ignored, so a peer cannot grow this node's memory with them.
 */
import type { Peer } from "@troupe/transport"
import { Effect } from "effect"
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
  /** Sending side: how many recipients each node has paused (bounded by `maxParked`). */
  private readonly pausedByNode = new Map<string, number>()
  /** Receiving side: envelopes parked per sending node (and incarnation) and recipient. */
  private readonly parked = new Map<string, number>()
  /** Receiving side: envelopes parked per sending node and incarnation. */
  private readonly parkedByPeer = new Map<string, number>()
  /** Receiving side: envelopes parked per recipient, from every peer. */
  private readonly parkedByRecipient = new Map<string, number>()
  private readonly notify: (peer: Peer.Peer, message: SystemMessage) => void
  readonly maxParked: number
  readonly maxParkedPerRecipient: number

  constructor(
    notify: (peer: Peer.Peer, message: SystemMessage) => void,
    maxParked = 16_384,
    maxParkedPerRecipient = 4 * maxParked
  ) {
    this.notify = notify
    this.maxParked = maxParked
    this.maxParkedPerRecipient = maxParkedPerRecipient
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

  /** `node` asks to hold sends to `path`; ignored past `maxParked` paused paths of that node (see above). */
  pause(node: string, path: string): void {
    const k = key(node, path)
    if (this.paused.has(k)) return
    const count = this.pausedByNode.get(node) ?? 0
    if (count >= this.maxParked) return
    this.pausedByNode.set(node, count + 1)
    this.paused.set(k, [])
  }

  resume(node: string, path: string): void {
    const k = key(node, path)
    const held = this.paused.get(k)
    if (held === undefined) return
    this.paused.delete(k)
    const count = this.pausedByNode.get(node)! - 1
    if (count === 0) this.pausedByNode.delete(node)
    else this.pausedByNode.set(node, count)
    for (const entry of held) if (!entry.cancelled) entry.go()
  }

  /** The node is gone: its held senders go on (and find it unreachable). */
  nodeDown(node: string): void {
    const prefix = `${node}\u0000`
    for (const k of [...this.paused.keys()]) {
      if (k.startsWith(prefix)) this.resume(node, k.slice(prefix.length))
    }
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
