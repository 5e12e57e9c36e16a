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

/** Builds the state machine of a local type (`protocol` and `role` name it). */
export const fromLocalType = (
  local: LocalType,
  names: { readonly protocol: string; readonly role: string }
): StateMachine => {
  const drafts: Array<Draft> = []
  const memo = new Map<LocalType, number>()
  let end: number | undefined
  const fresh = (): number => drafts.push({ kind: "end", peer: undefined, edges: [] }) - 1
  // The state of `l`, filled into `slot` when given (a loop's first state is reserved before its body is built).
  const build = (l: LocalType, loops: ReadonlyMap<string, number>, slot?: number): number => {
    switch (l._tag) {
      case "End":
        end ??= fresh()
        return end
      case "Var":
        return loops.get(l.name)!
      case "Rec": {
        const id = slot ?? fresh()
        return build(l.body, new Map(loops).set(l.name, id), id)
      }
      case "Send":
      case "Receive": {
        const known = memo.get(l)
        if (known !== undefined && slot === undefined) return known
        const id = slot ?? fresh()
        memo.set(l, id)
        const draft = drafts[id]!
        draft.kind = l._tag === "Send" ? "send" : "receive"
        draft.peer = l.peer
        for (const b of l.branches) draft.edges.push({ label: b.label, payload: b.payload, to: build(b.next, loops) })
        return id
      }
    }
  }
  const start = build(local, new Map())
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
