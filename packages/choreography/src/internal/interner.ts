/**
 * One object per distinct local type (hash-consing): two local types built by one interner are equal
 * exactly when they are the same object, so equality is a comparison and merges can be memoised on
 * pairs of objects. A projection is then a graph as large as the protocol, never a tree of all its
 * paths (which grows exponentially with sequential choices).
 */
import type { Schema } from "effect"
import type { Branch, End, LocalType, Receive, Send, Var } from "../LocalType.ts"
import { schemaKey } from "./schemaKey.ts"

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

  /** `continue name`. */
  variable(name: string): Var {
    return this.intern(`Var${JSON.stringify(name)}`, () => ({ _tag: "Var", name }))
  }
}
