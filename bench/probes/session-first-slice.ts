/**
 * The first slice of `Session.run`: what a caller that starts N sessions at once (one `forEach`, unbounded) pays in
 * its own call, before its event loop turns again (Effect forks each child with `startImmediately`, so every
 * session's first slice runs back to back in the caller's call). All N wait in line: the system's one place is held
 * by a session whose participant never answers its Join. Prints, for the same forEach over (a) a bare suspension
 * (Effect's own cost of a fork that suspends at once) and (b) `Session.run`: the time until the loop's first turn,
 * per session, and how long each session's effect took to make and run to its suspension (p50, p99 of the gaps).
 * The CPU figure is this thread's (`process.threadCpuUsage`), so that a loaded host's waits for a core do not count.
 * Options: VARIANTS=1 also measures the same burst over a wrapped suspension and over `Admission.admit` alone;
 * DECILES=1 prints the p50 per tenth of each burst; --expose-gc prints the bytes held per session waiting in line;
 * PROFILE=file PROFILE_ROUND=k writes a CPU profile of round k's `Session.run` burst.
 * Run: `pnpm exec node bench/probes/session-first-slice.ts` (N=10000 ROUNDS=3).
 */

import { writeFileSync } from "node:fs"
import * as Inspector from "node:inspector"
import { loadavg } from "node:os"
import { ActorSystem, Behavior, Session } from "@troupe/runtime"
import { Effect, Fiber } from "effect"
import { Admission } from "../../packages/runtime/src/choreography/internal/sessionAdmission.ts"
import { Ask, askServer } from "../../test/support/session-ask.ts"

const n = Number(process.env.N ?? 10_000)
const rounds = Number(process.env.ROUNDS ?? 3)

const burst = (label: string, make: (i: number) => Effect.Effect<unknown, unknown>) =>
  Effect.gen(function* () {
    const made = new Float64Array(n + 1)
    ;(globalThis as { gc?: () => void }).gc?.()
    const before = process.memoryUsage().heapUsed
    let firstTurn = 0
    const cpu0 = process.threadCpuUsage()
    const t0 = performance.now()
    setImmediate(() => {
      firstTurn = performance.now() - t0
    })
    const fiber = yield* Effect.forkChild(
      Effect.forEach(
        Array.from({ length: n }, (_, i) => i),
        (i) => {
          made[i] = performance.now()
          return make(i)
        },
        { concurrency: "unbounded", discard: true }
      ),
      { startImmediately: true }
    )
    made[n] = performance.now()
    const cpu = process.threadCpuUsage(cpu0)
    const syncCpu = (cpu.user + cpu.system) / 1000
    const gc = (globalThis as { gc?: () => void }).gc
    if (gc !== undefined) {
      gc()
      const held = process.memoryUsage().heapUsed
      console.log(
        `${label}: ${(held / 1e6).toFixed(1)} MB live while the ${n} wait (before: ${(before / 1e6).toFixed(1)} MB): ${((held - before) / n).toFixed(0)} B per session`
      )
    }
    yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 20)))
    yield* Fiber.interrupt(fiber)
    const gaps = Array.from({ length: n }, (_, i) => made[i + 1]! - made[i]!).sort((a, b) => a - b)
    const at = (q: number) => (gaps[Math.floor(q * (n - 1))]! * 1000).toFixed(1)
    if (process.env.DECILES !== undefined) {
      const parts = []
      for (let d = 0; d < 10; d++) {
        const slice = Array.from({ length: n / 10 }, (_, j) => made[d * (n / 10) + j + 1]! - made[d * (n / 10) + j]!)
        slice.sort((a, b) => a - b)
        parts.push((slice[Math.floor(slice.length / 2)]! * 1000).toFixed(1))
      }
      console.log(`${label}: p50 by tenth of the burst: ${parts.join(" ")} us`)
    }
    console.log(
      `${label.padEnd(12)} first turn after ${firstTurn.toFixed(0)} ms (${((firstTurn * 1000) / n).toFixed(1)} us per ` +
        `session), the caller's call ${(made[n]! - t0).toFixed(0)} ms using ${syncCpu.toFixed(0)} ms of its thread's CPU ` +
        `(${((syncCpu * 1000) / n).toFixed(1)} us per session); per session p50 ${at(0.5)} p99 ${at(0.99)} us (load ${loadavg()[0]!.toFixed(0)})`
    )
  })

const program = Effect.gen(function* () {
  const system = yield* ActorSystem.make({ name: "slice", askTimeout: "600 seconds", maxJoiningSessions: 1 })
  // C never answers a Join: the one session admitted holds the system's place, every other waits in line
  const C = yield* system.spawn(
    Behavior.make(Session.protocolOf(Ask, "C"), { initial: null, receive: { Join: () => Effect.never } } as never)
  )
  const S = yield* system.spawn(askServer)
  const held = yield* Effect.forkChild(
    Session.run(Ask, { roles: { C, S } as never }).pipe(Effect.provideService(ActorSystem.ActorSystem, system))
  )
  yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 50)))
  for (let round = 0; round < rounds; round++) {
    yield* burst("suspend", () => Effect.callback<void>(() => {}))
    if (process.env.VARIANTS !== undefined) {
      yield* burst("wrapped", () =>
        Effect.exit(Effect.callback<void>(() => {})).pipe(Effect.provideService(ActorSystem.ActorSystem, system))
      )
      const admission = Admission.of(ActorSystem.internal(system))
      yield* burst("admit", (i) =>
        Effect.exit(admission.admit("Ask", `a${round}-${i}`)).pipe(
          Effect.provideService(ActorSystem.ActorSystem, system)
        )
      )
    }
    const inspector = new Inspector.Session()
    const profiled = process.env.PROFILE !== undefined && process.env.PROFILE_ROUND === String(round)
    if (profiled) {
      inspector.connect()
      inspector.post("Profiler.enable")
      inspector.post("Profiler.setSamplingInterval", { interval: 20 })
      inspector.post("Profiler.start")
    }
    yield* burst(
      "Session.run",
      (i) =>
        Effect.exit(Session.run(Ask, { roles: { C, S } as never, id: `r${round}-${i}` })).pipe(
          Effect.provideService(ActorSystem.ActorSystem, system)
        ) as Effect.Effect<unknown>
    )
    if (profiled)
      inspector.post("Profiler.stop", (_, { profile }) => writeFileSync(process.env.PROFILE!, JSON.stringify(profile)))
  }
  yield* Fiber.interrupt(held)
})

Effect.runPromise(Effect.scoped(program)).then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${String(error)}\n`)
    process.exit(1)
  }
)
