/**
 * Where the lateness of tight remote ask deadlines goes (issue 9 scenario 10: "every deadline kept within a few ms in
 * every state"). Two processes over WebSocket on loopback: a callee with a sink whose mailbox (4) is full (each `Put`
 * takes 20 ms, 200 are told at once), and a caller that, in each round, asks the sink `ASKS` times at once with a
 * deadline of `DEADLINE` ms (the asks wait behind the full mailbox, so each ends by its deadline). Per round it prints
 * how late the asks' callers resumed after their deadline, split into:
 * - `timer`: how late a plain `setTimeout` armed with the asks (same delay) ran: what Node could do at best;
 * - `wake`: how late the system's deadline sleeper woke (`Deadlines`, its timer), and `hop`: its wait from that wake
 *   until it fired (one `setImmediate`, so that the I/O already waiting is read first);
 * - `queued`: how long the caller's thread waited on the CPU's run queue (runnable, not running) during the round, from
 *   /proc/self/task/<pid>/schedstat: lateness the process could not avoid, as it did not run.
 * Run: `pnpm exec node bench/probes/deadline-lateness.ts` (ROUNDS=20 ASKS=30 DEADLINE=30). Load it with CPU burners.
 */
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { loadavg } from "node:os"
import * as Readline from "node:readline"
import { fileURLToPath } from "node:url"
import { ActorSystem, Behavior, Mailbox, Protocol } from "@troupe/runtime"
import { Transport, WebSocket } from "@troupe/transport"
import { Effect, Exit, Option, Schema, type Scope } from "effect"

const rounds = Number(process.env.ROUNDS ?? 20)
const asks = Number(process.env.ASKS ?? 30)
const deadline = Number(process.env.DEADLINE ?? 30)

const Sink = Protocol.make("Sink", {
  Put: { n: Schema.Number },
  Slow: Protocol.request({ millis: Schema.Number }, { success: Schema.Number })
})
const sink = Behavior.make(Sink, {
  initial: 0,
  receive: {
    Put: (s) => Effect.as(Effect.sleep("20 millis"), s + 1),
    Slow: (s, { millis }) => Effect.as(Effect.sleep(`${millis} millis`), { state: s, reply: millis })
  }
})

const secret = "the deadline probe's shared secret, long enough"
const print = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`)

const callee = Effect.gen(function* () {
  const transport = yield* WebSocket.make({ node: "callee", secret, listen: { port: 0, host: "127.0.0.1" } })
  const system = yield* ActorSystem.make({ name: "callee" }).pipe(Effect.provideService(Transport.Transport, transport))
  yield* system.spawn(sink, { name: "sink", mailbox: Mailbox.bounded(4) })
  print({ ready: Option.getOrThrow(transport.address) })
  yield* Effect.callback<void>((resume) => {
    process.stdin.on("end", () => resume(Effect.void))
    process.stdin.resume()
  })
})

/** Milliseconds this thread has run on a CPU, and waited on a run queue (runnable, not running), so far (Linux). */
const schedstat = () => {
  const [cpu, queued] = readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ")
  return { cpu: Number(cpu) / 1e6, queued: Number(queued) / 1e6 }
}

const stats = (values: ReadonlyArray<number>) => {
  if (values.length === 0) return "-"
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(0)
  return `${at(0)}/${at(0.5)}/${at(1)}`
}

const caller = Effect.gen(function* () {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "callee"], {
    stdio: ["pipe", "pipe", "inherit"],
    env: process.env
  })
  yield* Effect.addFinalizer(() => Effect.sync(() => child.kill("SIGKILL")))
  const url = yield* Effect.callback<string>((resume) => {
    Readline.createInterface({ input: child.stdout! }).on("line", (line) => {
      if (line.startsWith("{")) resume(Effect.succeed((JSON.parse(line) as { ready: string }).ready))
    })
  })
  const transport = yield* WebSocket.make({ node: "caller", secret })
  const system = yield* ActorSystem.make({ name: "caller" }).pipe(Effect.provideService(Transport.Transport, transport))
  yield* system.connect(url)
  const ref = yield* system.lookup("/user/sink", Sink, { node: "callee" })
  // the sleeper's wakes that found deadlines due: how late (ms, on the clock the deadlines use), and after the hop
  const deadlines = ActorSystem.internal(system).deadlines as unknown as {
    tick: (generation: number, afterIo: boolean) => unknown
    heap: ReadonlyArray<{ at: number }>
  }
  const tick = deadlines.tick.bind(deadlines)
  let wakes: Array<{ late: number; at: number; afterIo: boolean }> = []
  deadlines.tick = (generation, afterIo) => {
    const first = deadlines.heap[0]
    const now = Date.now()
    if (first !== undefined && first.at <= now) wakes.push({ late: now - first.at, at: performance.now(), afterIo })
    return tick(generation, afterIo)
  }
  console.log(
    `${asks} asks at once with a ${deadline} ms deadline behind a full mailbox; per round min/median/max ms late: ` +
      "resumed (the callers, each from its own ask), timer (a plain setTimeout), wake (the sleeper), hop (wake to firing); queued: ms on the run queue"
  )
  for (let round = 0; round < rounds; round++) {
    yield* Effect.forEach(
      Array.from({ length: 200 }, (_, n) => n),
      (n) => ref.tell(Sink.Put({ n })),
      { discard: true }
    )
    yield* Effect.sleep("50 millis")
    wakes = []
    const before = schedstat()
    const armed = performance.now()
    let timerLate = 0
    setTimeout(() => {
      timerLate = performance.now() - armed - deadline
    }, deadline)
    const late: Array<number> = []
    let lastResumed = 0
    let timedOut = 0
    yield* Effect.forEach(
      Array.from({ length: asks }, (_, i) => i),
      () =>
        Effect.suspend(() => {
          const asked = performance.now()
          return Effect.exit(ref.ask(Sink.Slow({ millis: 1 }), { timeout: deadline })).pipe(
            Effect.flatMap((exit) => {
              const now = performance.now()
              late.push(now - asked - deadline)
              lastResumed = now
              if (Exit.isFailure(exit)) timedOut++
              return Effect.void
            })
          )
        }),
      { concurrency: "unbounded", discard: true }
    )
    const after = schedstat()
    // the round's wall time split: on a CPU, on the run queue, and the rest: asleep (in the poll, waiting for I/O or timers)
    const wall = lastResumed - armed
    const cpu = after.cpu - before.cpu
    const queued = after.queued - before.queued
    const lastFired = wakes.findLast((w) => w.afterIo)
    const fires = wakes
      .map((w, i) => (w.afterIo ? undefined : `${w.late}+${((wakes[i + 1]?.at ?? w.at) - w.at).toFixed(0)}`))
      .filter((w) => w !== undefined)
    console.log(
      `round ${String(round).padStart(2)} load ${loadavg()[0]!.toFixed(0).padStart(2)}: resumed ${stats(late)}, ` +
        `timer ${timerLate.toFixed(0)}, wakes late+hop ${fires.join(" ")}, ` +
        `last fired to last resumed ${lastFired === undefined ? "-" : (lastResumed - lastFired.at).toFixed(1)}; ` +
        `round ${wall.toFixed(0)} = cpu ${cpu.toFixed(0)} + queued ${queued.toFixed(0)} + asleep ${(wall - cpu - queued).toFixed(0)}; ` +
        `timed out ${timedOut}/${asks}`
    )
    yield* Effect.sleep("2500 millis") // the sink drains the 200 puts (20 ms each)
  }
  child.stdin!.end()
})

const program: Effect.Effect<void, unknown, Scope.Scope> = process.argv[2] === "callee" ? callee : caller
Effect.runPromise(Effect.scoped(program)).then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${String(error)}\n`)
    process.exit(1)
  }
)
