/**
 * A spending limit for an agent: a maximum number of tokens, a maximum cost in USD, or both.
 *
 * Provide a `Budget` around an agent's model calls (one budget per agent) and every call checks it first.
 *
 * **The rule.** Before a call, the budget adds up what was already spent, what calls still running may spend,
 * and what this call may spend: its max output tokens (the request's `maxOutputTokens`, else the model's
 * default), priced as output tokens for the cost limit. If that sum exceeds a limit, the call is refused with
 * {@link BudgetExceeded} and nothing is sent. A call that sets no max output tokens may produce what is left
 * of the budget after its estimated input, and that limit is sent with it. After each call what was actually
 * produced is recorded: the usage the server reports, or an estimate when it reports none or the stream
 * broke off. Input tokens are not known before the call, so a call may end above the limit by the error of
 * the input estimate; the next call is then refused. A stream from a server that ignores the limit is cut
 * (see `LanguageModel`). A cost limit needs a price for the model ({@link Pricing}); a model without a price
 * is refused under a cost limit.
 *
 * @example
 * ```ts
 * const agentCall = Effect.gen(function*() {
 *   const model = yield* LanguageModel
 *   return yield* model.generate({ prompt: "hi", maxOutputTokens: 200 })
 * }).pipe(Effect.provide(Budget.layer({ maxTokens: 10_000, maxCost: 0.5 })))
 * ```
 */
import { Context, Effect, Layer, Ref, type Scope } from "effect"
import { BudgetExceeded } from "./LlmError.ts"

/** The limits of a budget. Leave one out for no limit of that kind. */
export interface Limits {
  readonly maxTokens?: number | undefined
  /** USD. */
  readonly maxCost?: number | undefined
}

/** What a budget has seen. */
export interface Spent {
  readonly tokens: number
  /** USD. */
  readonly cost: number
  readonly calls: number
}

/** What a call may spend at most (checked before it) or did spend (recorded after it). */
export interface Amount {
  readonly tokens: number
  /** USD; `undefined` when the model has no price. */
  readonly cost: number | undefined
}

/** A budget: one per agent. */
export class Budget extends Context.Service<
  Budget,
  {
    readonly limits: Limits
    /** What was spent so far. */
    readonly spent: Effect.Effect<Spent>
    /** What is left: the limits less what was spent and what running calls reserved (`undefined`: no limit). */
    readonly remaining: Effect.Effect<{ readonly tokens: number | undefined; readonly cost: number | undefined }>
    /**
     * Reserves what a call may spend, or refuses with {@link BudgetExceeded}. The reservation lasts until
     * the scope closes; call {@link record} with the actual amount before that.
     */
    readonly reserve: (estimate: Amount) => Effect.Effect<void, BudgetExceeded, Scope.Scope>
    /** Records what a call spent. */
    readonly record: (actual: Amount) => Effect.Effect<void>
  }
>()("@troupe/llm/Budget") {}

interface State extends Spent {
  readonly reservedTokens: number
  readonly reservedCost: number
}

/** Makes a budget. */
export const make = (limits: Limits): Effect.Effect<Budget["Service"]> =>
  Effect.gen(function* () {
    const state = yield* Ref.make<State>({ tokens: 0, cost: 0, calls: 0, reservedTokens: 0, reservedCost: 0 })

    const check = (s: State, estimate: Amount): BudgetExceeded | undefined => {
      if (limits.maxTokens !== undefined) {
        const spent = s.tokens + s.reservedTokens
        if (spent + estimate.tokens > limits.maxTokens || spent >= limits.maxTokens) {
          return new BudgetExceeded({
            message: `token budget exceeded: ${spent} spent or reserved + ${estimate.tokens} requested > ${limits.maxTokens}`,
            limit: "tokens",
            max: limits.maxTokens,
            spent,
            requested: estimate.tokens
          })
        }
      }
      if (limits.maxCost !== undefined) {
        const spent = s.cost + s.reservedCost
        if (estimate.cost === undefined) {
          return new BudgetExceeded({
            message: "cost budget cannot be checked: the model has no price in the price table",
            limit: "cost",
            max: limits.maxCost,
            spent,
            requested: Number.POSITIVE_INFINITY
          })
        }
        if (spent + estimate.cost > limits.maxCost || spent >= limits.maxCost) {
          return new BudgetExceeded({
            message: `cost budget exceeded: $${spent} spent or reserved + $${estimate.cost} requested > $${limits.maxCost}`,
            limit: "cost",
            max: limits.maxCost,
            spent,
            requested: estimate.cost
          })
        }
      }
      return undefined
    }

    const adjustReserved =
      (tokens: number, cost: number) =>
      (s: State): State => ({
        ...s,
        reservedTokens: s.reservedTokens + tokens,
        reservedCost: s.reservedCost + cost
      })

    return Budget.of({
      limits,
      spent: Effect.map(Ref.get(state), ({ tokens, cost, calls }) => ({ tokens, cost, calls })),
      remaining: Effect.map(Ref.get(state), (s) => ({
        tokens: limits.maxTokens === undefined ? undefined : limits.maxTokens - s.tokens - s.reservedTokens,
        cost: limits.maxCost === undefined ? undefined : limits.maxCost - s.cost - s.reservedCost
      })),
      reserve: (estimate) =>
        Effect.acquireRelease(
          Ref.modify(state, (s) => {
            const refused = check(s, estimate)
            return refused ? [refused, s] : [undefined, adjustReserved(estimate.tokens, estimate.cost ?? 0)(s)]
          }).pipe(Effect.flatMap((refused) => (refused ? Effect.fail(refused) : Effect.void))),
          () => Ref.update(state, adjustReserved(-estimate.tokens, -(estimate.cost ?? 0)))
        ),
      record: (actual) =>
        Ref.update(state, (s) => ({
          ...s,
          tokens: s.tokens + actual.tokens,
          cost: s.cost + (actual.cost ?? 0),
          calls: s.calls + 1
        }))
    })
  })

/** A layer with a fresh budget. */
export const layer = (limits: Limits): Layer.Layer<Budget> => Layer.effect(Budget, make(limits))

/** What the budget in context has spent. */
export const spent: Effect.Effect<Spent, never, Budget> = Budget.use((b) => b.spent)
