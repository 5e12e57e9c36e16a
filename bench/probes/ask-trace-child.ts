/**
 * One side of bench/probes/ask-trace.ts, in a process of its own: the raw ws echo's server or client, or the actor
 * system's (`Role`, given as JSON in the first argument), timed for `samples` asks after a warm-up; writes its
 * figures (main-thread and other threads' CPU per ask, the client's p50) to `$OUT-<role>.json` and, with `TRACE=1`,
 * its stamps to `/tmp/ask-trace-<role>.json`.
 */

import { readdirSync, readFileSync, writeFileSync, writeSync } from "node:fs"
import { createRequire } from "node:module"
import { pathToFileURL } from "node:url"

const WARMUP = 500

export interface Role {
  readonly role: "raw-server" | "raw-client" | "actor-server" | "actor-client"
  readonly samples: number
  readonly root: string
  readonly url?: string
}
export interface Figures {
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

const parsed = process.argv[2] === undefined ? undefined : (JSON.parse(process.argv[2]) as Role)
if (parsed === undefined) throw new Error("ask-trace-child.ts is run by ask-trace.ts, with a role")
const role: Role = parsed

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
// MARK=1: a mark every 1,000 asks; MARK=<n> (n > 1): every n asks (to place a compile or deopt closer)
const markEvery = Number(process.env.MARK) > 1 ? Number(process.env.MARK) : 1000
// written to fd 1 directly: a write through `process.stdout` (a pipe) would itself warm and deoptimise Node's stream
// functions that the socket's writes use, and so be counted in the window
// and as a function compiled on its first call, named `MARK_<n>` (with `--log-code`, a line in V8's log among the
// compiles: bench/probes/compile-jobs.ts counts them between two marks)
const named = (name: string) => new Function(`return function ${name}() {}`)()()
const markAt = (n: number) => {
  if (!mark || n % markEvery !== 0) return
  writeSync(1, `MARK ${n}\n`)
  named(`MARK_${n}`)
}
// the role, named in V8's log the same way (bench/probes/compile-jobs.ts tells the logs apart by it)
if (mark) named(`ROLE_${role.role.replace("-", "_")}`)
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
  markAt(served)
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
const { WebSocket, Transport, Frame, Envelope, ActorAddress, NodeId } = transport as typeof import("@troupe/transport")
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
  if (process.env.WINDOWS !== undefined) process.stderr.write(`${role.role} p50 per 1000 asks: ${windows.join(" ")}\n`)
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
          markAt(n)
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
      markAt(n)
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
