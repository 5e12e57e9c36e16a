/**
 * Durable agents: an `Agent` whose conversation, usage and turns survive crashes and restarts of its process.
 *
 * The behaviour is `Agent.make`'s, with a state that can be stored ({@link State}: the transcript, what it
 * spent, how many turns it completed). Made durable (`Durable.persistent`, or as an entity with {@link entity}),
 * each turn is journaled as it goes: every model response and tool result is committed to the storage before
 * the turn uses it. A turn interrupted by a crash is run again when its ask comes again (a durable ask comes
 * again by itself; a plain one when the caller retries it): the journaled model calls are answered from the
 * journal, not sent again, so they are neither billed nor charged to the budget twice, and journaled tool
 * calls are not run again; a person's decision on an approval (`Approval.required`) is journaled as well, so a
 * person is not asked again what they answered. The state (with the new transcript) is committed before the
 * answer is sent.
 *
 * A `Budget` in the spawn's context is told, once per process, what the agent had spent before, so that its
 * limits hold across restarts.
 *
 * @example
 * ```ts
 * const Support = DurableAgent.entity("support", {
 *   name: "support",
 *   system: "You help customers with their orders.",
 *   tools: [orders],
 *   passivateAfter: "10 minutes"
 * })
 * const agent = yield* Entity.ref(Support, "customer-42")
 * const answer = yield* Durable.ask(agent, Agent.Protocol.Ask({ prompt: "Where is my parcel?" }), {
 *   id: requestId,
 *   timeout: "2 minutes"
 * })
 * ```
 */
import { Behavior, Desk, Durable, Entity, Storage } from "@troupe/runtime"
import { type Duration, Effect, Option, Schema } from "effect"
import * as Agent from "./Agent.ts"
import { Budget } from "./Budget.ts"
import { CurrentTurn, TurnJournal } from "./internal/turnJournal.ts"
import { LanguageModel } from "./LanguageModel.ts"
import * as Message from "./Message.ts"
import type * as Tool from "./Tool.ts"
import * as Usage from "./Usage.ts"

/** What a durable agent stores: its conversation, what it spent, and how many turns it completed. */
export const State = Schema.Struct({
  transcript: Schema.Array(Message.Message),
  /** Usage of the model calls of completed turns. */
  usage: Usage.Usage,
  /** USD spent by completed turns (calls with a price). */
  cost: Schema.Number,
  /** Model calls of completed turns. */
  calls: Schema.Number,
  turns: Schema.Number
})
export type State = typeof State.Type

/** The state of an agent that has not spoken yet. */
export const initial: State = { transcript: [], usage: Usage.empty, cost: 0, calls: 0, turns: 0 }

/**
 * The behaviour of a durable agent (`Agent.make`'s options). Make it durable with `Durable.persistent(…, {
 * id, state: DurableAgent.State })`, or use {@link persistent} or {@link entity}. Without a persistence id it
 * is an ordinary agent with a storable state.
 */
export const make = <const Tools extends ReadonlyArray<Tool.Any> = [], A = string, RC = never>(
  options: Agent.Options<Tools, A, RC>
): Behavior.Behavior<Agent.Protocol<A>, State, LanguageModel | Tool.Services<Tools[number]> | RC | Storage.Storage> => {
  const tools = options.tools?.map(journaled) as Tools | undefined
  const inner = Agent.make<Tools, A, RC>({ ...options, ...(tools === undefined ? {} : { tools }) })
  type R = LanguageModel | Tool.Services<Tools[number]> | RC | Storage.Storage
  type Ctx = Behavior.ActorContext<Agent.Protocol<A>>
  type AskMessage = Parameters<typeof inner.receive.Ask>[1]
  const ask = (transcript: ReadonlyArray<Message.Message>, message: AskMessage, ctx: Ctx) =>
    inner.receive.Ask(transcript, message, ctx) as Effect.Effect<
      { readonly state: ReadonlyArray<Message.Message>; readonly reply: A },
      Agent.AskFailure | unknown,
      R
    >
  return Behavior.make<Agent.Protocol<A>, State, R>(inner.protocol, {
    initial,
    receive: {
      Ask: (state, message, ctx) =>
        Effect.gen(function* () {
          const id = Durable.idOf(ctx)
          if (id === undefined) {
            const answer = yield* ask(state.transcript, message, ctx)
            return { state: { ...state, transcript: answer.state }, reply: answer.reply }
          }
          const storage = yield* Storage.Storage
          const turn = yield* TurnJournal.load(storage.journal, id, state.turns)
          yield* restoreBudget(id, state, turn)
          const model = yield* LanguageModel
          const answer = yield* ask(state.transcript, message, ctx).pipe(
            Effect.provideService(LanguageModel, turn.model(model)),
            Effect.provideService(CurrentTurn, turn),
            Effect.provideService(Desk.Journal, turn.desk())
          )
          const spent = turn.spent()
          return {
            state: {
              transcript: answer.state,
              usage: Usage.add(state.usage, spent.usage),
              cost: state.cost + spent.cost,
              calls: state.calls + spent.calls,
              turns: state.turns + 1
            },
            reply: answer.reply
          }
        }),
      Reset: (state) => Effect.succeed({ ...state, transcript: [] }),
      Transcript: (state) => Effect.succeed({ state, reply: state.transcript })
    }
  }) as unknown as Behavior.Behavior<Agent.Protocol<A>, State, R>
}

/**
 * A durable agent under a persistence id.
 *
 * @example
 * ```ts
 * const ref = yield* ActorSystem.spawn(DurableAgent.persistent({ id: "planner", name: "planner", system: "Plan." }))
 * ```
 */
export const persistent = <const Tools extends ReadonlyArray<Tool.Any> = [], A = string, RC = never>(
  options: Agent.Options<Tools, A, RC> & { readonly id: string }
) => Durable.persistent(make(options), { id: options.id, state: State })

/**
 * A kind of durable agents addressed by id (one per user, per conversation, …): spawned on their first
 * message from their stored state, passivated when idle (see `Entity`).
 *
 * @example
 * ```ts
 * const Support = DurableAgent.entity("support", { name: "support", system: "You help customers." })
 * const agent = yield* Entity.ref(Support, "customer-42")
 * ```
 */
export const entity = <const Tools extends ReadonlyArray<Tool.Any> = [], A = string, RC = never>(
  kind: string,
  options: Agent.Options<Tools, A, RC> & { readonly passivateAfter?: Duration.Input | "never" }
) => {
  const { passivateAfter, ...agent } = options
  const behavior = make(agent)
  return Entity.make(kind, behavior.protocol, {
    behavior: () => behavior,
    state: State,
    ...(passivateAfter === undefined ? {} : { passivateAfter })
  })
}

/** A tool whose calls are journaled in a durable agent's turn (and answered from it when replayed). */
const journaled = (tool: Tool.Any): Tool.Any => ({
  ...tool,
  call: (call) =>
    Effect.flatMap(CurrentTurn, (turn: TurnJournal | undefined) =>
      turn === undefined ? tool.call(call) : turn.tool(call, tool.call(call))
    )
})

const restored = new WeakMap<object, Set<string>>()

/** Tells the budget in context (once per budget and agent) what the agent spent before this process. */
const restoreBudget = (id: string, state: State, turn: TurnJournal) =>
  Effect.gen(function* () {
    const budget = yield* Effect.serviceOption(Budget)
    if (Option.isNone(budget)) return
    let seen = restored.get(budget.value)
    if (seen === undefined) restored.set(budget.value, (seen = new Set()))
    if (seen.has(id)) return
    seen.add(id)
    const journaled = turn.spent()
    const tokens = Usage.total(state.usage) + Usage.total(journaled.usage)
    const cost = state.cost + journaled.cost
    if (tokens > 0 || cost > 0) yield* budget.value.record({ tokens, cost })
  })
