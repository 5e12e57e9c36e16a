/**
 * The state machine of a role: its local type as numbered states and labelled transitions.
 * This is what a run-time `Monitor` steps through, and what a checkpoint records (a state number).
 *
 * @example
 * ```ts
 * console.log(StateMachine.print(StateMachine.of(TwoBuyer, "S")))
 * // TwoBuyer/S (start 0)
 * //   0: A?title(string) -> 1
 * //   1: A!quote(number) -> 2
 * //   2: B!quote(number) -> 3
 * //   3: A?buy(string) -> 4, A?cancel() -> 4
 * //   4: end
 * ```
 *
 * @since 0.1.0
 */
import type { Schema } from "effect"
import type { Protocol, RolesOf } from "./Choreography.ts"
import { describeAction } from "./internal/describe.ts"
import type { LocalType } from "./LocalType.ts"

/** One move: in state `from`, sending to / receiving from `peer` the label `label` leads to state `to`. */
export interface Transition {
  readonly from: number
  readonly to: number
  readonly direction: "send" | "receive"
  readonly peer: string
  readonly label: string
  readonly payload: Schema.Top
}

/**
 * A state. In a `send` state the role sends one of its transitions (all to `peer`); in a `receive`
 * state it receives one of them from `peer`; in the `end` state it is done.
 */
export interface State {
  readonly id: number
  readonly kind: "send" | "receive" | "end"
  readonly peer: string | undefined
  readonly transitions: ReadonlyArray<Transition>
}

/** The state machine of `role` in `protocol`; states are numbered from `start` = 0 in breadth-first order. */
export interface StateMachine {
  readonly protocol: string
  readonly role: string
  readonly start: number
  readonly states: ReadonlyArray<State>
  /**
   * In an instance of a protocol with families (see `Choreography.instantiate`): the number of members of
   * each family. An endpoint's send to a family goes to every member, and its receive from a family's
   * first member takes one message from each.
   */
  readonly families?: Readonly<Record<string, number>>
}

/** The state machine of `role` in `protocol` (built when the protocol was built). */
export const of = <P extends Protocol, Role extends RolesOf<P>>(protocol: P, role: Role): StateMachine => {
  const machine = protocol.machines.get(role)
  if (machine === undefined) throw new Error(`Role "${role}" is not a role of protocol "${protocol.name}"`)
  return machine
}

interface Draft {
  kind: "send" | "receive" | "end"
  peer: string | undefined
  edges: Array<{ label: string; payload: Schema.Top; to: number }>
}

type Action = Extract<LocalType, { readonly branches: unknown }>

/** The loop names free in each node reachable from `root` (a `continue` whose `rec` is outside it). */
const freeVariables = (root: LocalType): Map<LocalType, ReadonlyArray<string>> => {
  const free = new Map<LocalType, ReadonlyArray<string>>()
  const kids = (l: LocalType): ReadonlyArray<LocalType> =>
    l._tag === "Rec" ? [l.body] : l._tag === "Send" || l._tag === "Receive" ? l.branches.map((b) => b.next) : []
  const stack: Array<[LocalType, boolean]> = [[root, false]]
  while (stack.length > 0) {
    const [node, expanded] = stack.pop()!
    if (free.has(node)) continue
    if (!expanded) {
      stack.push([node, true])
      for (const kid of kids(node)) if (!free.has(kid)) stack.push([kid, false])
      continue
    }
    const inner = kids(node).map((kid) => free.get(kid)!)
    if (node._tag !== "Rec" && inner.length === 1) {
      // One child and nothing bound here: the same names, and the same array (long chains stay linear).
      free.set(node, inner[0]!)
      continue
    }
    const vars = new Set<string>(node._tag === "Var" ? [node.name] : [])
    for (const names of inner) for (const v of names) if (!(node._tag === "Rec" && v === node.name)) vars.add(v)
    free.set(node, [...vars].sort())
  }
  return free
}

/** Builds the state machine of a local type (`protocol` and `role` name it). */
export const fromLocalType = (
  local: LocalType,
  names: { readonly protocol: string; readonly role: string }
): StateMachine => {
  const drafts: Array<Draft> = []
  const free = freeVariables(local)
  const ids = new Map<LocalType, number>()
  // A state per node and binding of its free loop names: the same part of a local type under the same
  // loops is one state, so a local type with shared parts gets a machine as small as its graph.
  const memo = new Map<string, number>()
  const todo: Array<[Action, ReadonlyMap<string, number>, number]> = []
  let end: number | undefined
  const fresh = (): number => drafts.push({ kind: "end", peer: undefined, edges: [] }) - 1
  // What the free names of a node are bound to, per array of names and scope (shared along chains).
  const bindings = new WeakMap<ReadonlyArray<string>, WeakMap<ReadonlyMap<string, number>, string>>()
  const keyOf = (l: LocalType, loops: ReadonlyMap<string, number>) => {
    let id = ids.get(l)
    if (id === undefined) ids.set(l, (id = ids.size))
    const names = free.get(l)!
    let byScope = bindings.get(names)
    if (byScope === undefined) bindings.set(names, (byScope = new WeakMap()))
    let bound = byScope.get(loops)
    if (bound === undefined) byScope.set(loops, (bound = names.map((v) => loops.get(v)).join(",")))
    return `${id}|${bound}`
  }
  /** The state of `l` under `loops`: made (and queued to be filled) the first time. */
  const stateOf = (l: LocalType, loops: ReadonlyMap<string, number>): number => {
    // A loop is the state of its first move, with its name (and those of loops it starts at once) bound to it.
    const bound: Array<string> = []
    let inner = l
    while (inner._tag === "Rec") {
      bound.push(inner.name)
      inner = inner.body
    }
    if (inner._tag === "End") return (end ??= fresh())
    if (inner._tag === "Var") {
      const target = bound.includes(inner.name) ? undefined : loops.get(inner.name)
      return target ?? (end ??= fresh())
    }
    const key = keyOf(l, loops)
    const known = memo.get(key)
    if (known !== undefined) return known
    const id = fresh()
    memo.set(key, id)
    const scope = bound.length === 0 ? loops : new Map(loops)
    for (const name of bound) (scope as Map<string, number>).set(name, id)
    todo.push([inner, scope, id])
    return id
  }
  const start = stateOf(local, new Map())
  while (todo.length > 0) {
    const [l, loops, id] = todo.pop()!
    const draft = drafts[id]!
    draft.kind = l._tag === "Send" ? "send" : "receive"
    draft.peer = l.peer
    for (const b of l.branches) draft.edges.push({ label: b.label, payload: b.payload, to: stateOf(b.next, loops) })
  }
  // Renumber breadth-first from the start, so that printed machines read top-down.
  const order: Array<number> = [start]
  const number = new Map<number, number>([[start, 0]])
  for (let i = 0; i < order.length; i++)
    for (const edge of drafts[order[i]!]!.edges)
      if (!number.has(edge.to)) {
        number.set(edge.to, order.length)
        order.push(edge.to)
      }
  const states = order.map((old, id): State => {
    const d = drafts[old]!
    return {
      id,
      kind: d.kind,
      peer: d.peer,
      transitions: d.edges.map((e) => ({
        from: id,
        to: number.get(e.to)!,
        direction: d.kind === "send" ? "send" : "receive",
        peer: d.peer!,
        label: e.label,
        payload: e.payload
      }))
    }
  })
  return { protocol: names.protocol, role: names.role, start: 0, states }
}

/** `A!quote(number)` / `A?buy(string)`: how a transition is written in local types and violations. */
export const describeTransition = (t: Transition): string => describeAction(t.direction, t.peer, t.label, t.payload)

/** The machine as text, one line per state: its transitions and their target states. */
export const print = (machine: StateMachine): string =>
  [
    `${machine.protocol}/${machine.role} (start ${machine.start})`,
    ...machine.states.map(
      (s) =>
        `  ${s.id}: ${s.kind === "end" ? "end" : s.transitions.map((t) => `${describeTransition(t)} -> ${t.to}`).join(", ")}`
    )
  ].join("\n")
