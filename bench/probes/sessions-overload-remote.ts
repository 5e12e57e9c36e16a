/**
 * Session admission across two processes: the starter (and the sessions' coordinators) on one node, both participants
 * (C and S of Ask, shared by every session) on another, a child process, over WebSocket on loopback. `N` sessions are
 * started at once (one `forEach`, unbounded); every second the starter prints how many completed, failed (by kind),
 * and are still running, with the admission's counts; `WATCH` seconds without any session ending while some run is
 * called a hang (exit 2, with the participants' node's counters).
 * Run: `pnpm exec node bench/probes/sessions-overload-remote.ts` (N=10000 ASK_TIMEOUT=5 MAX_JOINING=256 WATCH=60).
 */
import { spawn } from "node:child_process"
import { loadavg } from "node:os"
import * as Readline from "node:readline"
import { fileURLToPath } from "node:url"
import { ActorSystem, Choreography, Session } from "@troupe/runtime"
import { Transport, WebSocket } from "@troupe/transport"
import { Cause, Effect, Exit, Option, Schema } from "effect"
import { Admission } from "../../packages/runtime/src/choreography/internal/sessionAdmission.ts"

const n = Number(process.env.N ?? 10_000)
const askTimeout = Number(process.env.ASK_TIMEOUT ?? 5)
const maxJoining = Number(process.env.MAX_JOINING ?? 256)
const watch = Number(process.env.WATCH ?? 60)

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

const secret = "the probe's shared secret, long enough"
const print = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`)

const participants = Effect.gen(function* () {
  const transport = yield* WebSocket.make({ node: "parts", secret, listen: { port: 0, host: "127.0.0.1" } })
  const system = yield* ActorSystem.make({ name: "parts", askTimeout: `${askTimeout} seconds` }).pipe(
    Effect.provideService(Transport.Transport, transport)
  )
  yield* system.spawn(client, { name: "C" })
  yield* system.spawn(server, { name: "S" })
  print({ ready: Option.getOrThrow(transport.address) })
  // until the parent closes stdin
  yield* Effect.callback<void>((resume) => {
    process.stdin.on("end", () => resume(Effect.void))
    process.stdin.resume()
  })
  print({ parts: Effect.runSync(transport.stats) })
})

const starter = Effect.gen(function* () {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "participants"], {
    stdio: ["pipe", "pipe", "inherit"],
    env: process.env
  })
  yield* Effect.addFinalizer(() => Effect.sync(() => child.kill("SIGKILL")))
  const url = yield* Effect.callback<string>((resume) => {
    Readline.createInterface({ input: child.stdout! }).on("line", (line) => {
      if (!line.startsWith("{")) return console.log(`participants' node: ${line}`)
      const event = JSON.parse(line) as { ready?: string; parts?: unknown }
      if (event.ready !== undefined) resume(Effect.succeed(event.ready))
      else console.log("participants' node:", JSON.stringify(event.parts))
    })
  })
  const transport = yield* WebSocket.make({ node: "starter", secret })
  const system = yield* ActorSystem.make({
    name: "starter",
    askTimeout: `${askTimeout} seconds`,
    maxJoiningSessions: maxJoining
  }).pipe(Effect.provideService(Transport.Transport, transport))
  yield* system.connect(url)
  const C = yield* system.lookup("/user/C", Session.protocolOf(Ask, "C"), { node: "parts" })
  const S = yield* system.lookup("/user/S", Session.protocolOf(Ask, "S"), { node: "parts" })
  // warm up: one session
  yield* Session.run(Ask, { roles: { C, S } }).pipe(Effect.provideService(ActorSystem.ActorSystem, system))
  const admission = Admission.of(ActorSystem.internal(system))
  let completed = 0
  let lastEnd = performance.now()
  const failures = new Map<string, number>()
  const t0 = performance.now()
  const timer = setInterval(() => {
    const ended = completed + [...failures.values()].reduce((a, b) => a + b, 0)
    console.log(
      `${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s load ${loadavg()[0]!.toFixed(0)}: ` +
        `completed ${completed}, failed ${JSON.stringify(Object.fromEntries(failures))}, running ${n - ended}, ` +
        `joining ${admission.joining}, waiting ${admission.waiting}`
    )
    if (ended < n && performance.now() - lastEnd > watch * 1000) {
      console.log(`HANG: no session ended for ${watch} s`)
      child.stdin!.end()
      setTimeout(() => process.exit(2), 2000)
    }
  }, 1000)
  const count = (exit: Exit.Exit<unknown, unknown>) => {
    lastEnd = performance.now()
    if (Exit.isSuccess(exit)) completed++
    else {
      const error = Cause.squash(exit.cause) as { _tag?: string; cause?: { _tag?: string; reason?: string } }
      const cause = error.cause
      const kind = [error._tag, cause?._tag, cause?.reason].filter((k) => k !== undefined).join("/")
      failures.set(kind, (failures.get(kind) ?? 0) + 1)
    }
  }
  yield* Effect.forEach(
    Array.from({ length: n }, (_, i) => i),
    (i) =>
      Effect.exit(Session.run(Ask, { roles: { C, S }, id: `s-${i}` })).pipe(
        Effect.flatMap((exit) => Effect.sync(() => count(exit)))
      ),
    { concurrency: process.env.CONCURRENCY === "n" ? n : "unbounded", discard: true }
  ).pipe(Effect.provideService(ActorSystem.ActorSystem, system))
  clearInterval(timer)
  console.log(
    `${n} sessions across two processes in ${((performance.now() - t0) / 1000).toFixed(1)} s: completed ${completed}, ` +
      `failed ${JSON.stringify(Object.fromEntries(failures))}`
  )
  child.stdin!.end()
  yield* Effect.sleep("500 millis")
})

Effect.runPromise(Effect.scoped(process.argv[2] === "participants" ? participants : starter)).then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${String(error)}\n`)
    process.exit(1)
  }
)
