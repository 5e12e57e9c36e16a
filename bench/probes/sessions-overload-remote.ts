/**
 * Session admission across two processes: the starter (and the sessions' coordinators) on one node, both participants
 * (C and S of Ask, shared by every session) on another, a child process, over WebSocket on loopback. `N` sessions are
 * started at once (one `forEach`, unbounded); every second the starter prints how many completed, failed (by kind),
 * and are still running, with the admission's counts; `WATCH` seconds without any session ending while some run is
 * called a hang (exit 2, with the participants' node's counters). At the end: the starter's loop lag (the longest gap
 * between turns of a 20 ms interval) and when its first turn came after the burst began (every session's first slice,
 * run back to back in the caller's call, divided by N: the first slice's cost per session).
 * ROUNDS=k runs k bursts one after the other; with --expose-gc, the heap after each (after GC) against the baseline,
 * and by heap space (code_space grows with what V8 compiles; old_space with objects kept).
 * Run: `pnpm exec node bench/probes/sessions-overload-remote.ts` (N=10000 ASK_TIMEOUT=5 MAX_JOINING=256 WATCH=60).
 */
import { spawn } from "node:child_process"
import { writeFileSync } from "node:fs"
import * as Inspector from "node:inspector"
import { loadavg } from "node:os"
import * as Readline from "node:readline"
import { fileURLToPath } from "node:url"
import { getHeapSpaceStatistics } from "node:v8"
import { ActorSystem, Session } from "@troupe/runtime"
import { Transport, WebSocket } from "@troupe/transport"
import { Cause, Effect, Exit, Option } from "effect"
import { Admission } from "../../packages/runtime/src/choreography/internal/sessionAdmission.ts"
import { Ask, askClient as client, askServer as server } from "../../test/support/session-ask.ts"

const n = Number(process.env.N ?? 10_000)
const askTimeout = Number(process.env.ASK_TIMEOUT ?? 5)
const maxJoining = Number(process.env.MAX_JOINING ?? 256)
const watch = Number(process.env.WATCH ?? 60)
const rounds = Number(process.env.ROUNDS ?? 1)

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
  // --expose-gc: the heap after each burst, after GC, against the heap before the first (the bound: 2 MB)
  const gc = (globalThis as { gc?: () => void }).gc
  const heap = () => {
    gc!()
    gc!()
    return process.memoryUsage().heapUsed
  }
  const baseline = gc === undefined ? 0 : heap()
  /** The heap's spaces (code, old, new, large objects...) in use, by name: where a round's growth is. */
  const spaces = () => new Map(getHeapSpaceStatistics().map((s) => [s.space_name, s.space_used_size]))
  const baseSpaces = spaces()
  const burst = (round: number) =>
    Effect.gen(function* () {
      let completed = 0
      let lastEnd = performance.now()
      const failures = new Map<string, number>()
      // the starter's loop: the longest gap between two turns of a 20 ms interval, and when the first turn came after the
      // burst began (the burst's synchronous part: every session's first slice run back to back in the caller's call)
      let lastTurn = performance.now()
      let maxLag = 0
      const lagProbe = setInterval(() => {
        const at = performance.now()
        maxLag = Math.max(maxLag, at - lastTurn - 20)
        lastTurn = at
      }, 20)
      // PROFILE=file: a CPU profile of the burst's synchronous part (until the loop's first turn)
      const inspector = new Inspector.Session()
      if (process.env.PROFILE !== undefined) {
        inspector.connect()
        inspector.post("Profiler.enable")
        inspector.post("Profiler.setSamplingInterval", { interval: 25 })
        inspector.post("Profiler.start")
      }
      let firstTurn = 0
      let syncCpu = 0
      const cpu0 = process.threadCpuUsage()
      const t0 = performance.now()
      lastTurn = t0
      setImmediate(() => {
        firstTurn = performance.now() - t0
        const cpu = process.threadCpuUsage(cpu0)
        syncCpu = (cpu.user + cpu.system) / 1000
        if (process.env.PROFILE !== undefined)
          inspector.post("Profiler.stop", (_, { profile }) =>
            writeFileSync(process.env.PROFILE!, JSON.stringify(profile))
          )
      })
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
      // when each session's effect was made: the gap to the next is (about) that session's first slice
      const made = new Float64Array(n)
      yield* Effect.forEach(
        Array.from({ length: n }, (_, i) => i),
        (i) => {
          made[i] = performance.now()
          return Effect.exit(Session.run(Ask, { roles: { C, S }, id: `s-${round}-${i}` })).pipe(
            Effect.flatMap((exit) => Effect.sync(() => count(exit)))
          )
        },
        { concurrency: process.env.CONCURRENCY === "n" ? n : "unbounded", discard: true }
      ).pipe(Effect.provideService(ActorSystem.ActorSystem, system))
      clearInterval(timer)
      clearInterval(lagProbe)
      const slices = (from: number, to: number) => {
        const gaps: Array<number> = []
        for (let i = from; i < Math.min(to, n - 1); i++) gaps.push(made[i + 1]! - made[i]!)
        gaps.sort((a, b) => a - b)
        const at = (q: number) => ((gaps[Math.floor(q * (gaps.length - 1))] ?? 0) * 1000).toFixed(0)
        const mean = (gaps.reduce((a, b) => a + b, 0) * 1000) / Math.max(1, gaps.length)
        return `mean ${mean.toFixed(0)} p50 ${at(0.5)} p99 ${at(0.99)} us`
      }
      console.log(
        `first slice per session: the first ${maxJoining} (admitted at once): ${slices(0, maxJoining)}; ` +
          `the others (in line): ${slices(maxJoining, n)}`
      )
      console.log(
        `${n} sessions across two processes in ${((performance.now() - t0) / 1000).toFixed(1)} s: completed ${completed}, ` +
          `failed ${JSON.stringify(Object.fromEntries(failures))}; the starter's loop: first turn after ` +
          `${firstTurn.toFixed(0)} ms (${((firstTurn * 1000) / n).toFixed(1)} us per session; its thread's CPU ` +
          `${syncCpu.toFixed(0)} ms, ${((syncCpu * 1000) / n).toFixed(1)} us per session), longest lag ` +
          `${maxLag.toFixed(0)} ms (load ${loadavg()[0]!.toFixed(0)})`
      )
    })
  for (let round = 0; round < rounds; round++) {
    yield* burst(round)
    if (gc !== undefined) {
      // (the last sessions' unwatch notices may still be on their way)
      yield* Effect.sleep("2 seconds")
      const now = heap()
      console.log(
        `heap after round ${round + 1}, after GC: ${(now / 1e6).toFixed(1)} MB, ` +
          `${((now - baseline) / 1e6).toFixed(2)} MB over the baseline before the first burst (by space: ` +
          [...spaces()]
            .map(
              ([name, used]) =>
                `${name.replace("_space", "")} ${((used - (baseSpaces.get(name) ?? 0)) / 1e6).toFixed(2)}`
            )
            .join(", ") +
          ")"
      )
    }
  }
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
