/** `troupe protocol game` and `troupe protocol simulate`: the games a module exports (see `GameModule`). */
import { Console, Effect, Option } from "effect"
import { Argument, CliError, Command, Flag } from "effect/cli"
import { userError } from "./userError.ts"

const gameModule = Argument.String("module").pipe(
  Argument.withDescription("A .ts or .js file exporting games (Game.make), and optionally `anchors`")
)
const gameFlag = Flag.String("game").pipe(
  Flag.withDescription("Only the game of the protocol with this name, when the module exports several"),
  Flag.optional
)
const rationalityFlag = Flag.Finite("rationality").pipe(
  Flag.withDescription("λ of the level-k solver's softmax (0: at random; larger: more rational)"),
  Flag.withDefault(1)
)

/**
 * `GameModule`, imported when a command runs: it loads the runtime, which `troupe --help`, a mistyped flag and the
 * other commands do not need.
 */
const gameModules = Effect.promise(() => import("../GameModule.ts"))

/** The most levels of level-k reasoning a command solves (each level is kept; a typo of 1e9 would never end). */
export const MAX_LEVELS = 1000

/** Fails with one line when a numeric flag is out of its range. */
const inRange = (flag: string, value: number | undefined, min: number, max: number = Number.POSITIVE_INFINITY) =>
  value === undefined || (value >= min && value <= max)
    ? Effect.void
    : Effect.fail(
        new CliError.UserError({
          cause: undefined,
          userMessage: `--${flag} must be ${max === Number.POSITIVE_INFINITY ? `${min} or more` : `${min} to ${max}`}, got ${value}`
        })
      )

export const game = Command.make(
  "game",
  {
    module: gameModule,
    game: gameFlag,
    efg: Flag.Boolean("efg").pipe(
      Flag.withDescription("Print the game in Gambit's .efg format instead of the tree"),
      Flag.withDefault(false)
    ),
    levels: Flag.Int("levels").pipe(
      Flag.withDescription("Also solve it by level-k reasoning up to this level and print each role's policies"),
      Flag.optional
    ),
    rationality: rationalityFlag
  },
  ({ module, game, efg, levels, rationality }) =>
    Effect.gen(function* () {
      yield* inRange("levels", Option.getOrUndefined(levels), 0, MAX_LEVELS)
      yield* inRange("rationality", rationality, 0)
      const GameModule = yield* gameModules
      const loaded = yield* GameModule.load(module, { game: Option.getOrUndefined(game) })
      yield* Console.log(GameModule.describe(loaded, { efg, levels: Option.getOrUndefined(levels), rationality }))
    }).pipe(userError)
).pipe(
  Command.withDescription(
    "Print the extensive-form game behind each game a module exports: the tree, or Gambit's .efg (--efg); --levels N adds the level-k policies"
  )
)

export const simulate = Command.make(
  "simulate",
  {
    module: gameModule,
    game: gameFlag,
    runs: Flag.Int("runs").pipe(Flag.withDescription("How many runs"), Flag.withDefault(1000)),
    level: Flag.Int("level").pipe(
      Flag.withDescription("Every role plays its level-k policy of this level (default: at random)"),
      Flag.optional
    ),
    rationality: rationalityFlag,
    seed: Flag.Int("seed").pipe(Flag.withDescription("Seed of the random draws"), Flag.withDefault(1))
  },
  ({ module, game, runs, level, rationality, seed }) =>
    Effect.gen(function* () {
      yield* inRange("runs", runs, 1)
      yield* inRange("level", Option.getOrUndefined(level), 0, MAX_LEVELS)
      yield* inRange("rationality", rationality, 0)
      const GameModule = yield* gameModules
      const loaded = yield* GameModule.load(module, { game: Option.getOrUndefined(game) })
      yield* Console.log(
        yield* GameModule.simulate(loaded, { runs, level: Option.getOrUndefined(level), rationality, seed })
      )
    }).pipe(userError)
).pipe(Command.withDescription("Play each game a module exports many times and report payoffs and outcomes"))
