/**
 * A table of requests by correlation id that keeps one of them in a field of its own: a caller that asks one request
 * at a time (the usual ask, and the callee's side of it) never touches the `Map` behind. A `Map` whose one entry is
 * deleted shrinks, so each request would cost a new hash table (and a hash of its freshly read id) on both sides.
 */
export class IdMap<V> {
  /** The request in the field, by its id (undefined: none). */
  private id: string | undefined = undefined
  private value: V | undefined = undefined
  /** The others, while the field is taken. */
  private readonly rest = new Map<string, V>()

  /**
   * @example
   * ```ts
   * const asks = new IdMap<string>()
   * asks.set("1", "first")
   * asks.get("1") // "first"
   * ```
   */
  get(id: string): V | undefined {
    return id === this.id ? this.value : this.rest.size === 0 ? undefined : this.rest.get(id)
  }

  set(id: string, value: V): void {
    // the field when it is free (or this id's), unless this id is behind it already
    if (this.id === id || (this.id === undefined && (this.rest.size === 0 || !this.rest.has(id)))) {
      this.id = id
      this.value = value
    } else this.rest.set(id, value)
  }

  delete(id: string): void {
    if (id === this.id) {
      this.id = undefined
      this.value = undefined
    } else if (this.rest.size > 0) this.rest.delete(id)
  }

  get size(): number {
    return (this.id === undefined ? 0 : 1) + this.rest.size
  }

  /** Every value, in a new array (safe to change the table while going through it). */
  values(): Array<V> {
    const values = [...this.rest.values()]
    if (this.id !== undefined) values.unshift(this.value as V)
    return values
  }
}
