/** A growable ring buffer used for mailboxes: O(1) push, shift and unshift. */
export class Deque<A> {
  private items: Array<A | undefined>
  private head = 0
  length = 0

  constructor(initialCapacity = 8) {
    this.items = new Array(initialCapacity)
  }

  push(item: A): void {
    if (this.length === this.items.length) this.grow()
    this.items[(this.head + this.length) % this.items.length] = item
    this.length++
  }

  unshift(item: A): void {
    if (this.length === this.items.length) this.grow()
    this.head = (this.head - 1 + this.items.length) % this.items.length
    this.items[this.head] = item
    this.length++
  }

  shift(): A | undefined {
    if (this.length === 0) return undefined
    const item = this.items[this.head]
    this.items[this.head] = undefined
    this.head = (this.head + 1) % this.items.length
    this.length--
    return item
  }

  peek(): A | undefined {
    return this.length === 0 ? undefined : this.items[this.head]
  }

  /** Removes and returns every item, oldest first. */
  drain(): Array<A> {
    const out: Array<A> = []
    for (let item = this.shift(); item !== undefined; item = this.shift()) out.push(item)
    return out
  }

  private grow(): void {
    const next = new Array<A | undefined>(this.items.length * 2)
    for (let i = 0; i < this.length; i++) next[i] = this.items[(this.head + i) % this.items.length]
    this.items = next
    this.head = 0
  }
}
