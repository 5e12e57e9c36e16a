/**
 * A lone session's latency: sessions run one at a time (each `Session.run` awaited before the next starts), two
 * participant actors in this process (C asks S a number, S answers it plus one). Prints, per round, the wall time of
 * one session (p50, p90, p99, from `Session.run` called to its result) and the CPU this thread spent per session
 * (`process.threadCpuUsage`, so a loaded host's waits for a core do not count), and the medians over the rounds.
 * Imports only `@troupe/runtime` and `effect`, so a copy runs against another checkout (a directory whose
 * node_modules links to that checkout's) for interleaved A/B runs under the same load.
 * Run: `pnpm exec node bench/probes/session-lone.ts` (N=2000 ROUNDS=5).
 */
import { loadavg } from "node:os"
import { ActorSystem, Choreography, Session } from "@troupe/runtime"
import { Effect, Schema } from "effect"

const n = Number(process.env.N ?? 2000)
const rounds = Number(process.env.ROUNDS ?? 5)

const Ask = Choreography.makeUnsafe("Ask", ["C", "S"], ($) => [
  $.message("C", "S", "ask", Schema.Number),
  $.message("S", "C", "answer", Schema.Number)
])

const client = Session.role(Ask, "C", (ep) =>
  Effect.gen(function* () {
    const answer = yield* (yield* ep.send("S", "ask", 1)).receive()
    yield* answer.next.close()
    return answer.payload
  })
)

const server = Session.role(Ask, "S", (ep) =>
  Effect.gen(function* () {
    const ask = yield* ep.receive()
    yield* (yield* ask.next.send("C", "answer", ask.payload + 1)).close()
  })
)

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!

const program = Effect.gen(function* () {
  const C = yield* ActorSystem.spawn(client)
  const S = yield* ActorSystem.spawn(server)
  const one = Session.run(Ask, { roles: { C, S } })
  // warm-up: the code's first uses
  for (let i = 0; i < n; i++) yield* one
  const p50s: Array<number> = []
  const cpus: Array<number> = []
  for (let round = 0; round < rounds; round++) {
    const took = new Float64Array(n)
    const cpu0 = process.threadCpuUsage()
    for (let i = 0; i < n; i++) {
      const t0 = performance.now()
      const done = yield* one
      took[i] = performance.now() - t0
      if (done.results.C !== 2) return yield* Effect.die(new Error(`wrong answer ${done.results.C}`))
    }
    const cpu = process.threadCpuUsage(cpu0)
    const cpuPer = (cpu.user + cpu.system) / n
    took.sort()
    const at = (q: number) => took[Math.floor(q * (n - 1))]! * 1000
    p50s.push(at(0.5))
    cpus.push(cpuPer)
    console.log(
      `round ${round}: one session p50 ${at(0.5).toFixed(0)} p90 ${at(0.9).toFixed(0)} p99 ${at(0.99).toFixed(0)} us, ` +
        `CPU ${cpuPer.toFixed(1)} us per session (load ${loadavg()[0]!.toFixed(1)})`
    )
  }
  console.log(
    `median of ${rounds} rounds: p50 ${median(p50s).toFixed(0)} us, CPU ${median(cpus).toFixed(1)} us per session`
  )
})

Effect.runPromise(Effect.provide(program, ActorSystem.layer({ name: "lone", askTimeout: "60 seconds" }))).then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${String(error)}\n`)
    process.exit(1)
  }
)
