/**
 * CPU of a remote ask, both sides in one process: two actor systems on the in-process transport (the same encoded
 * frames through the same engine as the WebSocket one, without sockets), sequential asks to an echo actor. Prints
 * the CPU per ask (both sides, the pipes' setImmediate hops included): the least of many short rounds (the least
 * disturbed by other processes on a loaded machine) and their median. `ROOTS` (comma-separated checkouts, default
 * this one) runs each checkout's runtime in its own processes, interleaved, for A/B:
 *
 *   ROOTS=/work/wt/x,/work/main pnpm exec node bench/probes/ask-cpu.ts [processes] [rounds] [asks]
 *
 * `ASK_CPU_HEAP=file ASK_CPU_ROOT=<checkout>` (one process) also samples every allocation of the rounds, collected
 * ones too, into `file` (a `.heapprofile`): bytes allocated per ask by function, which the load does not blur.
 * `ASK_CPU_PROF=file ASK_CPU_ROOT=<checkout>` (one process) writes a CPU profile of the rounds alone (a `.cpuprofile`,
 * sampled every 50 µs; the main thread only): with `ASK_CPU_COLD=1`, where the cold window's time goes by function.
 * `ASK_CPU_WIRE=ws` puts the two systems on WebSocket nodes over loopback instead (the bench's wire: ws's reads and
 * writes, socket callbacks, no setImmediate per frame; both sides still in one process). `ASK_CPU_COLD=1` measures the
 * bench's cold window instead: asks 501 to 5,500 of a fresh process, one round (`asks` 5000), the CPU of all its
 * threads (V8's compile threads too), `rounds` 1:
 *
 *   ASK_CPU_COLD=1 ASK_CPU_WIRE=ws ROOTS=/work/wt/x,/work/main pnpm exec node bench/probes/ask-cpu.ts 6 1 5000
 */
import { spawnSync } from "node:child_process"
import { createRequire } from "node:module"
import { loadavg } from "node:os"
import { fileURLToPath, pathToFileURL } from "node:url"

const SELF = fileURLToPath(import.meta.url)
const HERE = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "")
const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!

if (process.env.ASK_CPU_ROOT === undefined) {
  const processes = Number(process.argv[2] ?? 3)
  const roots = (process.env.ROOTS ?? HERE).split(",")
  const results = new Map<string, Array<{ least: number; median: number }>>()
  for (let i = 0; i < processes; i++) {
    for (const root of roots) {
      const child = spawnSync(process.execPath, [...process.execArgv, SELF, ...process.argv.slice(3)], {
        env: { ...process.env, ASK_CPU_ROOT: root },
        encoding: "utf8"
      })
      const line = child.stdout.split("\n").find((l) => l.startsWith("{"))
      if (line === undefined) throw new Error(child.stderr)
      const figures = JSON.parse(line) as { least: number; median: number }
      results.set(root, [...(results.get(root) ?? []), figures])
      console.log(
        `${root.padEnd(16)} least ${figures.least.toFixed(2)} µs, median ${figures.median.toFixed(2)} µs CPU per ask, load ${loadavg()[0]!.toFixed(1)}`
      )
    }
  }
  for (const [root, figures] of results)
    console.log(
      `${root.padEnd(16)} over ${figures.length} processes: least ${Math.min(...figures.map((f) => f.least)).toFixed(2)}, median of leasts ${median(figures.map((f) => f.least)).toFixed(2)}, median of medians ${median(figures.map((f) => f.median)).toFixed(2)} µs`
    )
} else {
  const root = process.env.ASK_CPU_ROOT
  const rounds = Number(process.argv[2] ?? 20)
  const asks = Number(process.argv[3] ?? 2000)
  const from = createRequire(`${root}/packages/runtime/package.json`)
  const { Effect, Logger, Option, Schema } = (await import(
    pathToFileURL(from.resolve("effect")).href
  )) as typeof import("effect")
  const { ActorSystem, Behavior, Protocol } = (await import(
    pathToFileURL(`${root}/packages/runtime/src/index.ts`).href
  )) as typeof import("@troupe/runtime")
  const { InProcess, Transport, WebSocket } = (await import(
    pathToFileURL(`${root}/packages/transport/src/index.ts`).href
  )) as typeof import("@troupe/transport")
  const ws = process.env.ASK_CPU_WIRE === "ws"
  const Consumer = Protocol.make("Consumer", {
    Tick: { n: Schema.Number },
    Echo: Protocol.request({ n: Schema.Number }, { success: Schema.Number })
  })
  const node = (network: ReturnType<typeof InProcess.makeNetwork>, name: string) =>
    Effect.gen(function* () {
      const transport = ws
        ? yield* WebSocket.make({
            node: name,
            secret: "the probe's shared secret",
            ...(name === "receiver" ? { listen: { port: 0, host: "127.0.0.1" } } : {})
          })
        : yield* InProcess.make(network, { node: name })
      return yield* ActorSystem.make({ name, askTimeout: "30 seconds" }).pipe(
        Effect.provideService(Transport.Transport, transport)
      )
    })
  const program = Effect.gen(function* () {
    const network = InProcess.makeNetwork()
    const server = yield* node(network, "receiver")
    yield* server.spawn(
      Behavior.make(Consumer, {
        initial: 0,
        receive: {
          Tick: (count) => Effect.succeed(count),
          Echo: (count, { n }) => Effect.succeed({ state: count, reply: n })
        }
      }),
      { name: "consumer" }
    )
    const client = yield* node(network, "sender")
    yield* client.connect(ws ? Option.getOrThrow(server.address) : "receiver")
    const consumer = yield* client.lookup("/user/consumer", Consumer, { node: "receiver" })
    const warmup = process.env.ASK_CPU_COLD === "1" ? 500 : 5000
    for (let n = 1; n <= warmup; n++) yield* consumer.ask(Consumer.Echo({ n }))
    const heap =
      process.env.ASK_CPU_HEAP === undefined
        ? undefined
        : new (yield* Effect.promise(() => import("node:inspector/promises"))).Session()
    if (heap !== undefined) {
      heap.connect()
      yield* Effect.promise(() =>
        heap.post("HeapProfiler.startSampling", {
          samplingInterval: 256,
          includeObjectsCollectedByMajorGC: true,
          includeObjectsCollectedByMinorGC: true
        })
      )
    }
    // ASK_CPU_PROF=file: a CPU profile of the measured rounds only (not the start-up nor the warm-up)
    const prof =
      process.env.ASK_CPU_PROF === undefined
        ? undefined
        : new (yield* Effect.promise(() => import("node:inspector/promises"))).Session()
    if (prof !== undefined) {
      prof.connect()
      yield* Effect.promise(() => prof.post("Profiler.enable"))
      yield* Effect.promise(() => prof.post("Profiler.setSamplingInterval", { interval: 50 }))
      yield* Effect.promise(() => prof.post("Profiler.start"))
    }
    const cpus: Array<number> = []
    for (let round = 0; round < rounds; round++) {
      const cpu = process.cpuUsage()
      for (let n = 1; n <= asks; n++) yield* consumer.ask(Consumer.Echo({ n }))
      const used = process.cpuUsage(cpu)
      cpus.push((used.user + used.system) / asks)
    }
    if (prof !== undefined) {
      const { profile } = (yield* Effect.promise(() => prof.post("Profiler.stop"))) as { profile: unknown }
      ;(yield* Effect.promise(() => import("node:fs"))).writeFileSync(
        process.env.ASK_CPU_PROF!,
        JSON.stringify(profile)
      )
    }
    if (heap !== undefined) {
      const { profile } = (yield* Effect.promise(() => heap.post("HeapProfiler.stopSampling"))) as { profile: unknown }
      ;(yield* Effect.promise(() => import("node:fs"))).writeFileSync(
        process.env.ASK_CPU_HEAP!,
        JSON.stringify(profile)
      )
    }
    process.stdout.write(`${JSON.stringify({ least: Math.min(...cpus), median: median(cpus) })}\n`)
  })
  await Effect.runPromise(
    Effect.scoped(program).pipe(Effect.provide(Logger.layer([Logger.withConsoleError(Logger.formatLogFmt)])))
  )
  process.exit(0)
}
