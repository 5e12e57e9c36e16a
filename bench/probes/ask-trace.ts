/**
 * Where a remote ask's time goes, against the raw ws echo, in two processes each (interleaved rounds): the round
 * trip's median and each side's CPU per ask, its main thread's apart from V8's helper threads (from /proc; on a
 * loaded machine the main thread's CPU is the figure that moves with the code, the wall time mostly with the load).
 * `ROOTS` (comma-separated checkouts, default this one) runs the actor side of each checkout in turn, for A/B:
 *
 *   ROOTS=/work/wt/x,/work/main ROUNDS=5 SAMPLES=5000 pnpm exec node bench/probes/ask-trace.ts
 *
 * With stamps (`globalThis.__tr?.(id)` put at the steps of an ask by a temporary patch: `git apply
 * bench/probes/ask-trace-stamps.patch`; never commit it) each process writes its stamps to
 * `/tmp/ask-trace-<role>.json` (`TRACE=1`), and the last round's steps are printed (consecutive stamps, p50/p25/p10),
 * then the round trip cut in four across both processes (the stamps are CLOCK_MONOTONIC, shared by the processes):
 * client write -> server socket data callback (the wire: the write's system call, the peer's wake-up and read),
 * server data -> server write, server write -> client data, client data -> client write.
 * Stamp ids: 0 ask called, 5 `Asks.start`, 13 the ask's callback registered, 8 `outbound.offer`, 9/10 around
 * `Wire.send` (connection.ts), 16/17 around net.Socket's `_writev`/`_write` (the system call), 19 the socket's data
 * callback (prepended), 24 ws's message event, 1 `Engine.onMessage`, 2 frame decoded, 3 `Dispatcher.dispatch`,
 * 4 before `cell.deliver`, 6 the handler entered, 7 `RemoteReply.complete`, 11 `Asks.replied`, 12/21 around the
 * caller's resumption, 20 the send returned in the ask's callback, 22 `Connection.message` returned, 23 the write's
 * callback (`onWritten`), 14 the caller resumed. The raw echo stamps 19, 1, 2, 9, 10, 16, 17 (and 0, 14) alike.
 *
 * `LOG=/tmp/x` writes each child's stdout to `/tmp/x-<role>-<checkout>.log` (with `FLAGS="--trace-opt --trace-deopt"`
 * and `MARK=1`: V8's compiles and deoptimisations placed among the asks).
 *
 * `WINDOWS=1` prints the client's p50 and both sides' main-thread CPU per ask of each 1,000 asks in order (the JIT
 * warms up for ~10,000 asks: the figures keep falling well after the bench's 500 warm-up asks); `MARK=1` writes
 * `MARK <n>` to stdout every 1,000 asks (to place `--trace-opt`/`--trace-deopt` output, given in `FLAGS`).
 */
import { spawn } from "node:child_process"
import { createWriteStream, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { loadavg } from "node:os"
import * as Readline from "node:readline"
import { fileURLToPath, pathToFileURL } from "node:url"

const SELF = fileURLToPath(import.meta.url)
const HERE = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "")
const WARMUP = 500

interface Role {
  readonly role: "raw-server" | "raw-client" | "actor-server" | "actor-client"
  readonly samples: number
  readonly root: string
  readonly url?: string
}
interface Figures {
  readonly main: number
  readonly other: number
  readonly p50?: number
}

/** CPU µs of this process's main thread and of its other threads, from /proc (10 ms ticks: read over many asks). */
const threadCpu = (): [number, number] => {
  let main = 0
  let other = 0
  for (const tid of readdirSync("/proc/self/task")) {
    const fields = readFileSync(`/proc/self/task/${tid}/stat`, "utf8").split(") ")[1]!.split(" ")
    const micros = (Number(fields[11]) + Number(fields[12])) * 10_000
    if (Number(tid) === process.pid) main += micros
    else other += micros
  }
  return [main, other]
}

const role = process.argv[2] === undefined ? undefined : (JSON.parse(process.argv[2]) as Role)

/**
 * The stamps of the last run of `name` (TRACE=1), step by step: each pair of consecutive stamps, how often it
 * occurred and its p50/p25/p10 in µs (the low percentiles move with the code under load, the median with the load).
 */
const steps = (name: string) => {
  let stamps: { ids: Array<number>; times: Array<number> }
  try {
    stamps = JSON.parse(readFileSync(`/tmp/ask-trace-${name}.json`, "utf8"))
  } catch {
    return
  }
  const { ids, times } = stamps
  const pairs = new Map<string, Array<number>>()
  for (let i = 1; i < ids.length; i++) {
    const key = `${ids[i - 1]}->${ids[i]}`
    const list = pairs.get(key) ?? []
    list.push((times[i]! - times[i - 1]!) / 1000)
    pairs.set(key, list)
  }
  console.log(`== ${name} (${ids.length} stamps)`)
  for (const [key, list] of [...pairs].filter(([, l]) => l.length > ids.length / 40)) {
    list.sort((a, b) => a - b)
    const at = (f: number) => list[Math.floor(list.length * f)]!.toFixed(2).padStart(7)
    console.log(`${key.padEnd(8)} ${String(list.length).padStart(6)} p50 ${at(0.5)} p25 ${at(0.25)} p10 ${at(0.1)}`)
  }
}

/**
 * The last run of `kind`'s round trip across both processes, from their stamps: each client write (16) to the
 * server's next data callback (19), to its next write, to the client's next data callback, to its next write.
 */
const acrossProcesses = (kind: string) => {
  let client: { ids: Array<number>; times: Array<number> }
  let server: { ids: Array<number>; times: Array<number> }
  try {
    client = JSON.parse(readFileSync(`/tmp/ask-trace-${kind}-client.json`, "utf8"))
    server = JSON.parse(readFileSync(`/tmp/ask-trace-${kind}-server.json`, "utf8"))
  } catch {
    return
  }
  const of = (s: { ids: Array<number>; times: Array<number> }, id: number) => s.times.filter((_, i) => s.ids[i] === id)
  const [clientWrites, clientData, serverWrites, serverData] = [
    of(client, 16),
    of(client, 19),
    of(server, 16),
    of(server, 19)
  ]
  /** The first time in `sorted` at or after `t`. */
  const next = (sorted: Array<number>, t: number) => {
    let lo = 0
    let hi = sorted.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (sorted[mid]! < t) lo = mid + 1
      else hi = mid
    }
    return sorted[lo]
  }
  const legs: Array<Array<number>> = [[], [], [], []]
  for (const start of clientWrites.slice(100, -100)) {
    const a = next(serverData, start)
    const b = a === undefined ? undefined : next(serverWrites, a)
    const c = b === undefined ? undefined : next(clientData, b)
    const d = c === undefined ? undefined : next(clientWrites, c)
    if (d === undefined) break
    legs[0]!.push(a! - start)
    legs[1]!.push(b! - a!)
    legs[2]!.push(c! - b!)
    legs[3]!.push(d - c!)
  }
  console.log(`== ${kind} across both processes (µs, p10/p25/p50)`)
  const names = [
    "client write -> server data",
    "server data -> server write",
    "server write -> client data",
    "client data -> client write"
  ]
  legs.forEach((list, i) => {
    list.sort((x, y) => x - y)
    const at = (f: number) => (list[Math.floor(list.length * f)]! / 1000).toFixed(2).padStart(7)
    console.log(`${names[i]!.padEnd(30)} ${at(0.1)} ${at(0.25)} ${at(0.5)}`)
  })
}

if (role === undefined) {
  const samples = Number(process.env.SAMPLES ?? 5000)
  const rounds = Number(process.env.ROUNDS ?? 3)
  const roots = (process.env.ROOTS ?? HERE).split(",")
  const flags = process.env.FLAGS?.split(" ").filter((f) => f !== "") ?? []
  const run = async (kind: "raw" | "actor", root: string) => {
    const out = `/tmp/ask-trace-${process.pid}`
    const start = (r: Role) => {
      const child = spawn(process.execPath, [...flags, SELF, JSON.stringify(r)], {
        stdio: ["ignore", "pipe", "inherit"],
        env: { ...process.env, OUT: out }
      })
      // each child's stdout (V8's --trace-opt/--trace-deopt output and MARK lines) to a file, read as it comes
      const log = process.env.LOG
      if (log !== undefined) child.stdout.pipe(createWriteStream(`${log}-${r.role}-${root.split("/").pop()}.log`))
      else child.stdout.resume()
      return child
    }
    const server = start({ role: `${kind}-server`, samples, root })
    const url = await new Promise<string>((resolve) =>
      Readline.createInterface({ input: server.stdout! }).on("line", (line) => {
        if (line.startsWith('{"ready"')) resolve(JSON.parse(line).ready)
      })
    )
    const client = start({ role: `${kind}-client`, samples, root, url })
    await new Promise((resolve) => client.on("exit", resolve))
    server.kill("SIGTERM")
    await new Promise((resolve) => server.on("exit", resolve))
    const c = JSON.parse(readFileSync(`${out}-${kind}-client.json`, "utf8")) as Figures
    const s = JSON.parse(readFileSync(`${out}-${kind}-server.json`, "utf8")) as Figures
    return { c, s }
  }
  const line = (name: string, { c, s }: { c: Figures; s: Figures }) =>
    `${name.padEnd(24)} p50 ${c.p50!.toFixed(0).padStart(4)} µs | CPU/ask main: client ${c.main.toFixed(1).padStart(5)} server ${s.main.toFixed(1).padStart(5)} (other threads ${c.other.toFixed(1)} / ${s.other.toFixed(1)})`
  for (let round = 0; round < rounds; round++) {
    console.log(line("raw", await run("raw", HERE)))
    for (const root of roots) console.log(line(`actor ${root.split("/").pop()}`, await run("actor", root)))
    console.log(`-- round ${round}, load ${loadavg()[0]!.toFixed(1)}`)
  }
  if (process.env.TRACE !== undefined) {
    for (const name of ["raw-server", "raw-client", "actor-server", "actor-client"]) steps(name)
    for (const kind of ["raw", "actor"]) acrossProcesses(kind)
  }
} else {
  const N = 4_000_000
  const ids = new Uint8Array(N)
  const times = new Float64Array(N)
  let pos = 0
  const hr = process.hrtime.bigint
  const trace = process.env.TRACE !== undefined
  if (trace)
    (globalThis as { __tr?: (id: number) => void }).__tr = (id: number) => {
      if (pos < N) {
        ids[pos] = id
        times[pos++] = Number(hr())
      }
    }
  const tr = (id: number) => (globalThis as { __tr?: (id: number) => void }).__tr?.(id)
  if (trace) {
    // each socket write, stamped around (its system call, and the peer's wake-up in it)
    const proto = (await import("node:net")).Socket.prototype as unknown as Record<
      string,
      (this: unknown, ...args: Array<unknown>) => unknown
    >
    for (const method of ["_writev", "_write"]) {
      const write = proto[method]!
      proto[method] = function (this: unknown, ...args: Array<unknown>) {
        tr(16)
        const r = write.apply(this, args)
        tr(17)
        return r
      }
    }
  }
  const out = process.env.OUT ?? "/tmp/ask-trace"
  const dump = () => {
    if (trace)
      writeFileSync(
        `/tmp/ask-trace-${role.role}.json`,
        JSON.stringify({ ids: Array.from(ids.subarray(0, pos)), times: Array.from(times.subarray(0, pos)) })
      )
  }
  let cpuMark: [number, number] = [0, 0]
  const figures = (extra: object = {}) => {
    const [main, other] = threadCpu()
    writeFileSync(
      `${out}-${role.role}.json`,
      JSON.stringify({ main: (main - cpuMark[0]) / role.samples, other: (other - cpuMark[1]) / role.samples, ...extra })
    )
  }
  let served = 0
  const mark = process.env.MARK !== undefined
  // main-thread CPU µs per ask of each 1,000 in order (WINDOWS=1): how it moves while the JIT warms up
  const cpuWindows: Array<string> = []
  let windowCpu = 0
  const cpuWindow = (n: number) => {
    if (n % 1000 !== 0) return
    const { user, system } = process.threadCpuUsage()
    if (windowCpu > 0) cpuWindows.push(((user + system - windowCpu) / 1000).toFixed(0))
    windowCpu = user + system
  }
  const printWindows = () => {
    if (process.env.WINDOWS !== undefined)
      process.stderr.write(`${role.role} CPU µs/ask per 1000: ${cpuWindows.join(" ")}\n`)
  }
  const countServed = () => {
    served++
    cpuWindow(served)
    if (mark && served % 1000 === 0) process.stdout.write(`MARK ${served}\n`)
    if (served === WARMUP + 1) cpuMark = threadCpu()
    else if (served === WARMUP + role.samples) figures()
  }
  process.on("SIGTERM", () => {
    printWindows()
    dump()
    process.exit(0)
  })
  const print = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`)
  const from = createRequire(`${role.root}/packages/transport/package.json`)
  const runtime = await import(pathToFileURL(`${role.root}/packages/runtime/src/index.ts`).href)
  const transport = await import(pathToFileURL(`${role.root}/packages/transport/src/index.ts`).href)
  const { Effect, Logger, Option, Schema } = (await import(
    pathToFileURL(from.resolve("effect")).href
  )) as typeof import("effect")
  const ws = (await import(pathToFileURL(from.resolve("ws")).href)) as { default: typeof import("ws") }
  const { WebSocket: RawSocket, WebSocketServer } = ws.default
  const { ActorSystem, Behavior, Protocol } = runtime as typeof import("@troupe/runtime")
  const { WebSocket, Transport, Frame, Envelope, ActorAddress, NodeId } =
    transport as typeof import("@troupe/transport")
  const Consumer = Protocol.make("Consumer", {
    Tick: { n: Schema.Number },
    Echo: Protocol.request({ n: Schema.Number }, { success: Schema.Number })
  })
  const envelope = (n: number, kind: "ask" | "reply") =>
    Envelope.make({
      kind,
      from: ActorAddress.make(NodeId.make("sender"), "/user/producer"),
      to: ActorAddress.make(NodeId.make("receiver"), "/user/consumer"),
      correlationId: "c",
      payload: { _tag: "Tick", n }
    })
  const system = (node: string, listen: boolean) =>
    Effect.gen(function* () {
      const wire = yield* WebSocket.make({
        node,
        secret: "the benchmark's shared secret",
        maxFrameBytes: 4 * 1024 * 1024,
        ...(listen ? { listen: { port: 0, host: "127.0.0.1" } } : {})
      })
      const actors = yield* ActorSystem.make({ name: node, askTimeout: "30 seconds" }).pipe(
        Effect.provideService(Transport.Transport, wire)
      )
      return { wire, actors }
    })
  const run = (effect: import("effect").Effect.Effect<unknown, unknown, import("effect").Scope.Scope>) =>
    Effect.runPromise(
      Effect.scoped(effect).pipe(Effect.provide(Logger.layer([Logger.withConsoleError(Logger.formatLogFmt)])))
    )
  const samples: Array<number> = []
  const median = () => {
    // the p50 of each 1,000 asks in order (how it moves while the JIT warms up), then of all
    const windows: Array<number> = []
    for (let i = 0; i + 1000 <= samples.length; i += 1000) {
      const window = samples.slice(i, i + 1000).sort((a, b) => a - b)
      windows.push(Math.round(window[500]! * 1000))
    }
    if (process.env.WINDOWS !== undefined)
      process.stderr.write(`${role.role} p50 per 1000 asks: ${windows.join(" ")}\n`)
    samples.sort((a, b) => a - b)
    return samples[samples.length >> 1]! * 1000
  }
  switch (role.role) {
    case "actor-server":
      await run(
        Effect.gen(function* () {
          const { wire, actors } = yield* system("receiver", true)
          yield* actors.spawn(
            Behavior.make(Consumer, {
              initial: 0,
              receive: {
                Tick: (count) => Effect.succeed(count),
                Echo: (count, { n }) => {
                  tr(6)
                  countServed()
                  return Effect.succeed({ state: count, reply: n })
                }
              }
            }),
            { name: "consumer" }
          )
          print({ ready: Option.getOrThrow(wire.address) })
          return yield* Effect.never
        })
      )
      break
    case "actor-client":
      await run(
        Effect.gen(function* () {
          const { actors } = yield* system("sender", false)
          yield* actors.connect(role.url!)
          const consumer = yield* actors.lookup("/user/consumer", Consumer, { node: "receiver" })
          for (let n = 1; n <= WARMUP + role.samples; n++) {
            if (n === WARMUP + 1) {
              pos = 0
              cpuMark = threadCpu()
            }
            if (mark && n % 1000 === 0) process.stdout.write(`MARK ${n}\n`)
            cpuWindow(n)
            const start = performance.now()
            tr(0)
            yield* consumer.ask(Consumer.Echo({ n }))
            tr(14)
            if (n > WARMUP) samples.push(performance.now() - start)
          }
          figures({ p50: median() })
          printWindows()
          dump()
        })
      )
      process.exit(0)
      break
    case "raw-server": {
      const server = new WebSocketServer({ port: 0, host: "127.0.0.1", perMessageDeflate: false })
      server.on("connection", (socket) => {
        ;(socket as unknown as { _socket: import("node:net").Socket })._socket.prependListener("data", () => tr(19))
        socket.on("message", (data: Buffer) => {
          tr(1)
          countServed()
          const frame = JSON.parse(data.toString("utf8")) as { readonly first: number }
          tr(2)
          const reply = Frame.encodeData(frame.first, frame.first, [JSON.stringify(envelope(frame.first, "reply"))])
          tr(9)
          socket.send(reply)
          tr(10)
        })
      })
      server.on("listening", () => {
        const address = server.address()
        print({ ready: `ws://127.0.0.1:${typeof address === "object" && address !== null ? address.port : address}` })
      })
      break
    }
    case "raw-client": {
      const socket = await new Promise<InstanceType<typeof RawSocket>>((resolve) => {
        const s = new RawSocket(role.url!, { perMessageDeflate: false })
        s.on("open", () => resolve(s))
      })
      ;(socket as unknown as { _socket: import("node:net").Socket })._socket.prependListener("data", () => tr(19))
      let resolveReply: () => void = () => {}
      socket.on("message", (data: Buffer) => {
        tr(1)
        JSON.parse(data.toString("utf8"))
        tr(2)
        resolveReply()
      })
      for (let n = 1; n <= WARMUP + role.samples; n++) {
        if (n === WARMUP + 1) {
          pos = 0
          cpuMark = threadCpu()
        }
        cpuWindow(n)
        const start = performance.now()
        tr(0)
        const reply = new Promise<void>((resolve) => {
          resolveReply = resolve
        })
        const frame = Frame.encodeData(n - 1, n, [JSON.stringify(envelope(n, "ask"))])
        tr(9)
        socket.send(frame)
        tr(10)
        await reply
        tr(14)
        if (n > WARMUP) samples.push(performance.now() - start)
      }
      figures({ p50: median() })
      printWindows()
      dump()
      socket.terminate()
      process.exit(0)
    }
  }
}
