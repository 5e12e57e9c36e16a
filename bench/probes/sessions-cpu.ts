/**
 * `sessions_10k_vs_1` in CPU time, for A/B runs on a loaded machine (where wall time mostly measures the other
 * processes): interleaved rounds of 2000 sessions one at a time and 10 k at once, each round's CPU time per session
 * (`process.cpuUsage`, the collector's threads included) and the collector's share; prints the medians and the
 * ratio one ÷ many (the bench's figure, if the process had the cores to itself).
 * Run: `pnpm exec node bench/probes/sessions-cpu.ts` (ROUNDS=7 ASK_TIMEOUT=5).
 */
import { ActorSystem } from "@troupe/runtime"
import { Effect } from "effect"
import { probe } from "../sessions.ts"
import { gcMillis, median } from "../support.ts"

const rounds = Number(process.env.ROUNDS ?? 7)
const cpu = () => {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1000
}
await Effect.runPromise(
  Effect.provide(
    Effect.gen(function* () {
      const bindings = yield* probe.roles
      yield* probe.sessions(bindings, 2000, 1)
      yield* probe.sessions(bindings, 10_000, 10_000)
      const one: Array<number> = []
      const many: Array<number> = []
      const gcOne: Array<number> = []
      const gcMany: Array<number> = []
      const measure = (n: number, concurrency: number, cpus: Array<number>, gcs: Array<number>) =>
        Effect.gen(function* () {
          const c0 = cpu()
          const g0 = gcMillis()
          yield* probe.sessions(bindings, n, concurrency)
          yield* Effect.sleep(1)
          cpus.push(((cpu() - c0) * 1000) / n)
          gcs.push(((gcMillis() - g0) * 1000) / n)
        })
      for (let round = 0; round < rounds; round++) {
        yield* measure(2000, 1, one, gcOne)
        yield* measure(10_000, 10_000, many, gcMany)
      }
      const ratios = one.map((o, i) => o / many[i]!)
      console.log(
        `cpu µs/session one ${median(one).toFixed(1)} many ${median(many).toFixed(1)}  gc µs one ${median(gcOne).toFixed(1)} many ${median(gcMany).toFixed(1)}  ratio ${median(ratios).toFixed(3)} [${ratios.map((r) => r.toFixed(2)).join(" ")}]`
      )
    }),
    // (ASK_TIMEOUT=600 on a loaded machine, where joins of 10 k at once outlast the default 5 s and the sessions fail)
    ActorSystem.layer({ name: "probe", askTimeout: `${Number(process.env.ASK_TIMEOUT ?? 5)} seconds` })
  )
)
