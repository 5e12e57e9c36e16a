/**
 * What models cost: a price table in USD per million tokens, and the cost of a call.
 *
 * **The default table holds example prices only.** Providers change prices and OpenAI-compatible servers
 * have their own: configure the table you pay by with {@link layer} or {@link withPrices}.
 *
 * A model is found by exact name, else by the longest table key it starts with
 * (`gpt-4.1-mini-2025-04-14` is priced as `gpt-4.1-mini`).
 *
 * @example
 * ```ts
 * const prices = Pricing.layer({ "my-local-model": { input: 0, output: 0 } })
 * ```
 */
import { Context, Effect, Layer } from "effect"
import { dual } from "effect/Function"
import { byModel } from "./internal/byModel.ts"
import type * as Usage from "./Usage.ts"

/** Price of one model, in USD per million tokens. `cachedInput` defaults to `input`. */
export interface Price {
  readonly input: number
  readonly output: number
  readonly cachedInput?: number | undefined
}

/** Prices by model name. */
export type PriceTable = Readonly<Record<string, Price>>

/** Example prices (USD per million tokens). Not authoritative: configure your own. */
export const examplePrices: PriceTable = {
  "gpt-5": { input: 1.25, cachedInput: 0.125, output: 10 },
  "gpt-5-mini": { input: 0.25, cachedInput: 0.025, output: 2 },
  "gpt-5-nano": { input: 0.05, cachedInput: 0.005, output: 0.4 },
  "gpt-4.1": { input: 2, cachedInput: 0.5, output: 8 },
  "gpt-4.1-mini": { input: 0.4, cachedInput: 0.1, output: 1.6 },
  "gpt-4.1-nano": { input: 0.1, cachedInput: 0.025, output: 0.4 },
  "gpt-4o": { input: 2.5, cachedInput: 1.25, output: 10 },
  "gpt-4o-mini": { input: 0.15, cachedInput: 0.075, output: 0.6 },
  "o4-mini": { input: 1.1, cachedInput: 0.275, output: 4.4 }
}

/** The price table in use; {@link examplePrices} unless configured. */
export const Pricing = Context.Reference<PriceTable>("@troupe/llm/Pricing", {
  defaultValue: () => examplePrices
})

/** A layer setting the price table. */
export const layer = (table: PriceTable): Layer.Layer<never> => Layer.succeed(Pricing, table)

/** Runs an effect with the given price table. */
export const withPrices: {
  (table: PriceTable): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, table: PriceTable): Effect.Effect<A, E, R>
} = dual(2, <A, E, R>(self: Effect.Effect<A, E, R>, table: PriceTable) => Effect.provideService(self, Pricing, table))

/** The price of a model in a table, or `undefined` when the table does not know it. */
export const priceOf = (table: PriceTable, model: string): Price | undefined => byModel(table, model)

/** The cost in USD of a usage at a price. */
export const cost = (price: Price, usage: Usage.Usage): number => {
  const uncached = usage.inputTokens - usage.cachedInputTokens
  return (
    (uncached * price.input +
      usage.cachedInputTokens * (price.cachedInput ?? price.input) +
      usage.outputTokens * price.output) /
    1_000_000
  )
}
