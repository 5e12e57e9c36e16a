/**
 * Solved policies at run time, in sessions: a policy can **play** a role ({@link play}), **advise** a
 * language model playing it ({@link advise}: the policy's recommendation goes into the model's context at
 * each move), or **watch** one ({@link watch}: when the role's move is strictly dominated given how the
 * others play, a `Dominated` note goes into the session's trace and `onDominated` is called). Nature's
 * draws are played by {@link nature}, by its priors.
 *
 * Each program keeps the role's view (the messages it sent and received) and finds where it is in the
 * game by it, so a session of the protocol and the game behind it line up move for move.
 *
 * @example
 * ```ts
 * const levels = Policy.levelK(Lemons.game, { levels: 2, rationality: 1, anchors: { Seller: Lemons.honestSeller } })
 * const world = Session.role(Lemons.protocol, "World", Strategy.nature(Lemons.game))
 * const seller = Session.role(Lemons.protocol, "Seller", Strategy.play(Lemons.game, levels[1]!.Seller!))
 * const buyer = Session.role(Lemons.protocol, "Buyer", Strategy.advise(Lemons.game, levels[2]!.Buyer!, { system: "You buy books." }))
 * ```
 *
 * @since 0.1.0
 */
import { type Endpoint, Game, Policy } from "@troupe/choreography"
import { LanguageModel, LlmRole, type Tool } from "@troupe/llm"
import { Session } from "@troupe/runtime"
import { Effect, Schema } from "effect"

/** A message a role observed, as the game names it. */
interface Seen {
  readonly from: string
  readonly to: string
  readonly name: string
}

/** The game has no move for the role where it is (past the horizon, or a protocol other than the game's). */
export class OutsideTheGame extends Schema.TaggedError<OutsideTheGame>()("OutsideTheGame", {
  game: Schema.String,
  role: Schema.String,
  view: Schema.String
}) {
  override get message(): string {
    return `${this.role} has no move in the game of ${this.game} after ${this.view || "nothing"}: the session went past the game's horizon, or is not of its protocol`
  }
}

type Untyped = Endpoint.UntypedEndpoint<unknown>

/** An endpoint that records what its role observes into `view`, and calls `beforeSend` before each send. */
const tracked = <E>(
  ep: Endpoint.UntypedEndpoint<E>,
  view: Array<Seen>,
  beforeSend?: (to: string, label: string, payload: unknown) => Effect.Effect<void>
): Endpoint.UntypedEndpoint<E> => ({
  get _tag() {
    return ep._tag
  },
  role: ep.role,
  monitor: ep.monitor,
  state: ep.state,
  send: (to, label, payload) =>
    Effect.andThen(beforeSend === undefined ? Effect.void : beforeSend(to, label, payload), () =>
      Effect.map(ep.send(to, label, payload), (next) => {
        view.push({ from: ep.role, to, name: Game.actionName(label, payload) })
        return tracked(next, view, beforeSend)
      })
    ),
  receive: () =>
    Effect.map(ep.receive(), (got) => {
      view.push({ from: got.from, to: ep.role, name: Game.actionName(got.label, got.payload) })
      return { ...got, next: tracked(got.next, view, beforeSend) }
    }),
  close: () => ep.close()
})

const draw = (ps: ReadonlyArray<number>) => {
  const u = Math.random()
  let acc = 0
  for (let i = 0; i < ps.length; i++) {
    acc += ps[i]!
    if (u < acc) return i
  }
  return ps.length - 1
}

const describeView = (view: ReadonlyArray<Seen>) => view.map((s) => s.name).join(", ")

/** Drives `ep` to its end, choosing each send with `choose` (which sees the role's view). */
const drive = <E>(
  game: Game.Game,
  endpoint: Endpoint.UntypedEndpoint<E>,
  choose: (view: ReadonlyArray<Seen>) => Game.Action | undefined
): Effect.Effect<ReadonlyArray<string>, E | Endpoint.Failure<E> | OutsideTheGame> =>
  Effect.gen(function* () {
    const view: Array<Seen> = []
    let ep = tracked(endpoint, view)
    while (ep._tag !== "End") {
      if (ep._tag === "Receive") {
        ep = (yield* ep.receive()).next
        continue
      }
      const action = choose(view)
      if (action === undefined)
        return yield* new OutsideTheGame({ game: game.protocol, role: ep.role, view: describeView(view) })
      ep = yield* ep.send(action.to, action.label, action.payload)
    }
    yield* ep.close()
    return view.map((s) => s.name)
  })

/** Where `role` is in the game after `view`: its information set, or the one move it has. */
const whereIs = (game: Game.Game, role: string, view: ReadonlyArray<Seen>) => {
  const infoset = Policy.infosetOf(
    game,
    role,
    view.map((s) => s.name)
  )
  return { infoset, forced: game.forced.get(Game.viewKey(role, view)) }
}

/**
 * A role program that plays `policy` (drawing each move from its probabilities); it answers the messages
 * its role observed, by name. A move where the role has no choice is made as the game says.
 */
export const play =
  (game: Game.Game, policy: Policy.Policy) =>
  (endpoint: unknown): Effect.Effect<ReadonlyArray<string>, unknown> =>
    drive(game, endpoint as Untyped, (view) => {
      const { infoset, forced } = whereIs(game, policy.player, view)
      if (infoset === undefined) return forced
      const i = draw(Policy.at(policy, infoset).map(([, p]) => p))
      return infoset.nodes[0]!.moves[i]!.action
    })

/** A role program for the game's nature: each draw by its prior. */
export const nature =
  (game: Game.Game) =>
  (endpoint: unknown): Effect.Effect<ReadonlyArray<string>, unknown> =>
    drive(game, endpoint as Untyped, (view) => {
      const chance = game.chances.get(Game.viewKey(game.nature ?? "", view))
      return chance?.outcomes[draw(chance.outcomes.map((o) => o.probability))]?.action
    })

/** The recommendation of `policy` where `role` is after `view`, as a model reads it. */
export const recommendation = (
  game: Game.Game,
  policy: Policy.Policy,
  view: ReadonlyArray<Seen>
): string | undefined => {
  const { infoset } = whereIs(game, policy.player, view)
  if (infoset === undefined) return undefined
  const ranked = [...Policy.at(policy, infoset)].sort((a, b) => b[1] - a[1])
  return `a ${policy.solver} policy of the game behind this protocol plays ${ranked.map(([name, p]) => `${name} with probability ${p.toFixed(2)}`).join(", ")}`
}

/** A language model plays the role, with `policy`'s recommendation in its context at each move. */
export const advise =
  <const Tools extends ReadonlyArray<Tool.Any> = []>(
    game: Game.Game,
    policy: Policy.Policy,
    options: LlmRole.Options<Tools>
  ) =>
  (
    endpoint: unknown
  ): Effect.Effect<LlmRole.Result, unknown, LanguageModel.LanguageModel | Tool.Services<Tools[number]>> => {
    const view: Array<Seen> = []
    return LlmRole.play({
      ...options,
      advice: () => Effect.sync(() => recommendation(game, policy, view))
    })(tracked(endpoint as Untyped, view))
  }

/** A move the watcher found strictly dominated. */
export interface Dominated {
  readonly role: string
  readonly view: string
  readonly move: string
  /** What the policy plays there. */
  readonly recommended: string | undefined
}

/**
 * Wraps a role program (an LLM role's, say) so that each of its moves is checked against the game: a
 * strictly dominated move (given how `others` play) is noted in the session's trace and reported to
 * `onDominated`. The move still goes out: watching never changes what the role does.
 */
export const watch =
  <A, E, R>(
    game: Game.Game,
    role: string,
    others: Policy.Profile,
    program: (endpoint: Untyped) => Effect.Effect<A, E, R>,
    onDominated: (found: Dominated) => Effect.Effect<void> = () => Effect.void
  ) =>
  (endpoint: unknown): Effect.Effect<A, E, R> => {
    const view: Array<Seen> = []
    return program(
      tracked(endpoint as Untyped, view, (to, label, payload) => {
        const { infoset } = whereIs(game, role, view)
        const move = Game.actionName(label, payload)
        if (infoset === undefined || !Policy.dominated(infoset, move, others)) return Effect.void
        const own = others[role]
        const found: Dominated = {
          role,
          view: describeView(view),
          move,
          recommended: own === undefined ? undefined : recommendation(game, own, view)
        }
        return Effect.andThen(
          Session.note(`dominated: ${role} played ${move} after ${found.view || "nothing"} (to ${to})`),
          onDominated(found)
        )
      })
    )
  }

/** Options of {@link llmChooser}. */
export interface LlmChooserOptions {
  /** Who the model plays, what it wants. */
  readonly system: string
  readonly model?: string | undefined
}

/**
 * A chooser for `Policy.simulate` played by the language model in context (the scripted one, or a real
 * one): at each decision it is told what its role observed and picks one of the moves open to it, as strict
 * structured output. Run a simulation with LLM roles against solved or scripted ones.
 *
 * @example
 * ```ts
 * const buyer = yield* Strategy.llmChooser({ system: "You buy used books; you cannot see their quality." })
 * const report = yield* Policy.simulate(Lemons.game, { players: { Buyer: buyer, Seller: levels[1]!.Seller! }, runs: 100 })
 * ```
 */
export const llmChooser = (
  options: LlmChooserOptions
): Effect.Effect<Policy.Chooser, never, LanguageModel.LanguageModel> =>
  Effect.map(
    LanguageModel.LanguageModel,
    (model) => (infoset: Game.InfoSet) =>
      Effect.map(
        model.generateObject({
          system: options.system,
          model: options.model,
          prompt: [
            `You are ${infoset.player} in ${Game.describeInfoSet(infoset).replace(`${infoset.player} after`, "a game; so far you observed:")}.`,
            `Choose one move: ${infoset.actions.join(", ")}.`
          ].join("\n"),
          schema: Schema.Struct({ move: Schema.Literals(infoset.actions as [string, ...Array<string>]) }),
          name: "move"
        }),
        (answer) => answer.value.move
      )
  )
