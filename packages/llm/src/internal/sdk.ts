/**
 * The official SDKs, imported when a model over one is first made or called, not with `@troupe/llm`: together they
 * are ~500 modules and ~0.5 s of CPU at every start of a process that imports the package, also of one that never
 * calls OpenAI or Anthropic. Once loaded, each is kept: a later call gets it without waiting. Each is a dependency
 * of this package: an import that fails is a broken install, a defect with Node's message.
 *
 * @example
 * const client = Effect.map(Sdk.openAi, ({ default: OpenAI }) => new OpenAI({ apiKey }))
 */
import type * as AnthropicSdk from "@anthropic-ai/sdk"
import { Effect } from "effect"
import type * as OpenAiSdk from "openai"

/** The `openai` package. */
export type OpenAi = typeof OpenAiSdk

/** The `@anthropic-ai/sdk` package. */
export type Anthropic = typeof AnthropicSdk

/** A module imported on first use, and kept (each model call asks for its SDK's error classes). */
const onFirstUse = <A>(load: () => Promise<A>): Effect.Effect<A> => {
  let loaded: A | undefined
  return Effect.suspend(() =>
    loaded === undefined
      ? Effect.tap(Effect.promise(load), (module) =>
          Effect.sync(() => {
            loaded = module
          })
        )
      : Effect.succeed(loaded)
  )
}

/** The `openai` package, imported on first use. */
export const openAi: Effect.Effect<OpenAi> = onFirstUse(() => import("openai"))

/** The `@anthropic-ai/sdk` package, imported on first use. */
export const anthropic: Effect.Effect<Anthropic> = onFirstUse(() => import("@anthropic-ai/sdk"))
