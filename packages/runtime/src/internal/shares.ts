/**
 * Fair shares of a bound over all peers (`remoteAccess.maxListings`, `maxJoinsNotBegun`, `maxSessions`): a table of
 * peer nodes' entries, bounded, that no peer can fill so that an honest one is starved.
 *
 * A node id is whatever a peer with the secret says it is: one process may link under as many ids as the node takes
 * peers (`limits.maxPeers`). So the unit of the shares is first the peer's network address (the IP its link's
 * connection came from or went to: an IPv4 address, or an IPv6 /64, the block one host is usually given), and then,
 * among the node ids of one address, the node id. When the table is full, an entry of a node whose address holds
 * fewer entries than the address holding the most is let in at that address's expense (the oldest entry of its node
 * holding the most leaves); else, within its own address, a node holding fewer than the node of that address holding
 * the most is let in at that node's expense; else it is refused. So each address holding entries keeps at least the
 * bound divided by the addresses holding entries, and each node id within it its part of that (max-min fair, both
 * levels), however many ids a peer rotates through. Without an address (in process) a node is its own unit.
 */
import { Peer } from "@troupe/transport"
import type { SystemImpl } from "./system.ts"

/**
 * How many entries each key holds, and which key holds the most, each in O(1).
 *
 * @example
 * ```ts
 * const shares = new Shares()
 * shares.add("flooder")
 * shares.add("flooder")
 * shares.add("honest")
 * shares.top() // "flooder": it holds 2, the most
 * shares.mayTakeFromTop("honest") // true: after taking one of the flooder's it holds no more than the flooder
 * ```
 */
export class Shares {
  private readonly counts = new Map<string, number>()
  /** The keys holding each count (from 1), to find the one holding the most. */
  private readonly byCount = new Map<number, Set<string>>()
  private most = 0
  /** Entries of all keys together. */
  total = 0

  /** How many entries `key` holds. */
  count(key: string): number {
    return this.counts.get(key) ?? 0
  }

  /** A key holding the most entries (undefined when none holds any). */
  top(): string | undefined {
    return this.byCount.get(this.most)?.values().next().value
  }

  /** How many entries the key holding the most holds. */
  get topCount(): number {
    return this.most
  }

  /**
   * Whether `key` may take an entry of the key holding the most (the table is full): when it would still hold fewer
   * than that key after the move, so entries only move from larger shares to smaller ones and never back and forth.
   */
  mayTakeFromTop(key: string): boolean {
    return this.count(key) + 1 < this.most
  }

  add(key: string): void {
    this.move(key, this.count(key), 1)
  }

  /** `key` holds `by` fewer (at most what it holds). */
  remove(key: string, by = 1): void {
    const count = this.count(key)
    if (count > 0) this.move(key, count, -Math.min(by, count))
  }

  /** `key` holds nothing any more: how many it held. */
  removeAll(key: string): number {
    const count = this.count(key)
    if (count > 0) this.move(key, count, -count)
    return count
  }

  private move(key: string, from: number, by: number): void {
    const to = from + by
    if (to < 0) return
    if (from > 0) {
      const keys = this.byCount.get(from)!
      keys.delete(key)
      if (keys.size === 0) this.byCount.delete(from)
    }
    if (to > 0) {
      let keys = this.byCount.get(to)
      if (keys === undefined) {
        keys = new Set()
        this.byCount.set(to, keys)
      }
      keys.add(key)
      this.counts.set(key, to)
    } else this.counts.delete(key)
    this.total += by
    if (to > this.most) this.most = to
    while (this.most > 0 && !this.byCount.has(this.most)) this.most--
  }
}

/** The unit a node without a network address is shared by: its id (never taken for an address: it has a NUL). */
const alone = (node: string) => `node ${node}\u0000`

/**
 * The unit node `node`'s entries are shared by: its address's, an IPv4 address as it is (also one written as IPv6,
 * `::ffff:a.b.c.d`), an IPv6 address's /64 (a host is usually given a whole /64); without an address, its own.
 *
 * @example
 * ```ts
 * addressUnit("flooder-7", "::ffff:192.0.2.9") // "192.0.2.9"
 * addressUnit("flooder-7", "2001:db8:1:2:aaaa::1") // "2001:db8:1:2::/64"
 * ```
 */
export const addressUnit = (node: string, address: string | undefined): string =>
  address === undefined || address === "" ? alone(node) : Peer.addressUnit(address)

/**
 * The unit peer `node`'s entries are shared by on `system`: its link's address (see {@link addressUnit}), or its own
 * when it has none (no link, or in process).
 *
 * @example
 * ```ts
 * table.add(peer.node, unitOf(system, peer.node), key, entry)
 * ```
 */
export const unitOf = (system: SystemImpl, node: string): string =>
  addressUnit(node, system.remoting?.peers.get(node)?.remoteAddress)

/** How a unit is named in messages: its address, or (without one) `node <id>`. */
export const unitName = (unit: string): string => (unit.endsWith("\u0000") ? unit.slice(0, -1) : unit)

/** Who holds what of a full {@link FairTable}, for refusals and warnings. */
export interface Holdings {
  /** Entries of all nodes together. */
  readonly held: number
  /** The node an entry was refused to, or taken for: how many it holds, and its unit (`address`) and what that holds. */
  readonly node: {
    readonly node: string
    readonly held: number
    readonly address: string
    readonly addressHeld: number
  }
  /** The unit holding the most, how many, and its node holding the most (how many). */
  readonly most: {
    readonly address: string
    readonly addressHeld: number
    readonly node: string
    readonly held: number
  }
}

/**
 * A bounded table of peer nodes' entries (by key, each node's oldest first), shared max-min fair by address and then
 * by node id (see the module's comment). The caller says when it is full; the table says who yields.
 *
 * @example
 * ```ts
 * const table = new FairTable<string>()
 * if (table.total >= bound) {
 *   const yielder = table.yielder("honest", "192.0.2.7")
 *   if (yielder === undefined) return refuse(table.holdings("honest", "192.0.2.7"))
 *   const [key] = table.oldest(yielder)!
 *   table.delete(yielder, key) // and end what it was
 * }
 * table.add("honest", "192.0.2.7", "listing-1", "listing-1")
 * ```
 */
export class FairTable<E> {
  /** Entries by unit (address). */
  private readonly units = new Shares()
  /** Entries by node, per unit. */
  private readonly nodesOf = new Map<string, Shares>()
  /** The unit each node holding entries counts in (the one it had when its first entry came). */
  private readonly unitOf = new Map<string, string>()
  /** Each node's entries, oldest first. */
  private readonly byNode = new Map<string, Map<string, E>>()

  /** Entries of all nodes together. */
  get total(): number {
    return this.units.total
  }

  /** How many entries `node` holds. */
  count(node: string): number {
    return this.byNode.get(node)?.size ?? 0
  }

  /** Whether `node` holds the entry `key`. */
  has(node: string, key: string): boolean {
    return this.byNode.get(node)?.has(key) ?? false
  }

  /** The unit `node` counts in: the one it holds entries under, else `unit` (the one its link has now). */
  private unitFor(node: string, unit: string): string {
    return this.unitOf.get(node) ?? unit
  }

  /**
   * The table is full: the node whose oldest entry leaves for an entry of `node` (unit `unit`), or undefined when the
   * entry is refused (its unit holds about as many as any, and the node as many as any of its unit).
   */
  yielder(node: string, unit: string): string | undefined {
    const mine = this.unitFor(node, unit)
    if (this.units.mayTakeFromTop(mine)) return this.nodesOf.get(this.units.top()!)!.top()
    const nodes = this.nodesOf.get(mine)
    return nodes?.mayTakeFromTop(node) === true ? nodes.top() : undefined
  }

  /** Who holds what, as an entry of `node` (unit `unit`) is refused or taken for. */
  holdings(node: string, unit: string): Holdings {
    const mine = this.unitFor(node, unit)
    const top = this.units.top() ?? mine
    const topNodes = this.nodesOf.get(top)
    return {
      held: this.total,
      node: { node, held: this.count(node), address: unitName(mine), addressHeld: this.units.count(mine) },
      most: {
        address: unitName(top),
        addressHeld: this.units.count(top),
        node: topNodes?.top() ?? node,
        held: topNodes?.topCount ?? 0
      }
    }
  }

  /** The address (unit) `node` holds its entries under, and how many that holds. */
  addressOf(node: string): { readonly address: string; readonly held: number } {
    const unit = this.unitOf.get(node)
    return unit === undefined ? { address: "", held: 0 } : { address: unitName(unit), held: this.units.count(unit) }
  }

  /** `node`'s oldest entry. */
  oldest(node: string): [string, E] | undefined {
    return this.byNode.get(node)?.entries().next().value
  }

  /** Counts entry `key` of `node` (unit `unit`, unless the node holds entries under another already). */
  add(node: string, unit: string, key: string, entry: E): void {
    let mine = this.byNode.get(node)
    if (mine === undefined) {
      mine = new Map()
      this.byNode.set(node, mine)
      this.unitOf.set(node, unit)
    } else if (mine.has(key)) {
      mine.set(key, entry)
      return
    }
    mine.set(key, entry)
    const at = this.unitOf.get(node)!
    this.units.add(at)
    let nodes = this.nodesOf.get(at)
    if (nodes === undefined) {
      nodes = new Shares()
      this.nodesOf.set(at, nodes)
    }
    nodes.add(node)
  }

  /** Entry `key` of `node` leaves: the entry, if it was there. */
  delete(node: string, key: string): E | undefined {
    const mine = this.byNode.get(node)
    const entry = mine?.get(key)
    if (entry === undefined) return undefined
    mine!.delete(key)
    this.uncount(node, 1)
    if (mine!.size === 0) this.byNode.delete(node)
    return entry
  }

  /** Every entry of `node` leaves (it went down): its entries, oldest first. */
  deleteNode(node: string): ReadonlyMap<string, E> | undefined {
    const mine = this.byNode.get(node)
    if (mine === undefined) return undefined
    this.byNode.delete(node)
    this.uncount(node, mine.size)
    return mine
  }

  private uncount(node: string, count: number): void {
    const unit = this.unitOf.get(node)!
    const nodes = this.nodesOf.get(unit)!
    this.units.remove(unit, count)
    nodes.remove(node, count)
    if (nodes.count(node) === 0) this.unitOf.delete(node)
    if (nodes.total === 0) this.nodesOf.delete(unit)
  }
}
