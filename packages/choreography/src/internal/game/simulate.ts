/** Monte-Carlo simulation of a game under given choosers (see `Policy.simulate`). */
import { Effect, Schema } from "effect"
import { describeInfoSet, type Game, type InfoSet, type Node, type Terminal } from "../../Game.ts"
import type { Policy } from "../../Policy.ts"
import { normalise, uniform } from "./distribution.ts"

/** A player in a simulation: a policy, or a function (possibly an Effect, e.g. a model's call) that picks a move or gives its probabilities. */
export type Chooser =
  | Policy
  | ((infoset: InfoSet) => string | ReadonlyArray<number> | Effect.Effect<string | ReadonlyArray<number>, unknown>)

/** Options of {@link simulate}. */
export interface SimulateOptions {
  /** How each player moves; a player not given moves at random. */
  readonly players: Readonly<Record<string, Chooser>>
  readonly runs: number
  /** Seed of the random draws (the same seed, the same runs for the same choosers). Default 1. */
  readonly seed?: number | undefined
}

/** What a simulation found. */
export interface Report {
  readonly runs: number
  /** Each player's mean payoff. */
  readonly payoffs: Readonly<Record<string, number>>
  /** How often each run ended as it did (its messages), most frequent first. */
  readonly outcomes: ReadonlyArray<{ readonly run: string; readonly count: number }>
  /** How many runs were cut at the horizon. */
  readonly cut: number
  /** How often each move was made at each information set (by `describeInfoSet`). */
  readonly moves: Readonly<Record<string, Readonly<Record<string, number>>>>
}

/** A chooser failed in a simulation (a model's call, say). */
export class SimulationFailed extends Schema.TaggedError<SimulationFailed>()("SimulationFailed", {
  player: Schema.String,
  infoset: Schema.String,
  reason: Schema.String
}) {}

/** Seeded random numbers in [0, 1) (mulberry32). */
const random = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const draw = (ps: ReadonlyArray<number>, u: number) => {
  let acc = 0
  for (let i = 0; i < ps.length; i++) {
    acc += ps[i]!
    if (u < acc) return i
  }
  return ps.length - 1
}

/**
 * Plays the game `runs` times: nature draws by its priors, each player moves by its chooser. Payoffs are
 * averaged; outcomes and moves counted.
 */
export const simulate = (game: Game, options: SimulateOptions): Effect.Effect<Report, SimulationFailed> =>
  Effect.gen(function* () {
    const next = random(options.seed ?? 1)
    const totals: Record<string, number> = Object.fromEntries(game.players.map((p) => [p, 0]))
    const outcomes = new Map<string, number>()
    const moves: Record<string, Record<string, number>> = {}
    let cut = 0
    for (let run = 0; run < options.runs; run++) {
      let node: Node = game.root
      while (node._tag !== "Terminal") {
        if (node._tag === "Chance") {
          node =
            node.outcomes[
              draw(
                node.outcomes.map((o) => o.probability),
                next()
              )
            ]!.node
          continue
        }
        const decision: Node & { _tag: "Decision" } = node
        const chooser = options.players[decision.player]
        const picked = yield* choose(chooser, decision.infoset)
        const i = typeof picked === "number" ? picked : draw(picked, next())
        const where = describeInfoSet(decision.infoset)
        const counts = (moves[where] ??= {})
        counts[decision.infoset.actions[i]!] = (counts[decision.infoset.actions[i]!] ?? 0) + 1
        node = decision.moves[i]!.node
      }
      const end: Terminal = node
      for (const p of game.players) totals[p]! += end.payoffs[p] ?? 0
      if (end.cut) cut++
      const key = end.history.map((a) => a.name).join(" ")
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1)
    }
    return {
      runs: options.runs,
      payoffs: Object.fromEntries(game.players.map((p) => [p, options.runs === 0 ? 0 : totals[p]! / options.runs])),
      outcomes: [...outcomes].map(([run, count]) => ({ run, count })).sort((a, b) => b.count - a.count),
      cut,
      moves
    }
  })

/** A chooser's move: an index, or probabilities to draw from. */
const choose = (
  chooser: Chooser | undefined,
  infoset: InfoSet
): Effect.Effect<number | ReadonlyArray<number>, SimulationFailed> => {
  const fail = (reason: string) =>
    new SimulationFailed({ player: infoset.player, infoset: describeInfoSet(infoset), reason })
  const answer = (
    a: string | ReadonlyArray<number>
  ): Effect.Effect<number | ReadonlyArray<number>, SimulationFailed> => {
    if (typeof a !== "string")
      return a.length === infoset.actions.length
        ? Effect.succeed(normalise(a))
        : Effect.fail(fail(`${a.length} probabilities for ${infoset.actions.length} moves`))
    const i = infoset.actions.indexOf(a)
    return i < 0 ? Effect.fail(fail(`"${a}" is not one of ${infoset.actions.join(", ")}`)) : Effect.succeed(i)
  }
  if (chooser === undefined) return Effect.succeed(uniform(infoset.actions.length))
  if (typeof chooser !== "function")
    return Effect.succeed(chooser.moves.get(infoset.id) ?? uniform(infoset.actions.length))
  const made = chooser(infoset)
  if (!Effect.isEffect(made)) return answer(made)
  return made.pipe(
    Effect.mapError((e) => fail(e instanceof Error ? e.message : String(e))),
    Effect.flatMap(answer)
  )
}
