/**
 * Local types: what one role of a protocol does, in order — sends, branching receives, recursion, end.
 *
 * A protocol is projected on each role when it is built (with full merging, as in nuScr): a role
 * outside a choice gets one local type for all branches, which is possible only when it acts the same
 * in every branch or learns the branch from the label of a message it receives.
 *
 * The same shapes exist at the type level: {@link LocalTypeOf} projects a protocol's type on a role,
 * and `Endpoint` turns that into the methods a role may call next.
 *
 * @example
 * ```ts
 * LocalType.print(LocalType.project(TwoBuyer, "S"))
 * // "A?title(string). A!quote(number). B!quote(number). A?{buy(string). end, cancel(). end}"
 * ```
 *
 * @since 0.1.0
 */
import type { Schema } from "effect"
import type { FamiliesOf, Protocol, RolesOf } from "./Choreography.ts"
import { print as printLocal } from "./internal/print.ts"
import type { ProjectSteps } from "./internal/typeLevel.ts"

/** One labelled alternative of a send or receive: the label, its payload schema and what follows. */
export interface Branch<Label extends string = string, Payload extends Schema.Top = Schema.Top, Next = LocalType> {
  readonly label: Label
  readonly payload: Payload
  readonly next: Next
}

/** Send one of `branches` to `peer` (more than one branch: this role chooses). Printed `B!quote(number). …` or `B!{…}`. */
export interface Send<Peer extends string = string, B = Branch> {
  readonly _tag: "Send"
  readonly peer: Peer
  readonly branches: ReadonlyArray<B>
}

/** Receive from `peer` one of `branches`, telling them apart by label. Printed `A?title(string). …` or `A?{…}`. */
export interface Receive<Peer extends string = string, B = Branch> {
  readonly _tag: "Receive"
  readonly peer: Peer
  readonly branches: ReadonlyArray<B>
}

/** A loop named `name`; `Var(name)` inside `body` starts it again. Printed `rec X. …`. */
export interface Rec<Name extends string = string, Body = LocalType> {
  readonly _tag: "Rec"
  readonly name: Name
  readonly body: Body
}

/** Go back to the start of the enclosing loop `name`. Printed `continue X`. */
export interface Var<Name extends string = string> {
  readonly _tag: "Var"
  readonly name: Name
}

/** Nothing more to do. Printed `end`. */
export interface End {
  readonly _tag: "End"
}

/**
 * Type level only: where the compile-time projection gives up (a step list that is not a tuple, or a
 * merge the type system cannot express), the endpoint falls back to untyped moves that the run-time
 * monitor still checks.
 */
export interface Dynamic {
  readonly _tag: "Dynamic"
}

/** The local type of a role. */
export type LocalType = Send | Receive | Rec | Var | End

/**
 * The local type of `Role` in protocol `P`, computed by the type checker.
 *
 * @example
 * ```ts
 * type Seller = LocalTypeOf<typeof TwoBuyer, "S">
 * // Receive<"A", Branch<"title", typeof Schema.String, Send<"A", Branch<"quote", typeof Schema.Number, …>>>>
 * ```
 */
export type LocalTypeOf<P, Role extends RolesOf<P>> =
  P extends Protocol<string, string, infer S> ? ProjectSteps<S, Role, FamiliesOf<P>> : never

/** The local type of `role` in `protocol` (computed and checked when the protocol was built). */
export const project = <P extends Protocol, Role extends RolesOf<P>>(protocol: P, role: Role): LocalType => {
  const local = protocol.localTypes.get(role)
  if (local === undefined) throw new Error(`Role "${role}" is not a role of protocol "${protocol.name}"`)
  return local
}

/**
 * The local type as text: `A!l(T)` sends `l` to A, `A?l(T)` receives it from A, `A?{…}` / `A!{…}` branch,
 * `rec X. …` and `continue X` loop, `end` ends. A void payload prints as `l()`. Branches that all go on
 * the same way print it once after the braces (`B!{a(), b()}. …`); a local type whose text would repeat
 * a shared part too often prints it once under a name (`… @1 … where @1 = …`).
 */
export const print = (local: LocalType): string => printLocal(local)
