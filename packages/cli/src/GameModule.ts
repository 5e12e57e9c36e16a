/**
 * The games a module exports, as `troupe protocol game|simulate` reads them, and what those commands print.
 *
 * A game module exports games made with `Game.make` (an `Effect` of one, evaluated here) or
 * `Game.makeUnsafe`, and optionally `anchors` (each role's level-0 model, for `--levels`).
 *
 * @example
 * ```ts
 * // lemons.ts
 * export const game = Game.makeUnsafe(Lemons, { nature: "World", utilities: { ... } })
 * export const anchors = { Seller: honestSeller }
 * // troupe protocol game lemons.ts --efg > lemons.efg ; troupe protocol simulate lemons.ts --runs 10000 --level 2
 * ```
 */
import { Game, Policy } from "@troupe/runtime"
import { Effect, Exit } from "effect"
import { type ModuleNotLoaded, ModuleUnusable, notLoaded } from "./AgentsModule.ts"
import { importModule } from "./internal/load.ts"

/** What a game module gives: its games, and the anchors of its roles if it exports `anchors`. */
export interface Loaded {
  readonly games: ReadonlyArray<Game.Game>
  readonly anchors: Readonly<Record<string, Policy.Anchor>>
}

const isGame = (u: unknown): u is Game.Game =>
  typeof u === "object" && u !== null && "root" in u && "infosets" in u && "players" in u && "protocol" in u

const isDefinitionError = (u: unknown): u is Game.GameDefinitionError =>
  typeof u === "object" && u !== null && (u as { _tag?: unknown })._tag === "GameDefinitionError"

const unusable = (module: string, reason: string) => new ModuleUnusable({ module, reason })

/** Loads a module and finds its games (only the one of protocol `name`, when given). */
export const load = (
  module: string,
  options: { readonly game?: string | undefined } = {}
): Effect.Effect<Loaded, ModuleNotLoaded | ModuleUnusable> =>
  Effect.gen(function* () {
    const exports = yield* importModule(module).pipe(
      Effect.mapError((failed): ModuleNotLoaded | ModuleUnusable =>
        isDefinitionError(failed.error)
          ? unusable(module, `defines a game that is not well-defined: ${failed.error.message}`)
          : notLoaded(failed)
      )
    )
    const games: Array<Game.Game> = []
    for (const value of Object.values(exports)) {
      if (isGame(value)) games.push(value)
      else if (Effect.isEffect(value)) {
        const exit = Effect.runSyncExit(value as Effect.Effect<unknown, unknown>)
        if (Exit.isSuccess(exit) && isGame(exit.value)) games.push(exit.value)
        else if (Exit.isFailure(exit)) {
          const failure = exit.cause.reasons.find((r) => r._tag === "Fail")
          if (failure !== undefined && isDefinitionError(failure.error))
            return yield* unusable(module, `defines a game that is not well-defined: ${failure.error.message}`)
        }
      }
    }
    if (games.length === 0)
      return yield* unusable(module, "exports no game: export one made with Game.make or Game.makeUnsafe")
    const chosen = options.game === undefined ? games : games.filter((g) => g.protocol === options.game)
    if (chosen.length === 0)
      return yield* unusable(
        module,
        `has no game of a protocol named ${options.game} (it has ${games.map((g) => g.protocol).join(", ")})`
      )
    const anchors = (typeof exports.anchors === "object" && exports.anchors !== null ? exports.anchors : {}) as Record<
      string,
      Policy.Anchor
    >
    return { games: chosen, anchors }
  })

/** The tree of each game, or its `.efg`; with `levels`, each role's level-k policies up to that level. */
export const describe = (
  loaded: Loaded,
  options: { readonly efg: boolean; readonly levels?: number | undefined; readonly rationality: number }
): string =>
  loaded.games
    .map((game) => {
      if (options.efg) return Game.toEfg(game).trimEnd()
      const parts = [Game.print(game)]
      if (options.levels !== undefined) {
        const levels = Policy.levelK(game, {
          levels: options.levels,
          rationality: options.rationality,
          anchors: loaded.anchors
        })
        for (const profile of levels)
          for (const player of game.players) parts.push(Policy.print(game, profile[player]!))
      }
      return parts.join("\n\n")
    })
    .join("\n\n")

/** Simulates each game `runs` times with every role at level `level` (uniform players without a level). */
export const simulate = (
  loaded: Loaded,
  options: {
    readonly runs: number
    readonly level?: number | undefined
    readonly rationality: number
    readonly seed: number
  }
): Effect.Effect<string, Policy.SimulationFailed> =>
  Effect.forEach(loaded.games, (game) =>
    Effect.gen(function* () {
      const players =
        options.level === undefined
          ? {}
          : Policy.levelK(game, { levels: options.level, rationality: options.rationality, anchors: loaded.anchors })[
              options.level
            ]!
      const report = yield* Policy.simulate(game, { players, runs: options.runs, seed: options.seed })
      const who =
        options.level === undefined
          ? "every role at random"
          : `every role at level ${options.level} (λ = ${options.rationality})`
      return [
        `${game.protocol}: ${report.runs} runs, ${who}, seed ${options.seed}`,
        `  mean payoffs: ${game.players.map((p) => `${p} ${report.payoffs[p]!.toFixed(3)}`).join(", ")}`,
        ...(report.cut > 0 ? [`  cut at the horizon: ${report.cut}`] : []),
        "  outcomes:",
        ...report.outcomes
          .slice(0, 10)
          .map((o) => `    ${((100 * o.count) / report.runs).toFixed(1).padStart(5)} %  ${o.run}`),
        ...(report.outcomes.length > 10 ? [`    … ${report.outcomes.length - 10} more`] : [])
      ].join("\n")
    })
  ).pipe(Effect.map((parts) => parts.join("\n\n")))
