/**
 * Projection of a global protocol on each role, with full merging as in nuScr (lib/mpst/ltype.ml):
 * a role outside a choice gets the merge of its branch projections, where receives from one
 * sender join by label (continuations of a shared label merge in turn) and anything else must be equal.
 */
import type { Schema } from "effect"
import type { Message, Problem, Step, Steps } from "../Choreography.ts"
import { type Branch, type LocalType, print, type Receive, type Send } from "../LocalType.ts"

/** The global protocol as a tree: every step knows what follows it (continuations are shared, not copied). */
export type Global =
  | { readonly _tag: "Message"; readonly message: Message; readonly next: Global }
  | {
      readonly _tag: "Choice"
      readonly at: string
      readonly path: ReadonlyArray<string>
      readonly branches: ReadonlyArray<{ readonly name: string; readonly tree: Global }>
    }
  | { readonly _tag: "Rec"; readonly name: string; readonly body: Global }
  | { readonly _tag: "Var"; readonly name: string }
  | { readonly _tag: "End" }
  | {
      readonly _tag: "Parallel"
      readonly parts: ReadonlyArray<{ readonly roles: ReadonlySet<string>; readonly tree: Global }>
      readonly next: Global
    }

const END: Global = { _tag: "End" }

/** The tree of `steps` followed by `next` (steps are assumed structurally valid). */
export const toTree = (steps: Steps, next: Global = END, path: ReadonlyArray<string> = []): Global =>
  steps.reduceRight<Global>((k, step) => stepTree(step, k, path), next)

const stepTree = (step: Step, next: Global, path: ReadonlyArray<string>): Global => {
  switch (step._tag) {
    case "Message":
      return { _tag: "Message", message: step, next }
    case "Choice": {
      const here = [...path, `choice at ${step.at}`]
      return {
        _tag: "Choice",
        at: step.at,
        path: here,
        branches: Object.entries(step.branches).map(([name, steps]) => ({
          name,
          tree: toTree(steps, next, [...here, `branch "${name}"`])
        }))
      }
    }
    case "Loop":
      return { _tag: "Rec", name: step.name, body: toTree(step.body, next, [...path, `loop "${step.name}"`]) }
    case "Continue":
      return { _tag: "Var", name: step.name }
    case "End":
      return END
    case "Parallel":
      return {
        _tag: "Parallel",
        parts: step.parts.map((part, i) => ({
          roles: rolesOf(part),
          tree: toTree(part, next, [...path, `parallel part ${i + 1}`])
        })),
        next
      }
    case "Include":
      return toTree(step.body, next, [...path, `include "${step.protocol}"`])
  }
}

/** Every role that occurs in `steps`. */
export const rolesOf = (steps: Steps, into: Set<string> = new Set()): Set<string> => {
  for (const step of steps) {
    switch (step._tag) {
      case "Message":
        into.add(step.from).add(step.to)
        break
      case "Choice":
        into.add(step.at)
        for (const branch of Object.values(step.branches)) rolesOf(branch, into)
        break
      case "Loop":
        rolesOf(step.body, into)
        break
      case "Parallel":
        for (const part of step.parts) rolesOf(part, into)
        break
      case "Include":
        rolesOf(step.body, into)
        break
    }
  }
  return into
}

/** Structural equality of local types (payload schemas compare by identity). */
const equals = (a: LocalType, b: LocalType): boolean => {
  if (a === b) return true
  switch (a._tag) {
    case "End":
      return b._tag === "End"
    case "Var":
      return b._tag === "Var" && a.name === b.name
    case "Rec":
      return b._tag === "Rec" && a.name === b.name && equals(a.body, b.body)
    case "Send":
    case "Receive":
      return (
        b._tag === a._tag &&
        a.peer === b.peer &&
        a.branches.length === b.branches.length &&
        a.branches.every((x) => {
          const y = b.branches.find((y) => y.label === x.label)
          return y !== undefined && samePayload(x.payload, y.payload) && equals(x.next, y.next)
        })
      )
  }
}

/** Two payload schemas are the same when they are the same schema (or share their AST). */
const samePayload = (a: Schema.Top, b: Schema.Top): boolean => a === b || a.ast === b.ast

class MergeConflict {
  readonly reason: string
  constructor(reason: string) {
    this.reason = reason
  }
}

class Unmergeable {
  readonly problem: Problem
  constructor(problem: Problem) {
    this.problem = problem
  }
}

const merge = (a: LocalType, b: LocalType): LocalType => {
  if (equals(a, b)) return a
  if (a._tag !== "Receive" || b._tag !== "Receive") throw new MergeConflict("")
  if (a.peer !== b.peer) throw new MergeConflict(`it would wait for ${a.peer} in one and for ${b.peer} in the other`)
  const branches: Array<Branch> = [...a.branches]
  for (const y of b.branches) {
    const i = branches.findIndex((x) => x.label === y.label)
    const x = branches[i]
    if (x === undefined) branches.push(y)
    else if (!samePayload(x.payload, y.payload))
      throw new MergeConflict(`label "${y.label}" from ${a.peer} carries different payload schemas`)
    else branches[i] = { label: x.label, payload: x.payload, next: merge(x.next, y.next) }
  }
  return { _tag: "Receive", peer: a.peer, branches }
}

const brief = (local: LocalType): string => {
  const text = print(local)
  return text.length > 100 ? `${text.slice(0, 99)}…` : text
}

/** Projects `tree` on `role`; the result is the local type or the problem that prevents it. */
export const project = (tree: Global, role: string): LocalType | Problem => {
  const memo = new Map<Global, Map<string, LocalType>>()
  const go = (g: Global, unguarded: ReadonlySet<string>): LocalType => {
    const key = [...unguarded].sort().join("\u0000")
    let byKey = memo.get(g)
    const cached = byKey?.get(key)
    if (cached !== undefined) return cached
    const local = projectNode(g, unguarded)
    if (byKey === undefined) {
      byKey = new Map()
      memo.set(g, byKey)
    }
    byKey.set(key, local)
    return local
  }
  const none: ReadonlySet<string> = new Set()
  const projectNode = (g: Global, unguarded: ReadonlySet<string>): LocalType => {
    switch (g._tag) {
      case "End":
        return { _tag: "End" }
      case "Var":
        return unguarded.has(g.name) ? { _tag: "End" } : { _tag: "Var", name: g.name }
      case "Rec": {
        const body = go(g.body, new Set([...unguarded, g.name]))
        if (body._tag === "End" || (body._tag === "Var" && body.name === g.name)) return { _tag: "End" }
        return body._tag === "Var" ? body : { _tag: "Rec", name: g.name, body }
      }
      case "Message": {
        const { from, to, label, payload } = g.message
        if (role !== from && role !== to) return go(g.next, unguarded)
        const branch = { label, payload, next: go(g.next, none) }
        return role === from
          ? ({ _tag: "Send", peer: to, branches: [branch] } satisfies Send)
          : ({ _tag: "Receive", peer: from, branches: [branch] } satisfies Receive)
      }
      case "Parallel": {
        const part = g.parts.find((p) => p.roles.has(role))
        return go(part?.tree ?? g.next, unguarded)
      }
      case "Choice": {
        const locals = g.branches.map((b) => go(b.tree, unguarded))
        if (role === g.at) {
          // Well-formedness guarantees every branch starts with a send from the chooser to one peer.
          const sends = locals as ReadonlyArray<Send>
          return { _tag: "Send", peer: sends[0]!.peer, branches: sends.flatMap((s) => s.branches) }
        }
        let merged = locals[0]!
        for (let i = 1; i < locals.length; i++) {
          try {
            merged = merge(merged, locals[i]!)
          } catch (e) {
            if (!(e instanceof MergeConflict)) throw e
            throw new Unmergeable(unmergeable(g, role, i, merged, locals[i]!, e.reason))
          }
        }
        return merged
      }
    }
  }
  try {
    return go(tree, none)
  } catch (e) {
    if (e instanceof Unmergeable) return e.problem
    throw e
  }
}

const unmergeable = (
  choice: Extract<Global, { _tag: "Choice" }>,
  role: string,
  index: number,
  before: LocalType,
  after: LocalType,
  reason: string
): Problem => {
  const branch = choice.branches[index]!.name
  const earlier = choice.branches
    .slice(0, index)
    .map((b) => `"${b.name}"`)
    .join(", ")
  const start = choice.branches[index]!.tree
  const label = start._tag === "Message" ? start.message.label : undefined
  return {
    code: "UnmergeableBranches",
    path: choice.path,
    role,
    branch,
    ...(label === undefined ? {} : { label }),
    message:
      `${choice.path.join(" › ")}: role ${role} cannot learn which branch ${choice.at} chose: ` +
      `in branch${index > 1 ? "es" : ""} ${earlier} it does \`${brief(before)}\` but in branch "${branch}" it does \`${brief(after)}\`` +
      `${reason === "" ? "" : ` (${reason})`}. A role outside a choice must act the same in every branch, ` +
      `or first receive from one sender a message whose label differs between the branches.`
  }
}
