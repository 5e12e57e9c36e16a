/**
 * Local types as text, without recursion and in space polynomial in the local type's graph.
 *
 * Branches that all go on the same way print what follows once, after the braces: `B!{a(), b()}. T`
 * (not for `end`, which stays with each branch). When the text would still repeat too much (a local type
 * is a graph, and its tree of paths can be exponentially larger), shared parts are printed once under a
 * name: `B?{a(). B?x(). @1, b(). B?y(). @1} where @1 = …`.
 */
import type { Branch, LocalType } from "../LocalType.ts"
import { describeSchema } from "./describe.ts"

/** How many moves the text may hold before shared parts are named. */
const TREE_LIMIT = 2_000

type Action = Extract<LocalType, { readonly branches: unknown }>

/** Whether every branch goes on with one and the same local type (other than `end`), printed once. */
const factored = (l: Action): boolean => {
  if (l.branches.length < 2) return false
  const next = l.branches[0]!.next
  return next._tag !== "End" && l.branches.every((b) => b.next === next)
}

const children = (l: LocalType): ReadonlyArray<LocalType> => {
  switch (l._tag) {
    case "Send":
    case "Receive":
      return factored(l) ? [l.branches[0]!.next] : l.branches.map((b) => b.next)
    case "Rec":
      return [l.body]
    default:
      return []
  }
}

/** Visits every node reachable from `root` once, children before parents. */
const postOrder = (root: LocalType): Array<LocalType> => {
  const order: Array<LocalType> = []
  const seen = new Set<LocalType>([root])
  const stack: Array<[LocalType, number]> = [[root, 0]]
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!
    const kids = children(top[0])
    if (top[1] < kids.length) {
      const kid = kids[top[1]++]!
      if (!seen.has(kid)) {
        seen.add(kid)
        stack.push([kid, 0])
      }
    } else {
      stack.pop()
      order.push(top[0])
    }
  }
  return order
}

const alternative = (b: Branch) => `${b.label}(${describeSchema(b.payload)})`

/**
 * Prints `root`; a node in `names` (other than `root` itself) prints as its name; past `budget` moves,
 * what is left prints as `…`.
 */
const text = (root: LocalType, names: ReadonlyMap<LocalType, string>, budget = Number.POSITIVE_INFINITY): string => {
  const out: Array<string> = []
  const stack: Array<string | LocalType> = [root]
  let moves = 0
  while (stack.length > 0) {
    const item = stack.pop()!
    if (typeof item === "string") {
      out.push(item)
      continue
    }
    const name = item === root ? undefined : names.get(item)
    if (name !== undefined) {
      out.push(name)
      continue
    }
    switch (item._tag) {
      case "End":
        out.push("end")
        break
      case "Var":
        out.push(`continue ${item.name}`)
        break
      case "Rec":
        stack.push(item.body, `rec ${item.name}. `)
        break
      case "Send":
      case "Receive": {
        if (moves++ >= budget) {
          out.push("…")
          break
        }
        const head = `${item.peer}${item._tag === "Send" ? "!" : "?"}`
        if (item.branches.length === 1) {
          stack.push(item.branches[0]!.next, `${head}${alternative(item.branches[0]!)}. `)
        } else if (factored(item)) {
          stack.push(item.branches[0]!.next, `${head}{${item.branches.map(alternative).join(", ")}}. `)
        } else {
          const parts: Array<string | LocalType> = [`${head}{`]
          item.branches.forEach((b, i) => {
            parts.push(`${i === 0 ? "" : ", "}${alternative(b)}. `, b.next)
          })
          parts.push("}")
          for (let i = parts.length - 1; i >= 0; i--) stack.push(parts[i]!)
        }
        break
      }
    }
  }
  return out.join("")
}

/** The names of the shared closed parts of `root`, when printing it as a tree would be too long. */
const sharedNames = (root: LocalType): ReadonlyMap<LocalType, string> => {
  const order = postOrder(root)
  const size = new Map<LocalType, number>()
  const free = new Map<LocalType, ReadonlySet<string>>()
  const references = new Map<LocalType, number>()
  for (const node of order) {
    let total = node._tag === "Send" || node._tag === "Receive" ? 1 : 0
    const vars = new Set<string>(node._tag === "Var" ? [node.name] : [])
    for (const kid of children(node)) {
      total = Math.min(Number.MAX_SAFE_INTEGER, total + size.get(kid)!)
      for (const v of free.get(kid)!) if (!(node._tag === "Rec" && v === node.name)) vars.add(v)
      references.set(kid, (references.get(kid) ?? 0) + 1)
    }
    size.set(node, total)
    free.set(node, vars)
  }
  const names = new Map<LocalType, string>()
  if (size.get(root)! <= TREE_LIMIT) return names
  // Outermost first, so that names read in the order the text uses them.
  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i]!
    if (node !== root && references.get(node)! > 1 && free.get(node)!.size === 0 && size.get(node)! > 2)
      names.set(node, `@${names.size + 1}`)
  }
  return names
}

/** The local type as text (see `LocalType.print`). */
export const print = (local: LocalType): string => {
  const names = sharedNames(local)
  const main = text(local, names)
  if (names.size === 0) return main
  return `${main} where ${[...names].map(([node, name]) => `${name} = ${text(node, names)}`).join("; ")}`
}

/** The first few moves of a local type, `…` for the rest: for error messages. */
export const brief = (local: LocalType): string => text(local, new Map(), 6)
