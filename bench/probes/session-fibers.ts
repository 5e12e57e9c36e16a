/**
 * Fibers made per session of `sessions_10k_vs_1`'s shape, one at a time, 1000 and 10 k at once (fiber ids are counted
 * by Effect: the difference of a new fiber's id before and after is the number of fibers made between).
 * Run: `pnpm exec node bench/probes/session-fibers.ts`.
 */
import { ActorSystem } from "@troupe/runtime"
import { Effect } from "effect"
import { probe } from "../sessions.ts"

const fiberId = Effect.map(Effect.forkDetach(Effect.void), (fiber) => fiber.id)
await Effect.runPromise(
  Effect.provide(
    Effect.gen(function* () {
      const bindings = yield* probe.roles
      yield* probe.sessions(bindings, 100, 1)
      for (const concurrency of [1, 1000, 10_000]) {
        const before = yield* fiberId
        yield* probe.sessions(bindings, Math.max(1000, concurrency), concurrency)
        const after = yield* fiberId
        console.log(
          `${concurrency} at once: ${((after - before - 1) / Math.max(1000, concurrency)).toFixed(2)} fibers per session`
        )
      }
    }),
    ActorSystem.layer({ name: "probe" })
  )
)
