/**
 * The game behind a protocol: Pact's strategic operators in Troupe's terms, and the extensive-form game
 * they define.
 *
 * - **A role's choice over a finite typed domain**: a role that chooses a branch, or sends a message whose
 *   payload has a finite domain (a `Schema.Literals`, a `Schema.Boolean`, or values given in `domains`),
 *   makes a strategic choice (Pact's `agent.choose(τ)`).
 * - **Each role's utility** (Pact's `agent.values`): a pure function of the messages the role observes by
 *   the end (those it sends or receives), declared with {@link values} and the labels it reads. A utility
 *   that reads a label its role never observes is refused (`UnobservedRead`), and so is one that reads a
 *   label it did not declare (`UndeclaredRead`).
 * - **Nature's draws** (Pact's `world.choose(τ)`): the messages of the role named `nature` are draws with
 *   `priors`; whoever receives them observes them. Information sets follow from projection: a role's
 *   information set is what it has observed so far.
 *
 * {@link make} compiles a protocol (loops unrolled to `horizon` rounds) to its game: players, actions,
 * chance nodes, information sets and payoffs; {@link toEfg} writes it in Gambit's `.efg` format, and
 * `Policy` solves it.
 *
 * @example
 * ```ts
 * const Lemons = Choreography.makeUnsafe("Lemons", ["World", "Seller", "Buyer"], ($) => [
 *   $.message("World", "Seller", "quality", Schema.Literals([1, 2, 3])),
 *   $.message("Seller", "Buyer", "price", Schema.Literals([1, 2, 3])),
 *   $.choice("Buyer", {
 *     accept: [$.message("Buyer", "Seller", "accept", Schema.Void)],
 *     reject: [$.message("Buyer", "Seller", "reject", Schema.Void)]
 *   })
 * ])
 * const game = Game.makeUnsafe(Lemons, {
 *   nature: "World",
 *   utilities: {
 *     Seller: Game.values(Lemons, ["quality", "price", "accept"], (o) => (o.accept ? o.price! - o.quality! : 0)),
 *     Buyer: Game.values(Lemons, ["price", "accept"], (o) => (o.accept ? 4 - o.price! : 0))
 *   }
 * })
 * console.log(Game.toEfg(game))
 * ```
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import type { Choice, Include, Loop, Message, Parallel, Protocol, RolesOf, Steps } from "./Choreography.ts"
import { expandFamilies } from "./internal/families.ts"
import { compile, viewKey as compiledViewKey, messagesOf } from "./internal/game/compile.ts"
import { showValue } from "./internal/game/domain.ts"
import { isRecursive, unfoldRecursion } from "./internal/inclusion.ts"

/** A message sent in a run of the game: a move of a role, or nature's draw. */
export interface Action {
  readonly from: string
  readonly to: string
  readonly label: string
  readonly payload: unknown
  /** How it is printed: `price(30)`, `accept`. */
  readonly name: string
}

/** What a player knows when it moves: what it has observed, and the moves open to it. */
export interface InfoSet {
  /** Its number in the game (from 0, in the order the game's nodes are built). */
  readonly id: number
  readonly player: string
  /** A key that identifies it (player, observations, moves). */
  readonly key: string
  /** The messages the player has sent and received so far. */
  readonly view: ReadonlyArray<Action>
  /** The names of the moves open to it. */
  readonly actions: ReadonlyArray<string>
  /** The decision nodes it groups (the player cannot tell them apart). */
  readonly nodes: ReadonlyArray<Decision>
}

/** A node where `player` chooses one of `moves`. */
export interface Decision {
  readonly _tag: "Decision"
  readonly player: string
  readonly infoset: InfoSet
  readonly moves: ReadonlyArray<{ readonly action: Action; readonly node: Node }>
}

/** Nature's draw of `label`. */
export interface Chance {
  readonly _tag: "Chance"
  readonly label: string
  readonly outcomes: ReadonlyArray<{ readonly action: Action; readonly probability: number; readonly node: Node }>
}

/** The end of a run: each player's payoff; `cut` when the run was stopped at the horizon. */
export interface Terminal {
  readonly _tag: "Terminal"
  readonly payoffs: Readonly<Record<string, number>>
  readonly history: ReadonlyArray<Action>
  readonly cut: boolean
}

/** A node of a game tree. */
export type Node = Decision | Chance | Terminal

/** The extensive-form game of a protocol. */
export interface Game {
  readonly protocol: string
  /** The roles that play (every role but nature). */
  readonly players: ReadonlyArray<string>
  readonly nature: string | undefined
  readonly horizon: number
  readonly root: Node
  readonly infosets: ReadonlyArray<InfoSet>
  /** How many nodes the tree has. */
  readonly size: number
  /** Where a role has one move only (by {@link viewKey}): that move. */
  readonly forced: ReadonlyMap<string, Action>
  /** Nature's draws, by nature's view (see {@link viewKey}). */
  readonly chances: ReadonlyMap<string, Chance>
}

/**
 * The key of what `role` observed (`Seller|World>Seller:quality(1)`): how a role playing the game in a
 * session finds where it is.
 */
export const viewKey: (
  role: string,
  view: ReadonlyArray<{ readonly from: string; readonly to: string; readonly name: string }>
) => string = compiledViewKey

/** The name of a move in a game: `price(3)`, `accept`. */
export const actionName = (label: string, payload: unknown): string => {
  const shown = showValue(payload)
  return shown === "" ? label : `${label}(${shown})`
}

/** What is wrong with a game's definition. */
export const Problem = Schema.Struct({
  code: Schema.Literals([
    "UnknownRole",
    "UnobservedRead",
    "UndeclaredRead",
    "NoFiniteDomain",
    "InvalidPrior",
    "InvalidHorizon",
    "UtilityFailed",
    "TooLarge"
  ]),
  message: Schema.String,
  role: Schema.optionalKey(Schema.String),
  label: Schema.optionalKey(Schema.String)
})
export type Problem = typeof Problem.Type

/** The strategic annotations of a protocol do not define a game; `problems` says why. */
export class GameDefinitionError extends Schema.TaggedError<GameDefinitionError>()("GameDefinitionError", {
  protocol: Schema.String,
  problems: Schema.Array(Problem)
}) {
  override get message(): string {
    return `The game of "${this.protocol}" is not well-defined:\n${this.problems.map((p) => `  - ${p.message}`).join("\n")}`
  }
}

type MessagesOfSteps<S> = S extends readonly [infer H, ...infer T] ? MessagesOfStep<H> | MessagesOfSteps<T> : never
type MessagesOfStep<H> = H extends Message
  ? H
  : H extends Choice<string, infer B>
    ? { [K in keyof B]: MessagesOfSteps<B[K]> }[keyof B]
    : H extends Loop<string, infer Body>
      ? MessagesOfSteps<Body>
      : H extends Parallel<infer Parts>
        ? Parts extends ReadonlyArray<infer Part>
          ? MessagesOfSteps<Part>
          : never
        : H extends Include<string, infer Body>
          ? MessagesOfSteps<Body>
          : never

/** The messages of a protocol type (a union); `Message` when its steps are not known exactly. */
export type MessagesOf<P> = P extends { readonly steps: infer S }
  ? [MessagesOfSteps<S>] extends [never]
    ? Message
    : MessagesOfSteps<S>
  : Message

/** The labels of a protocol's messages. */
export type LabelsOf<P> = MessagesOf<P>["label"]

/** What a utility sees: for each label it reads, the payload of the latest such message its role observed (`true` for a message without payload), or `undefined`. */
export type Observed<P, Reads extends string> = {
  readonly [L in Reads]?: Extract<MessagesOf<P>, { readonly label: L }>["payload"]["Type"] extends infer T
    ? [T] extends [void]
      ? true
      : T
    : never
}

/** A role's utility: the labels it reads, and a pure function of what its role observed of them. */
export interface Utility<Reads extends string = string, O = Readonly<Record<string, unknown>>> {
  readonly reads: ReadonlyArray<Reads>
  readonly value: (observed: O) => number
}

/**
 * A utility over the labels `reads` of `protocol` (Pact's `values`): typed by the labels' payloads.
 *
 * @example
 * ```ts
 * Game.values(Lemons, ["price", "accept"], (o) => (o.accept ? 4 - o.price! : 0))
 * ```
 */
export const values = <P extends Protocol, const Reads extends LabelsOf<P>>(
  _protocol: P,
  reads: ReadonlyArray<Reads>,
  value: (observed: Observed<P, Reads>) => number
): Utility<Reads, Observed<P, Reads>> => ({ reads, value })

/** The values a message's sender may choose from: a list, or a list that depends on what the sender observed so far (one value: no choice). */
export type Domain = ReadonlyArray<unknown> | ((view: ReadonlyArray<Action>) => ReadonlyArray<unknown>)

/** The strategic annotations of a protocol. */
export interface Spec<P extends Protocol> {
  /** The role played by nature: its messages are draws, observed by whoever receives them. */
  readonly nature?: RolesOf<P> | undefined
  /** Nature's prior for a label it sends: `[value, weight]` pairs (weights are normalised); uniform when absent. */
  readonly priors?: { readonly [L in LabelsOf<P>]?: ReadonlyArray<readonly [unknown, number]> } | undefined
  /**
   * Finite domains for payloads whose schema does not give one (a `number` price: `[10, 20, 30]`), or that
   * depend on what the sender observed (the seller delivers the book it has: `(view) => [quality]`).
   */
  readonly domains?: { readonly [L in LabelsOf<P>]?: Domain } | undefined
  /** Each player's utility ({@link values}); a player without one gets 0. A family's applies to each member. */
  readonly utilities?: { readonly [R in RolesOf<P>]?: Utility<string, never> } | undefined
  /** How many times each loop may start again in a run (default 2); a run cut there ends with `cut`. */
  readonly horizon?: number | undefined
  /** For a protocol with families: the number of members of each. */
  readonly sizes?: Readonly<Record<string, number>> | undefined
  /** The most nodes the tree may have (default 1,000,000). */
  readonly maxNodes?: number | undefined
}

/** The game of `protocol` under `spec` (see the module documentation), or why it is not well-defined. */
export const make = <P extends Protocol>(protocol: P, spec: Spec<P>): Effect.Effect<Game, GameDefinitionError> =>
  Effect.suspend(() => {
    const made = build(protocol, spec)
    return made instanceof GameDefinitionError ? Effect.fail(made) : Effect.succeed(made)
  })

/** Like {@link make}, but throws the {@link GameDefinitionError}: for games defined once at module level. */
export const makeUnsafe = <P extends Protocol>(protocol: P, spec: Spec<P>): Game => {
  const made = build(protocol, spec)
  if (made instanceof GameDefinitionError) throw made
  return made
}

const build = (protocol: Protocol, spec: Spec<Protocol>): Game | GameDefinitionError => {
  const refuse = (problems: ReadonlyArray<Problem>) => new GameDefinitionError({ protocol: protocol.name, problems })
  const horizon = spec.horizon ?? 2
  if (!Number.isInteger(horizon) || horizon < 0)
    return refuse([{ code: "InvalidHorizon", message: `horizon must be a whole number from 0, got ${horizon}` }])
  let steps: Steps = protocol.steps
  if (isRecursive(steps)) {
    const unfolded = unfoldRecursion(protocol.name, protocol.roles, steps)
    if ("problems" in unfolded)
      return refuse([{ code: "TooLarge", message: "its recursive includes cannot be unfolded" }])
    steps = unfolded.steps
  }
  const sizes = new Map(Object.entries(spec.sizes ?? {}))
  let roles: ReadonlyArray<string> = protocol.roles
  if (protocol.families.size > 0) {
    for (const family of protocol.families)
      if (!sizes.has(family))
        return refuse([{ code: "UnknownRole", role: family, message: `family ${family} needs a size in sizes` }])
    steps = expandFamilies(steps, sizes)
    roles = protocol.roles.flatMap((r) =>
      protocol.families.has(r) ? Array.from({ length: sizes.get(r)! }, (_, i) => `${r}[${i}]`) : [r]
    )
  }
  const problems: Array<Problem> = []
  const known = new Set(protocol.roles)
  if (spec.nature !== undefined && !known.has(spec.nature))
    problems.push({
      code: "UnknownRole",
      role: spec.nature,
      message: `nature is played by ${spec.nature}, which is not a role`
    })
  const messages = messagesOf(steps)
  const utilities = new Map<string, Utility<string, never>>()
  for (const [role, utility] of Object.entries(spec.utilities ?? {}) as Array<[string, Utility<string, never>]>) {
    if (!known.has(role)) {
      problems.push({ code: "UnknownRole", role, message: `a utility is given for ${role}, which is not a role` })
      continue
    }
    if (role === spec.nature) {
      problems.push({ code: "UnknownRole", role, message: `${role} is nature: it has no utility` })
      continue
    }
    const members = roles.filter((r) => r === role || r.startsWith(`${role}[`))
    for (const label of utility.reads) {
      const seen = messages.filter((m) => m.label === label)
      if (seen.length === 0)
        problems.push({
          code: "UnobservedRead",
          role,
          label,
          message: `the utility of ${role} reads "${label}", which no message of ${protocol.name} carries`
        })
      else if (!seen.some((m) => members.includes(m.from) || members.includes(m.to)))
        problems.push({
          code: "UnobservedRead",
          role,
          label,
          message: `the utility of ${role} reads "${label}", which ${role} never observes (it goes ${[...new Set(seen.map((m) => `${m.from} -> ${m.to}`))].join(", ")}): a utility may read only what its role sends or receives`
        })
    }
    for (const member of members) utilities.set(member, utility)
  }
  for (const [label, prior] of Object.entries(spec.priors ?? {}) as Array<
    [string, ReadonlyArray<readonly [unknown, number]>]
  >) {
    if (!prior.every(([, w]) => Number.isFinite(w) && w >= 0) || prior.reduce((s, [, w]) => s + w, 0) <= 0)
      problems.push({ code: "InvalidPrior", label, message: `the prior of "${label}" needs weights from 0, not all 0` })
    if (!messages.some((m) => m.label === label && m.from === spec.nature))
      problems.push({
        code: "InvalidPrior",
        label,
        message: `a prior is given for "${label}", which nature (${spec.nature ?? "none"}) never sends`
      })
  }
  if (problems.length > 0) return refuse(problems)
  const compiled = compile(protocol.name, roles, steps, {
    nature: spec.nature,
    priors: (spec.priors ?? {}) as Record<string, ReadonlyArray<readonly [unknown, number]>>,
    domains: (spec.domains ?? {}) as Record<string, Domain>,
    utilities,
    horizon,
    maxNodes: spec.maxNodes ?? 1_000_000
  })
  if (!("root" in compiled)) return refuse([compiled])
  return {
    protocol: protocol.name,
    players: roles.filter((r) => r !== spec.nature),
    nature: spec.nature,
    horizon,
    root: compiled.root,
    infosets: compiled.infosets,
    size: compiled.nodes,
    forced: compiled.forced,
    chances: compiled.chances
  }
}

export { describeInfoSet, print, toEfg } from "./internal/game/text.ts"
