/**
 * Projection of a global protocol on each role, with nuScr's full merge (lib/mpst/ltype.ml): a role
 * outside a choice gets the merge of its branch projections, where
 *
 * - receives from one sender join by label, and the continuations of a label both sides receive (with
 *   the same payload) merge in turn;
 * - a send of one and the same message (same receiver, label and payload) on both sides merges what
 *   follows it;
 * - anything else must be the same local type on both sides.
 *
 * Local types are interned (see interner.ts), and projections and merges are memoised on nodes and on
 * pairs of local types, so checking costs time polynomial in the size of the protocol, and runs on an
 * explicit stack (see solve.ts).
 */
import type { Problem } from "../Choreography.ts"
import type { Branch, LocalType } from "../LocalType.ts"
import { describeAction, describeSchema } from "./describe.ts"
import type { Interner } from "./interner.ts"
import { brief } from "./print.ts"
import { type Cell, evaluate } from "./solve.ts"
import { firstMessages, type GChoice, type Global, segments, sourceOf } from "./tree.ts"

/** Why two local types do not merge: where they differ (`left`, `right`), after the moves in `after`. */
export interface Conflict {
  readonly _tag: "Conflict"
  readonly left: LocalType
  readonly right: LocalType
  readonly reason: string | undefined
  /** The moves both sides make before they differ, innermost last. */
  readonly after: Moves | undefined
}

interface Moves {
  readonly move: string
  readonly rest: Moves | undefined
}

type Merged = LocalType | Conflict

/** A role could not be projected: the problem that prevents it. */
export interface Unprojectable {
  readonly _tag: "Unprojectable"
  readonly problem: Problem
}

type Projected = LocalType | Unprojectable

interface ProjectCell extends Cell<Projected> {
  readonly node: Global
  readonly unguarded: number
}

interface MergeCell extends Cell<Merged> {
  readonly left: LocalType
  readonly right: LocalType
}

const isLocal = (u: Merged | Projected): u is LocalType => u._tag !== "Conflict" && u._tag !== "Unprojectable"

/** Merges of local types made by one interner, memoised on pairs (see the module documentation). */
export class Merger {
  private readonly cells = new Map<string, MergeCell>()
  readonly types: Interner
  constructor(types: Interner) {
    this.types = types
  }

  cell(left: LocalType, right: LocalType): MergeCell {
    const key = `${this.types.id(left)},${this.types.id(right)}`
    let cell = this.cells.get(key)
    if (cell === undefined) this.cells.set(key, (cell = { left, right, value: undefined }))
    return cell
  }

  /** The merge of two local types, or the conflict that prevents it. */
  merge(left: LocalType, right: LocalType): Merged {
    return evaluate(this.cell(left, right), this.step)
  }

  /** One step of the merge of `cell` (see solve.ts); merges are memoised across the roles of a protocol. */
  readonly step = (cell: MergeCell, need: (dep: MergeCell) => Merged | undefined): Merged | undefined => {
    const { left: a, right: b } = cell
    if (a === b) return a
    const conflict = (reason?: string): Conflict => ({ _tag: "Conflict", left: a, right: b, reason, after: undefined })
    const within = (move: string, inner: Conflict): Conflict => ({ ...inner, after: { move, rest: inner.after } })
    if (a._tag === "Receive" && b._tag === "Receive") {
      if (a.peer !== b.peer) return conflict(`it would wait for ${a.peer} in one and for ${b.peer} in the other`)
      const branches: Array<Branch> = [...a.branches]
      let waiting = false
      for (const y of b.branches) {
        const i = branches.findIndex((x) => x.label === y.label)
        const x = branches[i]
        if (x === undefined) {
          branches.push(y)
          continue
        }
        if (this.types.payload(x.payload) !== this.types.payload(y.payload))
          return conflict(
            `label "${y.label}" from ${a.peer} carries different payload schemas${
              describeSchema(x.payload) === describeSchema(y.payload)
                ? ", which print alike: they differ in their checks, transformations or annotations (use one schema for both)"
                : ""
            }`
          )
        const next = need(this.cell(x.next, y.next))
        if (next === undefined) waiting = true
        else if (!isLocal(next)) return within(describeAction("receive", a.peer, y.label, y.payload), next)
        else branches[i] = { label: x.label, payload: x.payload, next }
      }
      return waiting ? undefined : this.types.receive(a.peer, branches)
    }
    if (a._tag === "Send" && b._tag === "Send" && a.branches.length === 1 && b.branches.length === 1) {
      const x = a.branches[0]!
      const y = b.branches[0]!
      if (a.peer === b.peer && x.label === y.label && this.types.payload(x.payload) === this.types.payload(y.payload)) {
        const next = need(this.cell(x.next, y.next))
        if (next === undefined) return undefined
        if (!isLocal(next)) return within(describeAction("send", a.peer, x.label, x.payload), next)
        return this.types.send(a.peer, [{ label: x.label, payload: x.payload, next }])
      }
    }
    return conflict()
  }
}

/** Projects the tree on `role`: its local type, or the problem that prevents it. */
export const project = (tree: Global, role: string, merger: Merger): Projected => {
  const types = merger.types
  const cells = new Map<Global, Array<ProjectCell>>()
  const cellOf = (node: Global, unguarded: number): ProjectCell => {
    let row = cells.get(node)
    if (row === undefined) cells.set(node, (row = []))
    let cell = row[unguarded]
    if (cell === undefined) row[unguarded] = cell = { node, unguarded, value: undefined }
    return cell
  }
  /** The cell of `next` when leaving `node`: loops left behind are no longer unguarded. */
  const follow = (node: Global, next: Global, unguarded: number) =>
    cellOf(next, Math.max(0, Math.min(unguarded, next.depth - node.depth + unguarded)))

  type AnyCell = ProjectCell | MergeCell
  const step = (
    cell: AnyCell,
    needAny: (dep: AnyCell) => Projected | Merged | undefined
  ): Projected | Merged | undefined => {
    if ("left" in cell) return merger.step(cell, needAny as (dep: MergeCell) => Merged | undefined)
    const need = needAny as (dep: ProjectCell) => Projected | undefined
    const { node: g, unguarded: u } = cell
    switch (g._tag) {
      case "End":
        return types.end
      case "Var":
        // The innermost `u` loops were entered since this role last acted: it does not see them repeat.
        return g.level > g.depth - u ? types.end : types.variable(g.name)
      case "Rec": {
        const body = need(cellOf(g.body, u + 1))
        if (body === undefined || !isLocal(body)) return body
        if (body._tag === "End" || (body._tag === "Var" && body.name === g.name)) return types.end
        // A loop whose body never continues it (for this role) is just its body.
        return body._tag === "Var" || !types.free(body).has(g.name) ? body : types.rec(g.name, body)
      }
      case "Message": {
        const { from, to, label, payload } = g.message
        if (role !== from && role !== to) return need(follow(g, g.next, u))
        const next = need(cellOf(g.next, 0))
        if (next === undefined || !isLocal(next)) return next
        const branch = [{ label, payload, next }]
        return role === from ? types.send(to, branch) : types.receive(from, branch)
      }
      case "Parallel": {
        const part = g.parts.find((p) => p.roles.has(role))
        return need(cellOf(part?.tree ?? g.next, u))
      }
      case "Choice": {
        // The chooser, and the role its first messages go to, see every branch start with one of those
        // messages, also a branch that starts with a loop (unfolded) or a `continue` (the first messages of
        // its loop, whose continuations may lead back here: the evaluator then hands out a loop of its own).
        const firsts = g.branches.map((b) => firstMessages(b.tree, g.at))
        const peer = firsts[0]?.[0]?.message.to
        const expand = role === g.at || role === peer
        const locals: Array<LocalType> = []
        let waiting = false
        for (let i = 0; i < g.branches.length; i++) {
          const b = g.branches[i]!
          let local: Projected | undefined
          if (expand && b.tree._tag === "Var") {
            hint = b.tree.name
            const branches: Array<Branch> = []
            for (const m of firsts[i]!) {
              const next = need(cellOf(m.next, 0))
              if (next === undefined) waiting = true
              else if (!isLocal(next)) return next
              else branches.push({ label: m.message.label, payload: m.message.payload, next })
            }
            if (waiting) continue
            local = role === g.at ? types.send(peer!, branches) : types.receive(g.at, branches)
          } else local = need(cellOf(b.tree, u))
          if (local === undefined) waiting = true
          else if (!isLocal(local)) return local
          else locals.push(expand ? types.unfold(local) : local)
        }
        if (waiting) return undefined
        if (role === g.at) {
          // Well-formedness guarantees every branch starts with a send from the chooser to one peer.
          const sends = locals as ReadonlyArray<Extract<LocalType, { _tag: "Send" }>>
          if (sends.some((l) => l._tag !== "Send"))
            throw new Error("a branch of the chooser does not start with its send")
          return types.send(
            sends[0]!.peer,
            sends.flatMap((l) => l.branches)
          )
        }
        let merged = locals[0]!
        for (let i = 1; i < locals.length; i++) {
          const next = needAny(merger.cell(merged, locals[i]!)) as Merged | undefined
          if (next === undefined) return undefined
          if (!isLocal(next)) return { _tag: "Unprojectable", problem: unmergeable(g, role, i, next) }
          merged = next
        }
        return merged
      }
    }
  }
  // Loops of the role's own, found where a `continue` starts a branch: named after that loop (X′, X′2…).
  let hint = ""
  const binders = new Map<ProjectCell, string>()
  const open = new Map<string, Array<ProjectCell>>()
  const stepAndTrack = (
    cell: AnyCell,
    needAny: (dep: AnyCell) => Projected | Merged | undefined
  ): Projected | Merged | undefined => {
    const value = step(cell, needAny)
    if (value !== undefined && "node" in cell && isLocal(value) && binders.size > 0)
      for (const name of types.free(value)) open.get(name)?.push(cell)
    return value
  }
  const cycles = {
    cycle: (dep: AnyCell) => {
      if (!("node" in dep)) return undefined
      let name = binders.get(dep)
      if (name === undefined) {
        const base = `${hint}′`
        let n = 1
        while (open.has(n === 1 ? base : `${base}${n}`)) n++
        name = n === 1 ? base : `${base}${n}`
        binders.set(dep, name)
        open.set(name, [])
      }
      return types.variable(name)
    },
    close: (cell: AnyCell, value: Projected | Merged) => {
      const name = binders.get(cell as ProjectCell)
      if (name === undefined || !isLocal(value)) return value
      // Values worked out inside this loop mention it: outside it, they must be worked out again.
      for (const inside of open.get(name)!) if (inside !== cell) inside.value = undefined
      return types.free(value).has(name) ? types.rec(name, value) : value
    }
  }
  return evaluate<Projected | Merged, AnyCell>(cellOf(tree, 0), stepAndTrack, cycles) as Projected
}

const moves = (after: Moves | undefined): Array<string> => {
  const out: Array<string> = []
  for (let m = after; m !== undefined; m = m.rest) out.push(m.move)
  return out
}

const unmergeable = (choice: GChoice, role: string, index: number, conflict: Conflict): Problem => {
  const branch = choice.branches[index]!.name
  const earlier = choice.branches
    .slice(0, index)
    .map((b) => `"${b.name}"`)
    .join(", ")
  const start = choice.branches[index]!.tree
  const label = start._tag === "Message" ? start.message.label : undefined
  const path = segments(choice.path)
  const source = sourceOf(choice.path)
  const before = moves(conflict.after)
  const shown = before.length > 12 ? `… ${before.slice(-10).join(". ")}` : before.join(". ")
  return {
    code: "UnmergeableBranches",
    path,
    ...(source === undefined ? {} : { source }),
    role,
    branch,
    ...(label === undefined ? {} : { label }),
    message:
      `${path.join(" › ")}: role ${role} cannot learn which branch ${choice.at} chose: ` +
      (before.length === 0 ? "" : `after \`${shown}\` (the same in every branch), `) +
      `in branch${index > 1 ? "es" : ""} ${earlier} it does \`${brief(conflict.left)}\` but in branch "${branch}" it does \`${brief(conflict.right)}\`` +
      `${conflict.reason === undefined ? "" : ` (${conflict.reason})`}. A role outside a choice must act the same in every branch, ` +
      `or first receive from one sender a message whose label differs between the branches.`
  }
}
