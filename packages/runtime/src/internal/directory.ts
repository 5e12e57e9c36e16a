/**
 * A replicated directory of actors by name: the table behind both the receptionist (service keys) and
 * topics (subscribers). Local entries are refs of this node, removed when their actor terminates and
 * announced to the other nodes; remote entries are addresses announced by other nodes, removed when they
 * say so or when their node goes down. Refs to remote entries are made with the protocol of whoever asks.
 */
import type { ActorRef } from "../ActorRef.ts"
import type * as Protocol from "../Protocol.ts"
import type { SystemImpl } from "./system.ts"

/** An entry as announced to other nodes. */
export interface Announcement {
  readonly name: string
  readonly protocol: string
  readonly path: string
}

type Listener = () => void

interface RemoteEntry {
  readonly node: string
  readonly path: string
  readonly protocol: string
}

class Entries {
  readonly local = new Map<ActorRef<Protocol.Any>, () => void>()
  readonly remote = new Map<string, RemoteEntry>()
  readonly listeners = new Set<Listener>()
}

export class Directory {
  private readonly entries = new Map<string, Entries>()
  private readonly system: SystemImpl
  /** Set by remoting: tells the other nodes of a local change. */
  announce: ((op: "add" | "remove", entry: Announcement) => void) | undefined = undefined

  constructor(system: SystemImpl) {
    this.system = system
  }

  private get(name: string): Entries {
    let entries = this.entries.get(name)
    if (entries === undefined) {
      entries = new Entries()
      this.entries.set(name, entries)
    }
    return entries
  }

  private changed(entries: Entries, name: string, notify = true): void {
    if (notify) for (const listener of entries.listeners) listener()
    if (entries.local.size === 0 && entries.remote.size === 0 && entries.listeners.size === 0) {
      this.entries.delete(name)
    }
  }

  /** Adds a local actor (once); it leaves by itself when it terminates. */
  add(name: string, ref: ActorRef<Protocol.Any>): void {
    const entries = this.get(name)
    if (entries.local.has(ref)) return
    entries.local.set(
      ref,
      this.system.onTermination(ref, () => this.remove(name, ref))
    )
    this.announce?.("add", { name, protocol: ref.protocol.name, path: ref.path })
    this.changed(entries, name)
  }

  remove(name: string, ref: ActorRef<Protocol.Any>): void {
    const entries = this.entries.get(name)
    const cancel = entries?.local.get(ref)
    if (entries === undefined || cancel === undefined) return
    cancel()
    entries.local.delete(ref)
    this.announce?.("remove", { name, protocol: ref.protocol.name, path: ref.path })
    this.changed(entries, name)
  }

  /** An entry another node announced. */
  addRemote(node: string, entry: Announcement): void {
    const entries = this.get(entry.name)
    entries.remote.set(`${node}\u0000${entry.path}`, { node, path: entry.path, protocol: entry.protocol })
    this.changed(entries, entry.name)
  }

  removeRemote(node: string, entry: Announcement): void {
    const entries = this.entries.get(entry.name)
    if (entries?.remote.delete(`${node}\u0000${entry.path}`)) this.changed(entries, entry.name)
  }

  /** A node went down, or re-announced everything: forget all its entries. */
  removeNode(node: string): void {
    for (const [name, entries] of [...this.entries]) {
      let removed = false
      for (const [key, entry] of entries.remote) {
        if (entry.node === node) {
          entries.remote.delete(key)
          removed = true
        }
      }
      if (removed) this.changed(entries, name)
    }
  }

  /** Whether a local actor at `path` is listed under some name. */
  isListed(path: string): boolean {
    for (const entries of this.entries.values()) {
      for (const ref of entries.local.keys()) if (ref.path === path) return true
    }
    return false
  }

  /** Every local entry, to announce to a node that just joined. */
  localAnnouncements(): ReadonlyArray<Announcement> {
    const out: Array<Announcement> = []
    for (const [name, entries] of this.entries) {
      for (const ref of entries.local.keys()) out.push({ name, protocol: ref.protocol.name, path: ref.path })
    }
    return out
  }

  /** The refs under a name, local first, remote ones made with `protocol` (entries of another protocol are skipped). */
  refs<P extends Protocol.Any>(name: string, protocol: P): ReadonlyArray<ActorRef<P>> {
    const entries = this.entries.get(name)
    if (entries === undefined) return []
    const out: Array<ActorRef<P>> = [...entries.local.keys()] as Array<ActorRef<P>>
    for (const entry of entries.remote.values()) {
      if (entry.protocol !== protocol.name) continue
      const ref = this.system.remoteRef(entry.node, entry.path, protocol)
      if (ref !== undefined) out.push(ref)
    }
    return out
  }

  /** Calls `listener` after every change under a name; returns a canceller. */
  listen(name: string, listener: Listener): () => void {
    const entries = this.get(name)
    entries.listeners.add(listener)
    return () => {
      entries.listeners.delete(listener)
      this.changed(entries, name, false)
    }
  }
}
