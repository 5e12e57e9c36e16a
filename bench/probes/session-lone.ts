/**
 * A lone session's latency: sessions run one at a time (each `Session.run` awaited before the next starts), two
 * participant actors in this process (C asks S a number, S answers it plus one). Prints, per round, the wall time of
 * one session (p50, p90, p99, from `Session.run` called to its result) and the CPU this thread spent per session
 * (`process.threadCpuUsage`, so a loaded host's waits for a core do not count), and the medians over the rounds.
 * BUSY=us: other work on the same event loop, BUSY microseconds of CPU in every turn (a chain of \`setImmediate\`s),
 * as other actors and sockets of a busy node would take: each turn of the loop a session waits for costs it that much;
 * prints the loop's turns per session too (load-independent).
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

const busy = Number(process.env.BUSY ?? 0)
const busyOn = busy > 0
let turns = 0
let turnsAtCall = 0
let toHandle = 0
const spin = (): void => {
  if (!busyOn) return
  turns++
  const until = performance.now() + busy / 1000
  while (performance.now() < until) {}
  setImmediate(spin)
}

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!

const program = Effect.gen(function* () {
  const C = yield* ActorSystem.spawn(client)
  const S = yield* ActorSystem.spawn(server)
  // a session as `Session.run` is (start in a scope, await its end), counting the loop's turns until the handle
  const one = Effect.scoped(
    Effect.flatMap(
      Effect.suspend(() => {
        turnsAtCall = turns
        return Session.start(Ask, { roles: { C, S } })
      }),
      (handle) => {
        toHandle += turns - turnsAtCall
        return handle.await
      }
    )
  )
  if (busyOn) setImmediate(spin)
  // warm-up: the code's first uses
  for (let i = 0; i < n; i++) yield* one
  const p50s: Array<number> = []
  const cpus: Array<number> = []
  for (let round = 0; round < rounds; round++) {
    const took = new Float64Array(n)
    const cpu0 = process.threadCpuUsage()
    const turns0 = turns
    toHandle = 0
    for (let i = 0; i < n; i++) {
      const t0 = performance.now()
      const done = yield* one
      took[i] = performance.now() - t0
      if (done.results.C !== 2) return yield* Effect.die(new Error(`wrong answer ${done.results.C}`))
    }
    const cpu = process.threadCpuUsage(cpu0)
    const cpuPer = (cpu.user + cpu.system) / n
    const turnsPer = busyOn
      ? `, ${((turns - turns0) / n).toFixed(2)} loop turns per session, ${(toHandle / n).toFixed(2)} of them before \`Session.start\` returned`
      : ""
    took.sort()
    const at = (q: number) => took[Math.floor(q * (n - 1))]! * 1000
    p50s.push(at(0.5))
    cpus.push(cpuPer)
    console.log(
      `round ${round}: one session p50 ${at(0.5).toFixed(0)} p90 ${at(0.9).toFixed(0)} p99 ${at(0.99).toFixed(0)} us, ` +
        `CPU ${cpuPer.toFixed(1)} us per session${turnsPer} (load ${loadavg()[0]!.toFixed(1)})`
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
