/**
 * A replicated directory of actors by name: the table behind both the receptionist (service keys) and
 * topics (subscribers). Local entries are refs of this node, removed when their actor terminates and
 * announced to the other nodes; remote entries are addresses announced by other nodes, removed when they
 * say so or when their node goes down. Refs to remote entries are made with the protocol of whoever asks.
 *
 * Each peer node may have at most `remoteAccess.maxListingsPerNode` entries here: a listing past that is refused
 * (logged at most once a second per peer, with how many more were), so a peer cannot grow this node's memory by
 * listing actors it makes up under a key or topic it may use. Its entries are counted as they come and go. All peer
 * nodes together may have at most `remoteAccess.maxListings` (a peer may join under many node ids), shared fairly by
 * the peers' addresses and then their node ids (see `shares.ts`): past the bound, a listing of a node whose address
 * (or, within one address, the node itself) holds fewer than the one holding the most is let in at that one's expense
 * (its oldest listing is dropped, with a warning a second naming both), and the rest are refused (a warning a second
 * for all peers): so a peer that fills the table, under however many node ids, cannot starve an honest peer.
 */
import { Effect } from "effect"
import type { ActorRef } from "../ActorRef.ts"
import type * as Protocol from "../Protocol.ts"
import * as RemoteAccess from "../RemoteAccess.ts"
import { type Changes, Listing, type RemoteEntry } from "./listing.ts"
import { PeerLogWindow } from "./peerLogWindow.ts"
import { FairTable, type Holdings, unitOf } from "./shares.ts"
import type { SystemImpl } from "./system.ts"

/** An entry as announced to other nodes. */
export interface Announcement {
  readonly name: string
  readonly protocol: string
  readonly path: string
}

class Entries {
  readonly local = new Map<ActorRef<Protocol.Any>, () => void>()
  readonly remote = new Map<string, RemoteEntry>()
  /** The subscribers' listings, each told every change (see `listing.ts`). */
  readonly listeners = new Set<Changes>()
}

export class Directory {
  private readonly entries = new Map<string, Entries>()
  private readonly system: SystemImpl
  /**
   * Each peer node's entries, oldest first (by `name` NUL `key`), bounded per node (`maxListingsPerNode`) and all
   * together (`maxListings`), shared fairly by address and node: an oldest one leaves when a smaller share needs room.
   */
  private readonly table = new FairTable<{ readonly name: string; readonly key: string }>()
  /** Warnings about listings refused past a bound: at most one a second per peer (and one for all peers). */
  private readonly refusals = new PeerLogWindow()
  /** Set by remoting: tells the other nodes of a local change. */
  announce: ((op: "add" | "remove", entry: Announcement) => void) | undefined = undefined

  constructor(system: SystemImpl) {
    this.system = system
  }

  /** The most entries one peer node may have here (read when first needed: the settings come after this table). */
  private get maxPerNode(): number {
    return this.system.settings.remoteAccess.maxListingsPerNode ?? RemoteAccess.defaultMaxListingsPerNode
  }

  /** The most entries all peer nodes together may have here. */
  private get maxAll(): number {
    return this.system.settings.remoteAccess.maxListings ?? RemoteAccess.defaultMaxListings
  }

  private get(name: string): Entries {
    let entries = this.entries.get(name)
    if (entries === undefined) {
      entries = new Entries()
      this.entries.set(name, entries)
    }
    return entries
  }

  /** Forgets the entries of a name with nothing left under it. */
  private changed(entries: Entries, name: string): void {
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
    for (const listing of entries.listeners) listing.localAdded(ref)
  }

  remove(name: string, ref: ActorRef<Protocol.Any>): void {
    const entries = this.entries.get(name)
    const cancel = entries?.local.get(ref)
    if (entries === undefined || cancel === undefined) return
    cancel()
    entries.local.delete(ref)
    this.announce?.("remove", { name, protocol: ref.protocol.name, path: ref.path })
    for (const listing of entries.listeners) listing.localRemoved(ref)
    this.changed(entries, name)
  }

  /**
   * An entry another node announced; refused (and logged) past the node's `maxListingsPerNode` entries, or past
   * `maxListings` of all peer nodes.
   */
  addRemote(node: string, entry: Announcement): void {
    const key = `${node}\u0000${entry.path}`
    const known = this.entries.get(entry.name)
    if (known === undefined || !known.remote.has(key)) {
      const table = this.table
      if (table.count(node) >= this.maxPerNode) {
        this.refused(node, entry.name, undefined)
        return
      }
      const unit = unitOf(this.system, node)
      if (table.total >= this.maxAll) {
        const yielder = table.yielder(node, unit)
        if (yielder === undefined) {
          this.refused(node, entry.name, table.holdings(node, unit))
          return
        }
        this.dropOldest(yielder, node, table.holdings(node, unit))
      }
      table.add(node, unit, `${entry.name}\u0000${key}`, { name: entry.name, key })
    }
    const entries = known ?? this.get(entry.name)
    const remote: RemoteEntry = { node, path: entry.path, protocol: entry.protocol }
    entries.remote.set(key, remote)
    for (const listing of entries.listeners) listing.remoteSet(key, remote)
  }

  removeRemote(node: string, entry: Announcement): void {
    const entries = this.entries.get(entry.name)
    const key = `${node}\u0000${entry.path}`
    if (entries?.remote.delete(key)) {
      this.forgotten(node, entry.name, key)
      for (const listing of entries.listeners) listing.remoteRemoved(key)
      this.changed(entries, entry.name)
    }
  }

  /** Entry `key` of `node` under `name` left. */
  private forgotten(node: string, name: string, key: string): void {
    this.table.delete(node, `${name}\u0000${key}`)
  }

  /**
   * The table is full and `taker` (or its address) holds fewer entries than `node` (or its address), which holds the
   * most: `node`'s oldest entry leaves to make room (logged at most once a second for all nodes, naming who holds what).
   */
  private dropOldest(node: string, taker: string, holdings: Holdings): void {
    const [, oldest] = this.table.oldest(node)!
    const held = this.table.count(node)
    const address = this.table.addressOf(node)
    const entries = this.entries.get(oldest.name)!
    entries.remote.delete(oldest.key)
    this.forgotten(node, oldest.name, oldest.key)
    for (const listing of entries.listeners) listing.remoteRemoved(oldest.key)
    this.changed(entries, oldest.name)
    const earlier = this.refusals.admit("\u0000dropped", Date.now())
    if (earlier === undefined) return
    const more = earlier === 0 ? "" : ` (and ${earlier} more dropped earlier)`
    const detail =
      `${this.what(oldest.name)}: peer nodes have ${this.maxAll} listings here, the most all of them together may have ` +
      `(remoteAccess.maxListings), shared fairly by address and then node id; this node held ${held} and its address ` +
      `${address.address} ${address.held}, the most, so its oldest listing left for one of node ${taker}, which held ` +
      `${holdings.node.held} (its address ${holdings.node.address} ${holdings.node.addressHeld})${more}. ` +
      `Raise remoteAccess.maxListings if the peers' listings are honest`
    this.system.runBackground(
      Effect.logWarning("A peer's listing was dropped").pipe(Effect.annotateLogs({ peer: node, detail }))
    )
  }

  private what(name: string): string {
    return this === this.system.receptionist ? `registration under key ${name}` : `subscription to topic ${name}`
  }

  /** A listing of `node` refused: past its own bound (`holdings` undefined), or past the bound of all. */
  private refused(node: string, name: string, holdings: Holdings | undefined): void {
    // past the bound of all peers, one line a second whichever peer lists (a peer may join under many ids)
    const earlier = this.refusals.admit(holdings === undefined ? node : "\u0000all peers", Date.now())
    if (earlier === undefined) return
    const more = earlier === 0 ? "" : ` (and ${earlier} more refused earlier)`
    const full =
      holdings === undefined
        ? `the node has ${this.maxPerNode} listings here already, the most one node may have (remoteAccess.maxListingsPerNode)`
        : `peer nodes have ${this.maxAll} listings here already, the most all of them together may have (remoteAccess.maxListings), ` +
          `and this node holds ${holdings.node.held} of them, its address ${holdings.node.address} ` +
          `${holdings.node.addressHeld}, as many as any (address ${holdings.most.address} holds ` +
          `${holdings.most.addressHeld}, node ${holdings.most.node} ${holdings.most.held}): addresses and nodes holding fewer are still let in`
    const detail = `${this.what(name)}: ${full}${more}`
    this.system.runBackground(Effect.logWarning("A peer was refused").pipe(Effect.annotateLogs({ peer: node, detail })))
  }

  /** A node went down, or re-announced everything: forget all its entries. */
  removeNode(node: string): void {
    if (this.table.deleteNode(node) === undefined) return
    for (const [name, entries] of [...this.entries]) {
      let removed = false
      for (const [key, entry] of entries.remote) {
        if (entry.node === node) {
          entries.remote.delete(key)
          for (const listing of entries.listeners) listing.remoteRemoved(key)
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

  /**
   * A listing of `name` for a subscriber speaking `protocol`, kept change by change (see `listing.ts`): `signal` is
   * called when it changed and the subscriber has not taken it since (the first time for the listing as it is now).
   * `cancel` stops it.
   */
  listen<P extends Protocol.Any>(
    name: string,
    protocol: P,
    signal: (listing: Listing<P>) => void
  ): { readonly listing: Listing<P>; readonly cancel: () => void } {
    const entries = this.get(name)
    const listing = new Listing(protocol, (node, path, p: P) => this.system.remoteRef(node, path, p), signal)
    for (const ref of entries.local.keys()) listing.localAdded(ref)
    for (const [key, entry] of entries.remote) listing.remoteSet(key, entry)
    listing.changed()
    entries.listeners.add(listing)
    return {
      listing,
      cancel: () => {
        entries.listeners.delete(listing)
        this.changed(entries, name)
      }
    }
  }
}
