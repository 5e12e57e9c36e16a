/**
 * Where the CPU of many concurrent sessions goes: runs `sessions_10k_vs_1`'s sessions 10 k at once (`many`) or
 * one at a time (`one`), for `node --cpu-prof`; read the profiles with `monitor-profile.ts summary <file>`.
 * Run: `pnpm exec node --cpu-prof --cpu-prof-dir=/tmp/prof bench/probes/sessions-profile.ts many|one`.
 */
import { ActorSystem } from "@troupe/runtime"
import { Effect } from "effect"
import { probe } from "../sessions.ts"

const many = process.argv[2] === "many"
await Effect.runPromise(
  Effect.provide(
    Effect.gen(function* () {
      const bindings = yield* probe.roles
      for (let round = 0; round < Number(process.env.ROUNDS ?? 6); round++)
        yield* many ? probe.sessions(bindings, 10_000, 10_000) : probe.sessions(bindings, 10_000, 1)
    }),
    ActorSystem.layer({ name: "probe" })
  )
)
