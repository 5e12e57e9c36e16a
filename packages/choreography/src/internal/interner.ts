/**
 * One object per distinct local type (hash-consing): two local types built by one interner are equal
 * exactly when they are the same object, so equality is a comparison and merges can be memoised on
 * pairs of objects. A projection is then a graph as large as the protocol, never a tree of all its
 * paths (which grows exponentially with sequential choices).
 */
import type { Schema } from "effect"
import type { Branch, End, LocalType, Receive, Send, Var } from "../LocalType.ts"
import { schemaKey } from "./schemaKey.ts"

const NONE: ReadonlySet<string> = new Set()

const children = (l: LocalType): ReadonlyArray<LocalType> =>
  l._tag === "Rec" ? [l.body] : l._tag === "Send" || l._tag === "Receive" ? l.branches.map((b) => b.next) : []

export class Interner {
  readonly end: End = { _tag: "End" }
  private readonly table = new Map<string, LocalType>()
  private readonly ids = new Map<LocalType, number>([[this.end, 0]])
  private readonly payloads = new Map<string, { readonly id: number; readonly schema: Schema.Top }>()

  /** The number of this local type (every type built here has one). */
  id(local: LocalType): number {
    const id = this.ids.get(local)
    if (id === undefined) throw new Error("a local type from another interner")
    return id
  }

  /** The number of a payload schema: equal for schemas of the same structure (see schemaKey.ts). */
  payload(schema: Schema.Top): number {
    const key = schemaKey(schema)
    let known = this.payloads.get(key)
    if (known === undefined) this.payloads.set(key, (known = { id: this.payloads.size, schema }))
    return known.id
  }

  private intern<L extends LocalType>(key: string, make: () => L): L {
    const known = this.table.get(key)
    if (known !== undefined) return known as L
    const made = make()
    this.table.set(key, made)
    this.ids.set(made, this.ids.size)
    return made
  }

  private action<T extends "Send" | "Receive">(tag: T, peer: string, branches: ReadonlyArray<Branch>) {
    const key = `${tag}${JSON.stringify(peer)}${branches
      .map((b) => `${JSON.stringify(b.label)}:${this.payload(b.payload)}>${this.id(b.next)}`)
      .sort()
      .join(",")}`
    return this.intern(key, (): LocalType => ({ _tag: tag, peer, branches }) as Send | Receive)
  }

  /** `peer!{branches}`. */
  send(peer: string, branches: ReadonlyArray<Branch>): Send {
    return this.action("Send", peer, branches) as Send
  }

  /** `peer?{branches}`. */
  receive(peer: string, branches: ReadonlyArray<Branch>): Receive {
    return this.action("Receive", peer, branches) as Receive
  }

  /** `rec name. body`. */
  rec(name: string, body: LocalType): LocalType {
    return this.intern(`Rec${JSON.stringify(name)}>${this.id(body)}`, () => ({ _tag: "Rec", name, body }))
  }

  private readonly freeNames = new Map<LocalType, ReadonlySet<string>>()

  /** The loop names free in `local` (a `continue` whose `rec` is outside it), memoised per node. */
  free(local: LocalType): ReadonlySet<string> {
    const known = this.freeNames.get(local)
    if (known !== undefined) return known
    const stack: Array<[LocalType, boolean]> = [[local, false]]
    while (stack.length > 0) {
      const [node, expanded] = stack.pop()!
      if (this.freeNames.has(node)) continue
      const kids = children(node)
      if (!expanded) {
        stack.push([node, true])
        for (const kid of kids) if (!this.freeNames.has(kid)) stack.push([kid, false])
        continue
      }
      const names = new Set<string>(node._tag === "Var" ? [node.name] : [])
      for (const kid of kids)
        for (const name of this.freeNames.get(kid)!) if (!(node._tag === "Rec" && name === node.name)) names.add(name)
      this.freeNames.set(node, names.size === 0 ? NONE : names)
    }
    return this.freeNames.get(local)!
  }

  /** `local` with every free `continue name` replaced by `by`. */
  substitute(local: LocalType, name: string, by: LocalType): LocalType {
    const done = new Map<LocalType, LocalType>()
    const stack: Array<[LocalType, boolean]> = [[local, false]]
    while (stack.length > 0) {
      const [node, expanded] = stack.pop()!
      if (done.has(node)) continue
      if (!this.free(node).has(name)) {
        done.set(node, node)
        continue
      }
      if (node._tag === "Var") {
        done.set(node, by)
        continue
      }
      const kids = children(node)
      if (!expanded) {
        stack.push([node, true])
        for (const kid of kids) if (!done.has(kid)) stack.push([kid, false])
        continue
      }
      if (node._tag === "Rec") done.set(node, this.rec(node.name, done.get(node.body)!))
      else if (node._tag === "Send" || node._tag === "Receive") {
        const branches = node.branches.map((b) => ({ label: b.label, payload: b.payload, next: done.get(b.next)! }))
        done.set(node, node._tag === "Send" ? this.send(node.peer, branches) : this.receive(node.peer, branches))
      }
    }
    return done.get(local)!
  }

  /** `rec X. T` unfolded once, `T` with `continue X` replaced by the loop (a loop that starts at once, again). */
  unfold(local: LocalType): LocalType {
    let l = local
    while (l._tag === "Rec") {
      const next = this.substitute(l.body, l.name, l)
      if (next === l) return this.end
      l = next
    }
    return l
  }

  /** `continue name`. */
  variable(name: string): Var {
    return this.intern(`Var${JSON.stringify(name)}`, () => ({ _tag: "Var", name }))
  }
}
