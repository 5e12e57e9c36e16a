/**
 * Global protocols: the whole conversation among the roles of a choreography, written once.
 *
 * A protocol is a list of steps built with the builder handed to {@link make}: messages
 * (`from → to : label(payload)`), choices made by one role, named loops with `continue`, `end`,
 * parallel parts and sub-protocols included by name. It is checked when it is built (see
 * {@link ProtocolDefinitionError}) and projected to one local type per role (see `LocalType`).
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Choreography } from "@troupe/choreography"
 *
 * // Two-Buyer: A and B share the cost of a book sold by S; B decides.
 * export const TwoBuyer = Choreography.makeUnsafe("TwoBuyer", ["A", "B", "S"], ($) => [
 *   $.message("A", "S", "title", Schema.String),
 *   $.message("S", "A", "quote", Schema.Number),
 *   $.message("S", "B", "quote", Schema.Number),
 *   $.message("A", "B", "split", Schema.Number),
 *   $.choice("B", {
 *     accept: [$.message("B", "A", "accept", Schema.Void), $.message("A", "S", "buy", Schema.String)],
 *     reject: [$.message("B", "A", "reject", Schema.Void), $.message("A", "S", "cancel", Schema.Void)]
 *   })
 * ])
 * // LocalType.print(LocalType.project(TwoBuyer, "S"))
 * //   === "A?title(string). A!quote(number). B!quote(number). A?{buy(string). end, cancel(). end}"
 * ```
 *
 * @since 0.1.0
 */
import { Effect, type Schema } from "effect"
import { build, instantiateSync } from "./internal/definition.ts"
import { ProtocolDefinitionError } from "./internal/definitionError.ts"
import { callerOf } from "./internal/site.ts"
import type { LocalType } from "./LocalType.ts"
import type { StateMachine } from "./StateMachine.ts"

export { instantiateSync } from "./internal/definition.ts"
export { Problem, ProtocolDefinitionError } from "./internal/definitionError.ts"

/** A message `from → to : label(payload)`; `payload` is the Schema of what it carries (`Schema.Void` for nothing). */
export interface Message<
  From extends string = string,
  To extends string = string,
  Label extends string = string,
  Payload extends Schema.Top = Schema.Top
> {
  readonly _tag: "Message"
  readonly from: From
  readonly to: To
  readonly label: Label
  readonly payload: Payload
}

/**
 * A choice made by `at`: exactly one branch runs. Every branch starts with a message from `at`
 * (to the same role, with a label no other branch starts with). The steps after the choice follow
 * every branch that does not `continue` or `end`.
 */
export interface Choice<At extends string = string, Branches = Record<string, Steps>> {
  readonly _tag: "Choice"
  readonly at: At
  readonly branches: Branches
}

/** A named loop: its body runs again at each `continue(name)`; when the body ends without one, the loop is over. */
export interface Loop<Name extends string = string, Body = Steps> {
  readonly _tag: "Loop"
  readonly name: Name
  readonly body: Body
}

/** Jump back to the start of the enclosing loop `name`. Last step of its list. */
export interface Continue<Name extends string = string> {
  readonly _tag: "Continue"
  readonly name: Name
}

/** The protocol ends here for every role (steps after an enclosing choice or loop are skipped). Last step of its list. */
export interface End {
  readonly _tag: "End"
}

/**
 * Independent parts that run side by side. Parts must have disjoint roles, so no role ever has to
 * interleave two parts; every role of a part goes on with the steps after the parallel when its part is done.
 */
export interface Parallel<Parts = ReadonlyArray<Steps>> {
  readonly _tag: "Parallel"
  readonly parts: Parts
}

/**
 * The steps of another protocol, included by name with its roles renamed; or, when `recursive`, the
 * protocol being defined again (`$.include($.self, …)`), unfolded into a loop when it is checked.
 */
export interface Include<Name extends string = string, Body = Steps> {
  readonly _tag: "Include"
  readonly protocol: Name
  readonly roles: Readonly<Record<string, string>>
  readonly body: Body
  readonly recursive?: boolean
}

/** One step of a global protocol. */
export type Step = Message | Choice | Loop | Continue | End | Parallel | Include

/** A sequence of steps. */
export type Steps = ReadonlyArray<Step>

declare const FamiliesTypeId: unique symbol

/**
 * A checked global protocol. `Roles` and `S` keep the literal role names and the exact structure,
 * which `LocalTypeOf` projects at the type level; `Families` names the roles that are families.
 */
export interface Protocol<
  Name extends string = string,
  Roles extends string = string,
  S extends Steps = Steps,
  Families extends Roles = never
> {
  readonly _tag: "Protocol"
  readonly name: Name
  readonly roles: ReadonlyArray<Roles>
  readonly steps: S
  /** The projection of the protocol on each role (see `LocalType.project`); a family's is its members'. */
  readonly localTypes: ReadonlyMap<Roles, LocalType>
  /** The state machine of each role (see `StateMachine.of`). */
  readonly machines: ReadonlyMap<Roles, StateMachine>
  /**
   * The roles whose participant may be restarted by its supervisor in the middle of a session: the
   * session then goes on, and the role resumes from its last checkpoint (see `Session`). A crash of any
   * other role aborts the session.
   */
  readonly restartable: ReadonlySet<Roles>
  /** The roles that are families: n members each, n known when a session starts (see {@link instantiate}). */
  readonly families: ReadonlySet<string>
  /** For a protocol made by {@link instantiate}: the protocol with families it was made from, and the sizes. */
  readonly instanceOf?: { readonly protocol: Protocol; readonly sizes: Readonly<Record<string, number>> }
  /** Type only: the families (contravariant, so that any protocol is a `Protocol`). */
  readonly [FamiliesTypeId]?: (families: Families) => void
}

/** Options of a protocol (the last argument of {@link make}). */
export interface Options<Roles extends string, Families extends Roles = never> {
  /**
   * Roles that may be restarted by their supervisor in the middle of a session and resume from their
   * last checkpoint instead of aborting the session (see `Session`). None by default.
   */
  readonly restartable?: ReadonlyArray<Roles>
  /**
   * Roles that are families: each stands for n members, n known when a session starts ("n reviewers").
   * A message from a single role to a family goes to every member (in member order); a message from a
   * family to a single role comes from every member (taken in member order); a choice whose first message
   * goes to a family is told to every member. A family does not choose, and families do not message each
   * other. Each member gets its own local type and monitor (see {@link instantiate}).
   */
  readonly families?: ReadonlyArray<Families>
}

/** The role names of a protocol type. */
export type RolesOf<P> = P extends { readonly roles: ReadonlyArray<infer R extends string> } ? R : never

/** The families of a protocol type. */
export type FamiliesOf<P> = P extends { readonly [FamiliesTypeId]?: (families: infer F extends string) => void }
  ? F
  : never

/** Renames roles in the type of a list of steps (used by `include`); a list that is not a tuple stays `Steps`. */
export type RenameSteps<S, M> =
  S extends ReadonlyArray<unknown>
    ? number extends S["length"]
      ? Steps
      : { readonly [I in keyof S]: RenameStep<S[I], M> }
    : Steps

type RenameRole<X, M> = X extends keyof M ? (M[X] extends string ? M[X] : X) : X

type RenameStep<S, M> =
  S extends Message<infer F, infer T, infer L, infer P>
    ? Message<RenameRole<F, M> & string, RenameRole<T, M> & string, L, P>
    : S extends Choice<infer At, infer B>
      ? Choice<RenameRole<At, M> & string, { readonly [K in keyof B]: RenameSteps<B[K], M> }>
      : S extends Loop<infer N, infer B>
        ? Loop<N, RenameSteps<B, M>>
        : S extends Parallel<infer Ps>
          ? Parallel<{ readonly [I in keyof Ps]: RenameSteps<Ps[I], M> }>
          : S extends Include<infer N, infer B>
            ? Include<N, RenameSteps<B, M>>
            : S

/** The step constructors, typed by the declared roles (handed to the body of {@link make}). */
export interface Builder<R extends string> {
  /** `from → to : label(payload)`. Use `Schema.Void` for a message that carries nothing. */
  message<const From extends R, const To extends R, const Label extends string, Payload extends Schema.Top>(
    from: From,
    to: To & (string extends From ? R : Exclude<R, From>),
    label: Label,
    payload: Payload
  ): Message<From, To, Label, Payload>
  /** A choice made by `at`, with one list of steps per named branch. */
  choice<const At extends R, const Branches extends Record<string, Steps>>(
    at: At,
    branches: Branches
  ): Choice<At, Branches>
  /** A named loop; `continue(name)` inside it starts the body again. */
  loop<const Name extends string, const Body extends Steps>(name: Name, body: Body): Loop<Name, Body>
  /** Start the enclosing loop `name` again. */
  continue<const Name extends string>(name: Name): Continue<Name>
  /** The protocol ends here. */
  readonly end: End
  /** Independent parts with disjoint roles. */
  parallel<const Parts extends ReadonlyArray<Steps>>(...parts: Parts): Parallel<Parts>
  /**
   * The steps of `protocol`, its roles renamed by `roles` (roles not named keep their name).
   *
   * @example
   * ```ts
   * $.include(Login, { Client: "Buyer", Server: "Shop" })
   * ```
   */
  include<
    const Name extends string,
    SubRoles extends string,
    S extends Steps,
    const M extends { readonly [K in SubRoles]?: R } = {}
  >(protocol: Protocol<Name, SubRoles, S>, roles?: M): Include<Name, RenameSteps<S, M>>
  /**
   * The protocol being defined, to include itself (as the last step of a list), with its roles renamed:
   * a recursive sub-protocol, unfolded into a loop when the protocol is checked. Its moves are checked at
   * run time; the type checker does not follow them (the endpoint's moves are untyped from there).
   *
   * @example
   * ```ts
   * // A token goes round a ring of three until one of them keeps it.
   * const Ring = Choreography.makeUnsafe("Ring", ["A", "B", "C"], ($) => [
   *   $.message("A", "B", "token", Schema.Number),
   *   $.choice("B", {
   *     pass: [$.message("B", "C", "pass", Schema.Void), $.include($.self, { A: "B", B: "C", C: "A" })],
   *     keep: [$.message("B", "C", "keep", Schema.Void), $.message("C", "A", "kept", Schema.Void)]
   *   })
   * ])
   * ```
   */
  readonly self: Protocol<string, R, Steps>
}

/**
 * Builds and checks a global protocol; the error lists every problem found. See the module
 * documentation for an example, and {@link makeUnsafe} for module-level definitions.
 */
export const make = <
  const Name extends string,
  const Roles extends ReadonlyArray<string>,
  const S extends Steps,
  const Families extends Roles[number] = never
>(
  name: Name,
  roles: Roles,
  body: (builder: Builder<Roles[number]>) => S,
  options?: Options<Roles[number], Families>
): Effect.Effect<Protocol<Name, Roles[number], S, Families>, ProtocolDefinitionError> => {
  const madeAt = callerOf(make)
  return Object.defineProperty(
    Effect.suspend(() => {
      const result = build(name, roles, body, options, madeAt)
      return result instanceof ProtocolDefinitionError ? Effect.fail(result) : Effect.succeed(result)
    }),
    DefinitionName,
    { value: String(name) }
  )
}

const DefinitionName = Symbol.for("@troupe/choreography/DefinitionName")

/**
 * The name of the protocol an effect made by {@link make} defines, or `undefined` for any other value: how
 * tools (`troupe protocol check`) tell a protocol definition from other effects, and report one whose
 * evaluation did not end in a protocol or a `ProtocolDefinitionError`.
 *
 * @example
 * ```ts
 * Choreography.definitionName(Choreography.make("Ping", ["A", "B"], ($) => [...])) // "Ping"
 * ```
 */
export const definitionName = (u: unknown): string | undefined =>
  Effect.isEffect(u) ? ((u as unknown as Record<symbol, string | undefined>)[DefinitionName] ?? undefined) : undefined

/**
 * Like {@link make}, but throws the {@link ProtocolDefinitionError}: for protocols defined once at module level,
 * where a mistake should stop the program at load time.
 */
export const makeUnsafe = <
  const Name extends string,
  const Roles extends ReadonlyArray<string>,
  const S extends Steps,
  const Families extends Roles[number] = never
>(
  name: Name,
  roles: Roles,
  body: (builder: Builder<Roles[number]>) => S,
  options?: Options<Roles[number], Families>
): Protocol<Name, Roles[number], S, Families> => {
  const result = build(name, roles, body, options, callerOf(makeUnsafe))
  if (result instanceof ProtocolDefinitionError) throw result
  return result
}

/**
 * The protocol for a session with `sizes` members of each family: each member is a role `Family[i]`
 * (from 0), with its own local type, state machine and monitor; messages to a family are sent to every
 * member, messages from a family come from every member. Made once per protocol and sizes. A protocol
 * without families is its own instance.
 *
 * @example
 * ```ts
 * const Review = Choreography.makeUnsafe("Review", ["Author", "Reviewer"], ($) => [
 *   $.message("Author", "Reviewer", "draft", Schema.String),
 *   $.message("Reviewer", "Author", "verdict", Schema.Boolean)
 * ], { families: ["Reviewer"] })
 * const three = yield* Choreography.instantiate(Review, { Reviewer: 3 })
 * three.roles // ["Author", "Reviewer[0]", "Reviewer[1]", "Reviewer[2]"]
 * ```
 */
export const instantiate = <P extends Protocol>(
  protocol: P,
  sizes: { readonly [F in FamiliesOf<P>]: number }
): Effect.Effect<Protocol, ProtocolDefinitionError> =>
  Effect.suspend(() => {
    const made = instantiateSync(protocol, sizes)
    return made instanceof ProtocolDefinitionError ? Effect.fail(made) : Effect.succeed(made)
  })
