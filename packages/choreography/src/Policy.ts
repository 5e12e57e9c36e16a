/**
 * Policies: how each player of a {@link Game} moves, as a distribution over its moves at each of its
 * information sets; the solvers that compute them, and a Monte-Carlo simulation of the game under them.
 *
 * - {@link backwardInduction}: exact, for games of perfect information (every information set one node):
 *   each player maximises its payoff, expecting the others to do the same and nature to draw by its priors.
 * - {@link levelK}: bounded-rational recursive reasoning, as Pact's solver does: a level-ℓ player answers
 *   the others as they play at level ℓ−1 with a quantal (softmax) response of rationality λ; at level 0 it
 *   answers their *anchors* (uniform unless given: the naive model of a role, e.g. a seller who prices
 *   by quality). Beliefs at an information set come from the others' policies and nature's priors.
 * - {@link simulate}: plays the game many times under given policies, scripted choosers or model-driven
 *   choosers (any Effect), and reports payoffs and outcomes.
 *
 * @example
 * ```ts
 * const levels = Policy.levelK(game, { levels: 4, rationality: 2 })
 * console.log(Policy.print(game, levels[2]!.Buyer!))
 * const report = yield* Policy.simulate(game, { players: levels[2]!, runs: 10_000, seed: 1 })
 * ```
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import { describeInfoSet, type Game, type InfoSet, type Node } from "./Game.ts"
import { normalise, uniform } from "./internal/game/distribution.ts"

/** A player's policy: for each of its information sets (by id), the probability of each move. */
export interface Policy {
  readonly player: string
  /** What computed it, e.g. `level 2 (λ = 2)` or `backward induction`. */
  readonly solver: string
  readonly moves: ReadonlyMap<number, ReadonlyArray<number>>
}

/** A policy for each player. */
export type Profile = Readonly<Record<string, Policy>>

/** Backward induction was asked of a game where a player cannot always tell where it is. */
export class NotPerfectInformation extends Schema.TaggedError<NotPerfectInformation>()("NotPerfectInformation", {
  protocol: Schema.String,
  player: Schema.String,
  infoset: Schema.String,
  nodes: Schema.Number
}) {
  override get message(): string {
    return `The game of ${this.protocol} is not of perfect information: ${this.infoset} groups ${this.nodes} nodes ${this.player} cannot tell apart (what it has not observed). Use Policy.levelK, or export it with Game.toEfg for Gambit's solvers.`
  }
}

const nodesOf = (root: Node): Array<Node> => {
  const out: Array<Node> = []
  const stack = [root]
  while (stack.length > 0) {
    const node = stack.pop()!
    out.push(node)
    if (node._tag === "Decision") for (const m of node.moves) stack.push(m.node)
    else if (node._tag === "Chance") for (const o of node.outcomes) stack.push(o.node)
  }
  return out
}

/** Expected payoffs of `player` at every node, when moves are drawn by `probabilities`. */
const valuer = (player: string, probabilities: (node: Node & { _tag: "Decision" }) => ReadonlyArray<number>) => {
  const memo = new Map<Node, number>()
  const value = (root: Node): number => {
    // Iterative post-order, so deep trees do not overflow the stack.
    const stack: Array<{ node: Node; expanded: boolean }> = [{ node: root, expanded: false }]
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!
      if (memo.has(top.node)) {
        stack.pop()
        continue
      }
      const node = top.node
      if (node._tag === "Terminal") {
        memo.set(node, node.payoffs[player] ?? 0)
        stack.pop()
        continue
      }
      const children = node._tag === "Decision" ? node.moves.map((m) => m.node) : node.outcomes.map((o) => o.node)
      if (!top.expanded) {
        top.expanded = true
        for (const child of children) if (!memo.has(child)) stack.push({ node: child, expanded: false })
        continue
      }
      const ps = node._tag === "Decision" ? probabilities(node) : node.outcomes.map((o) => o.probability)
      let v = 0
      children.forEach((child, i) => {
        if (ps[i]! > 0) v += ps[i]! * memo.get(child)!
      })
      memo.set(node, v)
      stack.pop()
    }
    return memo.get(root)!
  }
  return value
}

/** Softmax of `utilities` with rationality `lambda` (an arg-max, ties shared, when `lambda` is infinite). */
export const quantal = (utilities: ReadonlyArray<number>, lambda: number): ReadonlyArray<number> => {
  const best = Math.max(...utilities)
  if (lambda === Number.POSITIVE_INFINITY) {
    const top = utilities.map((u) => (u >= best - 1e-12 ? 1 : 0))
    const n = top.reduce<number>((s, x) => s + x, 0)
    return top.map((x) => x / n)
  }
  const e = utilities.map((u) => Math.exp(lambda * (u - best)))
  const total = e.reduce((s, x) => s + x, 0)
  return e.map((x) => x / total)
}

/**
 * Subgame-perfect policies by backward induction (ties go to the first move), and each player's expected
 * payoff under them; `NotPerfectInformation` when some information set groups several nodes.
 */
export const backwardInduction = (
  game: Game
): Effect.Effect<
  { readonly profile: Profile; readonly payoffs: Readonly<Record<string, number>> },
  NotPerfectInformation
> =>
  Effect.suspend(() => {
    const shared = game.infosets.find((i) => i.nodes.length > 1)
    if (shared !== undefined)
      return Effect.fail(
        new NotPerfectInformation({
          protocol: game.protocol,
          player: shared.player,
          infoset: describeInfoSet(shared),
          nodes: shared.nodes.length
        })
      )
    const choice = new Map<number, number>()
    const values = new Map<Node, Readonly<Record<string, number>>>()
    const order = nodesOf(game.root).reverse()
    for (const node of order) {
      if (node._tag === "Terminal") values.set(node, node.payoffs)
      else if (node._tag === "Chance") {
        const v: Record<string, number> = {}
        for (const p of game.players)
          v[p] = node.outcomes.reduce((s, o) => s + o.probability * (values.get(o.node)![p] ?? 0), 0)
        values.set(node, v)
      } else {
        let best = 0
        node.moves.forEach((m, i) => {
          if ((values.get(m.node)![node.player] ?? 0) > (values.get(node.moves[best]!.node)![node.player] ?? 0))
            best = i
        })
        choice.set(node.infoset.id, best)
        values.set(node, values.get(node.moves[best]!.node)!)
      }
    }
    const profile: Record<string, Policy> = {}
    for (const player of game.players) {
      const moves = new Map<number, ReadonlyArray<number>>()
      for (const infoset of game.infosets)
        if (infoset.player === player)
          moves.set(
            infoset.id,
            infoset.actions.map((_, i) => (i === choice.get(infoset.id) ? 1 : 0))
          )
      profile[player] = { player, solver: "backward induction", moves }
    }
    return Effect.succeed({ profile, payoffs: values.get(game.root)! })
  })

/** How a role plays when no one models it strategically: the probability of each move at an information set. */
export type Anchor = (infoset: InfoSet) => ReadonlyArray<number>

/** Options of {@link levelK}. */
export interface LevelKOptions {
  /** The highest level computed (levels 0 to `levels`). */
  readonly levels: number
  /** λ of the softmax: 0 plays at random, larger is more rational, `Infinity` a best response. Default 1. */
  readonly rationality?: number | undefined
  /** The level-0 model of some roles (the others: uniform over their moves). */
  readonly anchors?: Readonly<Record<string, Anchor>> | undefined
}

/**
 * Level-k quantal policies, one profile per level from 0 to `levels` (see the module documentation):
 * `result[ℓ][role]` is how `role` plays when it reasons `ℓ` levels deep.
 */
export const levelK = (game: Game, options: LevelKOptions): ReadonlyArray<Profile> => {
  const lambda = options.rationality ?? 1
  const anchorProfile: Record<string, Policy> = {}
  for (const player of game.players) {
    const anchor = options.anchors?.[player]
    const moves = new Map<number, ReadonlyArray<number>>()
    for (const infoset of game.infosets)
      if (infoset.player === player)
        moves.set(infoset.id, anchor === undefined ? uniform(infoset.actions.length) : normalise(anchor(infoset)))
    anchorProfile[player] = { player, solver: anchor === undefined ? "uniform" : "anchor", moves }
  }
  const all = nodesOf(game.root)
  const byPlayer = new Map<string, Array<InfoSet>>()
  for (const infoset of game.infosets) {
    const list = byPlayer.get(infoset.player) ?? []
    list.push(infoset)
    byPlayer.set(infoset.player, list)
  }
  for (const list of byPlayer.values()) list.sort((a, b) => b.view.length - a.view.length)
  const profiles: Array<Profile> = []
  let previous: Profile = anchorProfile
  for (let level = 0; level <= options.levels; level++) {
    const profile: Record<string, Policy> = {}
    for (const player of game.players)
      profile[player] = respond(game, all, player, byPlayer.get(player) ?? [], previous, lambda, level)
    profiles.push(profile)
    previous = profile
  }
  return profiles
}

/** `player`'s quantal response to the others playing `others`. */
const respond = (
  game: Game,
  all: ReadonlyArray<Node>,
  player: string,
  infosets: ReadonlyArray<InfoSet>,
  others: Profile,
  lambda: number,
  level: number
): Policy => {
  // How likely each node is reached by the others' moves and nature's draws (the player's own moves left out).
  const reach = new Map<Node, number>([[game.root, 1]])
  for (const node of all) {
    const r = reach.get(node) ?? 0
    if (node._tag === "Chance") for (const o of node.outcomes) reach.set(o.node, r * o.probability)
    else if (node._tag === "Decision") {
      const ps = node.player === player ? undefined : others[node.player]!.moves.get(node.infoset.id)!
      node.moves.forEach((m, i) => {
        reach.set(m.node, ps === undefined ? r : r * ps[i]!)
      })
    }
  }
  const own = new Map<number, ReadonlyArray<number>>()
  const value = valuer(player, (node) =>
    node.player === player ? own.get(node.infoset.id)! : others[node.player]!.moves.get(node.infoset.id)!
  )
  for (const infoset of infosets) {
    const weights = infoset.nodes.map((n) => reach.get(n) ?? 0)
    const total = weights.reduce((s, w) => s + w, 0)
    const beliefs = total > 0 ? weights.map((w) => w / total) : uniform(weights.length)
    const utilities = infoset.actions.map((_, a) =>
      infoset.nodes.reduce((s, node, k) => s + (beliefs[k]! > 0 ? beliefs[k]! * value(node.moves[a]!.node) : 0), 0)
    )
    own.set(infoset.id, quantal(utilities, lambda))
  }
  return { player, solver: `level ${level} (λ = ${lambda})`, moves: own }
}

/** The probability `policy` gives each move at `infoset`, by move name. */
export const at = (policy: Policy, infoset: InfoSet): ReadonlyArray<readonly [string, number]> => {
  const ps = policy.moves.get(infoset.id) ?? uniform(infoset.actions.length)
  return infoset.actions.map((name, i) => [name, ps[i]!] as const)
}

/**
 * A policy as text, one line per information set: what the player observed, and its moves with their
 * probabilities, most likely first.
 */
export const print = (game: Game, policy: Policy): string =>
  [
    `${policy.player}, ${policy.solver}:`,
    ...game.infosets
      .filter((i) => i.player === policy.player)
      .sort((a, b) => a.id - b.id)
      .map(
        (i) =>
          `  ${describeInfoSet(i)}: ${[...at(policy, i)]
            .sort((a, b) => b[1] - a[1])
            .map(([name, p]) => `${name} ${p.toFixed(2)}`)
            .join(", ")}`
      )
  ].join("\n")

/** The information set of `player` after it observed `view` (message names in order) with these moves open. */
export const infosetOf = (game: Game, player: string, view: ReadonlyArray<string>): InfoSet | undefined =>
  game.infosets.find(
    (i) => i.player === player && i.view.length === view.length && i.view.every((a, k) => a.name === view[k])
  )

/**
 * Whether `move` is strictly dominated at `infoset` for its player, given how the others play: another
 * move gives it more whatever the node it is at (so, whatever it believes). What a watcher flags.
 */
export const dominated = (infoset: InfoSet, move: string, others: Profile, own?: Policy): boolean => {
  const a = infoset.actions.indexOf(move)
  if (a < 0) return false
  const value = valuer(
    infoset.player,
    (node) =>
      (node.player === infoset.player
        ? own?.moves.get(node.infoset.id)
        : others[node.player]?.moves.get(node.infoset.id)) ?? uniform(node.moves.length)
  )
  return infoset.actions.some(
    (_, b) => b !== a && infoset.nodes.every((node) => value(node.moves[b]!.node) > value(node.moves[a]!.node) + 1e-9)
  )
}

export {
  type Chooser,
  type Report,
  type SimulateOptions,
  SimulationFailed,
  simulate
} from "./internal/game/simulate.ts"
