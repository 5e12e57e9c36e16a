/**
 * How much of a bounded table each peer node holds, and which node holds the most, each in O(1): the fair share of a
 * bound over all peers (`remoteAccess.maxListings`, `remoteAccess.maxJoinsNotBegun`). When the table is full, a node
 * that holds fewer entries than the one holding the most is let in at that one's expense (its oldest entry leaves),
 * and only a node among those holding the most is refused: so a peer (or a host posing as many node ids) that fills
 * the table cannot starve an honest peer that holds little; each gets at least the bound divided by the nodes holding
 * entries (max-min fair shares).
 */

/**
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
  /** The nodes holding each count (from 1), to find the one holding the most. */
  private readonly byCount = new Map<number, Set<string>>()
  private most = 0
  /** Entries of all nodes together. */
  total = 0

  /** How many entries `node` holds. */
  count(node: string): number {
    return this.counts.get(node) ?? 0
  }

  /** A node holding the most entries (undefined when none holds any). */
  top(): string | undefined {
    return this.byCount.get(this.most)?.values().next().value
  }

  /** How many entries the node holding the most holds. */
  get topCount(): number {
    return this.most
  }

  /**
   * Whether `node` may take an entry of the node holding the most (the table is full): when it would still hold fewer
   * than that node after the move, so entries only move from larger shares to smaller ones and never back and forth.
   */
  mayTakeFromTop(node: string): boolean {
    return this.count(node) + 1 < this.most
  }

  add(node: string): void {
    this.move(node, this.count(node), 1)
  }

  remove(node: string): void {
    this.move(node, this.count(node), -1)
  }

  /** `node` holds nothing any more (it went down): how many it held. */
  removeAll(node: string): number {
    const count = this.count(node)
    if (count > 0) this.move(node, count, -count)
    return count
  }

  private move(node: string, from: number, by: number): void {
    const to = from + by
    if (to < 0) return
    if (from > 0) {
      const nodes = this.byCount.get(from)!
      nodes.delete(node)
      if (nodes.size === 0) this.byCount.delete(from)
    }
    if (to > 0) {
      let nodes = this.byCount.get(to)
      if (nodes === undefined) {
        nodes = new Set()
        this.byCount.set(to, nodes)
      }
      nodes.add(node)
      this.counts.set(node, to)
    } else this.counts.delete(node)
    this.total += by
    if (to > this.most) this.most = to
    while (this.most > 0 && !this.byCount.has(this.most)) this.most--
  }
}
