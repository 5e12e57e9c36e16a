/**
 * Death watch across nodes. Watching: local watchers of actors on other nodes, one `watch` sent per remote
 * actor however many watch it here. Watched: other nodes watching actors of this one, one watcher per node,
 * which forgets each actor once it has reported its end. A node going down ends every watch of its actors
 * with `NodeDown` and every watch it held here.
 */
import type { Peer } from "@troupe/transport"
import type * as Protocol from "../../Protocol.ts"
import * as Terminated from "../../Terminated.ts"
import type { ActorCell, Watcher } from "../cell.ts"
import type { Remoting } from "../remoting.ts"
import { encodeReason, type Message } from "./codec.ts"
import type { RemoteActorRef } from "./remoteRef.ts"

export interface RemoteWatch {
  readonly ref: RemoteActorRef<Protocol.Any>
  readonly watcher: ActorCell | ((terminated: Terminated.Terminated) => void)
  readonly message: Message | undefined
}

/** Another node watching actors of this one. */
class NodeWatcher implements Watcher {
  /** The watched actors, by path. */
  readonly cells = new Map<string, ActorCell>()
  private readonly remoting: Remoting
  private readonly peer: Peer.Peer
  constructor(remoting: Remoting, peer: Peer.Peer) {
    this.remoting = remoting
    this.peer = peer
  }
  notifyTerminated(terminated: Terminated.Terminated): void {
    this.cells.delete(terminated.ref.path)
    this.remoting.sendSystem(this.peer, {
      type: "terminated",
      path: terminated.ref.path,
      reason: encodeReason(terminated.reason)
    })
  }
}

const deliverTerminated = (entry: RemoteWatch, reason: Terminated.Reason): void => {
  const terminated = new Terminated.Terminated({ ref: entry.ref, reason })
  if (typeof entry.watcher === "function") entry.watcher(terminated)
  else entry.watcher.notifyTerminated(terminated, entry.message)
}

export class RemoteWatches {
  /** Watches of actors on other nodes: by node, then path. */
  private readonly watches = new Map<string, Map<string, Array<RemoteWatch>>>()
  private readonly watchedBy = new Map<ActorCell, Set<RemoteWatch>>()
  /** Other nodes watching actors here. */
  private readonly nodeWatchers = new Map<string, NodeWatcher>()
  private readonly remoting: Remoting
  constructor(remoting: Remoting) {
    this.remoting = remoting
  }

  // watching actors of other nodes

  watch(watcher: RemoteWatch["watcher"], ref: RemoteActorRef<Protocol.Any>, message: Message | undefined): () => void {
    if (this.remoting.peers.get(ref.node)?.incarnation !== ref.peer.incarnation) {
      deliverTerminated({ ref, watcher, message }, new Terminated.NodeDown({ node: ref.node }))
      return () => {}
    }
    let byPath = this.watches.get(ref.node)
    if (byPath === undefined) {
      byPath = new Map()
      this.watches.set(ref.node, byPath)
    }
    let entries = byPath.get(ref.path)
    if (entries === undefined) {
      entries = []
      byPath.set(ref.path, entries)
      this.remoting.sendSystem(ref.peer, { type: "watch", path: ref.path })
    }
    const entry: RemoteWatch = { ref, watcher, message }
    entries.push(entry)
    if (typeof watcher !== "function") {
      let set = this.watchedBy.get(watcher)
      if (set === undefined) {
        set = new Set()
        this.watchedBy.set(watcher, set)
      }
      set.add(entry)
    }
    return () => this.unwatchEntry(entry)
  }

  unwatch(watcher: ActorCell, ref: RemoteActorRef<Protocol.Any>): void {
    for (const entry of this.watches.get(ref.node)?.get(ref.path) ?? []) {
      if (entry.watcher === watcher) this.unwatchEntry(entry)
    }
  }

  private unwatchEntry(entry: RemoteWatch): void {
    const byPath = this.watches.get(entry.ref.node)
    const entries = byPath?.get(entry.ref.path)
    if (entries === undefined) return
    const i = entries.indexOf(entry)
    if (i < 0) return
    entries.splice(i, 1)
    if (typeof entry.watcher !== "function") this.forgetWatcher(entry)
    if (entries.length === 0) {
      byPath!.delete(entry.ref.path)
      if (byPath!.size === 0) this.watches.delete(entry.ref.node)
      this.remoting.sendSystem(entry.ref.peer, { type: "unwatch", path: entry.ref.path })
    }
  }

  private forgetWatcher(entry: RemoteWatch): void {
    const set = this.watchedBy.get(entry.watcher as ActorCell)
    if (set === undefined) return
    set.delete(entry)
    if (set.size === 0) this.watchedBy.delete(entry.watcher as ActorCell)
  }

  /** A local actor terminated: it no longer watches anything on other nodes. */
  watcherTerminated(cell: ActorCell): void {
    const entries = this.watchedBy.get(cell)
    if (entries === undefined) return
    this.watchedBy.delete(cell)
    for (const entry of entries) this.unwatchEntry(entry)
  }

  /** An actor of `node` that is watched here terminated. */
  terminated(node: string, path: string, reason: Terminated.Reason): void {
    this.remoting.refs.forgetPath(node, path)
    const byPath = this.watches.get(node)
    const entries = byPath?.get(path)
    if (entries === undefined) return
    byPath!.delete(path)
    if (byPath!.size === 0) this.watches.delete(node)
    for (const entry of entries) {
      if (typeof entry.watcher !== "function") this.forgetWatcher(entry)
      deliverTerminated(entry, reason)
    }
  }

  // other nodes watching actors here

  /** `peer` watches the actor `cell` (undefined when there is none it may watch: it is told at once). */
  watchedFrom(peer: Peer.Peer, path: string, cell: ActorCell | undefined): void {
    if (cell === undefined || cell.isTerminated) {
      this.remoting.sendSystem(peer, { type: "terminated", path, reason: { _tag: "Stopped" } })
      return
    }
    let watcher = this.nodeWatchers.get(peer.node)
    if (watcher === undefined) {
      watcher = new NodeWatcher(this.remoting, peer)
      this.nodeWatchers.set(peer.node, watcher)
    }
    watcher.cells.set(path, cell)
    cell.addWatcher(watcher, undefined)
  }

  unwatchedFrom(peer: Peer.Peer, path: string): void {
    const watcher = this.nodeWatchers.get(peer.node)
    const cell = watcher?.cells.get(path)
    if (watcher === undefined || cell === undefined) return
    cell.removeWatcher(watcher)
    watcher.cells.delete(path)
  }

  /**
   * The node is down: watches of its actors end with `NodeDown` (with the transport's reason and its words), and
   * its watches here end.
   */
  nodeDown(node: string, reason?: Terminated.NodeDown["reason"], detail?: string): void {
    const byPath = this.watches.get(node)
    if (byPath !== undefined) {
      this.watches.delete(node)
      const down = new Terminated.NodeDown({ node, reason, detail })
      for (const entries of byPath.values()) {
        for (const entry of entries) {
          if (typeof entry.watcher !== "function") this.forgetWatcher(entry)
          deliverTerminated(entry, down)
        }
      }
    }
    const watcher = this.nodeWatchers.get(node)
    if (watcher !== undefined) {
      this.nodeWatchers.delete(node)
      for (const cell of watcher.cells.values()) cell.removeWatcher(watcher)
    }
  }

  /** Remote actors watched from here, and actors here watched by other nodes (for tests of leaks). */
  get size(): { readonly watching: number; readonly watched: number } {
    let watching = 0
    for (const byPath of this.watches.values()) for (const entries of byPath.values()) watching += entries.length
    let watched = 0
    for (const watcher of this.nodeWatchers.values()) watched += watcher.cells.size
    return { watching, watched }
  }
}
