/**
 * One side of an actor benchmark across processes (see `remote.ts`), run as its own process:
 *
 *   node bench/remote-child.ts '{"role":"actor-receiver","messages":100000}'
 *
 * With `pairs`, that many consumers (`/user/consumer-<i>`) receive from as many producers, the messages split
 * evenly; the receiver's clock runs from the first message of any pair to the last of all.
 *
 * Each side is an actor system on a WebSocket transport. Servers print `{"ready": url}`; whoever measures
 * prints `{"result": ...}`. Logs go to stderr.
 */
import { readdirSync, readFileSync } from "node:fs"
import { ActorSystem, Behavior, Protocol } from "@troupe/runtime"
import { Transport, WebSocket } from "@troupe/transport"
import { Deferred, Effect, Logger, Option, Schema } from "effect"

interface Role {
  readonly role: "actor-receiver" | "actor-sender" | "actor-echo-server" | "actor-echo-client"
  readonly url?: string
  readonly messages?: number
  readonly samples?: number
  /** Actor pairs (one consumer and one producer each) sharing the messages; 1 by default. */
  readonly pairs?: number
  /**
   * Throughput roles: messages sent and received before the measured ones (split over the pairs as they are), so
   * that the clock starts in a process whose code is compiled; 0 by default (the bench measures from a cold start).
   * Used by bench/probes/pairs-warmup.ts. The echo client: asks before the measured ones, 500 by default.
   */
  readonly warmup?: number
}

const role = JSON.parse(process.argv[2] ?? "{}") as Role
const print = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`)
/**
 * When profiling (`--cpu-prof` in TROUPE_BENCH_CHILD_FLAGS), exit once the work is done so that the profile is
 * written; with other flags (V8 traces, collector options) run until told, as without.
 */
const finished =
  process.env.TROUPE_BENCH_CHILD_FLAGS?.includes("--cpu-prof") === true ? Effect.sleep("1 second") : Effect.never
/** With TROUPE_BENCH_CPU (bench/probes/remote-cpu.ts): the CPU time since `markCpu`, printed on SIGUSR2. */
let cpuMark = process.cpuUsage()
/**
 * CPU ms per thread kind (Linux: /proc/self/task): the main thread, and the rest (V8's background compilers and
 * garbage collector helpers, libuv's pool), so that the JIT's and the collector's share off the main thread shows.
 */
const threadCpu = (): { main: number; background: number } | undefined => {
  try {
    const tick = 10 // ms per clock tick (USER_HZ 100)
    let main = 0
    let background = 0
    for (const task of readdirSync("/proc/self/task")) {
      const stat = readFileSync(`/proc/self/task/${task}/stat`, "utf8")
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      const ms = (Number(fields[11]) + Number(fields[12])) * tick
      if (Number(task) === process.pid) main += ms
      else background += ms
    }
    return { main, background }
  } catch {
    return undefined
  }
}
let threadMark = threadCpu()
/** Minor page faults since `markCpu` (fresh memory the kernel maps in: a frame copied into a new buffer, say). */
let faultMark = process.resourceUsage().minorPageFault
let eluMark = performance.eventLoopUtilization()
let stats: (() => unknown) | undefined
/** The receiver's own counters of the measured window (printed as `probe` with TROUPE_BENCH_CPU). */
let probe: (() => unknown) | undefined
/** Garbage collections since `markCpu` (with TROUPE_BENCH_CPU): count and milliseconds, minor and major. */
const gcs = { minor: 0, minorMs: 0, major: 0, majorMs: 0 }
let gcFrom = Number.POSITIVE_INFINITY
/** With V8 traces asked for (`--trace-opt`, `--trace-deopt`...): `MARK window` on stdout where the CPU is marked. */
const traced = process.env.TROUPE_BENCH_CHILD_FLAGS?.includes("--trace") === true
/** Whether the CPU was marked after a warm-up (the sender marks it once its producers sent their warm-up shares). */
let warmMarked = false
const markCpu = () => {
  warmMarked = role.warmup !== undefined && role.warmup > 0
  if (traced) process.stdout.write("MARK window\n")
  cpuMark = process.cpuUsage()
  faultMark = process.resourceUsage().minorPageFault
  threadMark = threadCpu()
  eluMark = performance.eventLoopUtilization()
  gcFrom = performance.now()
}
if (process.env.TROUPE_BENCH_CPU !== undefined) {
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.startTime < gcFrom) continue
      const kind = (entry as { readonly detail?: { readonly kind?: number } }).detail?.kind
      // node's constants: 1 minor (scavenge), 2 major (mark-compact), 4 incremental marking, 8 weak callbacks
      if (kind === 1) {
        gcs.minor++
        gcs.minorMs += entry.duration
      } else {
        gcs.major++
        gcs.majorMs += entry.duration
      }
    }
  }).observe({ entryTypes: ["gc"] })
  process.on("SIGUSR2", () => {
    if (traced) process.stdout.write("MARK end\n")
    print({
      cpu: process.cpuUsage(cpuMark),
      warmMarked,
      busy: performance.eventLoopUtilization(eluMark).utilization,
      gc: gcs,
      faults: process.resourceUsage().minorPageFault - faultMark,
      threads: ((now) =>
        now === undefined || threadMark === undefined
          ? undefined
          : { main: now.main - threadMark.main, background: now.background - threadMark.background })(threadCpu()),
      stats: stats?.(),
      probe: probe?.()
    })
    process.exit(0)
  })
}

/** The messages: the same `{ _tag: "Tick", n }` payload the raw baseline moves. */
const Consumer = Protocol.make("Consumer", {
  Tick: { n: Schema.Number },
  Echo: Protocol.request({ n: Schema.Number }, { success: Schema.Number })
})
const Producer = Protocol.make("Producer", { Go: { messages: Schema.Number } })

const system = (node: string, listen: boolean) =>
  Effect.gen(function* () {
    const transport = yield* WebSocket.make({
      node,
      secret: "the benchmark's shared secret",
      maxFrameBytes: 4 * 1024 * 1024,
      ...(listen ? { listen: { port: 0, host: "127.0.0.1" } } : {})
    })
    const actors = yield* ActorSystem.make({ name: node, askTimeout: "30 seconds" }).pipe(
      Effect.provideService(Transport.Transport, transport)
    )
    const { links: _, ...counters } = Effect.runSync(transport.stats)
    const base = counters as Record<string, number>
    stats = () => {
      const { links: _, ...now } = Effect.runSync(transport.stats)
      return Object.fromEntries(Object.entries(now).map(([k, v]) => [k, (v as number) - base[k]!]))
    }
    return { transport, actors }
  })

const percentiles = (samples: Array<number>) => {
  samples.sort((a, b) => a - b)
  const at = (p: number) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))]!
  return { samples: samples.length, p50Micros: at(0.5) * 1000, p99Micros: at(0.99) * 1000 }
}

const program = Effect.gen(function* () {
  switch (role.role) {
    case "actor-receiver": {
      const { transport, actors } = yield* system("receiver", true)
      const done = yield* Deferred.make<number>()
      const warmup = role.warmup ?? 0
      const total = warmup + role.messages!
      const pairs = role.pairs ?? 1
      let start = 0
      let received = 0
      /** Whether to count the window per consumer (for probes only: the bench's receiver does no more per message). */
      const counting = process.env.TROUPE_BENCH_CPU !== undefined
      /** Per consumer, messages in the measured window; and how often the recipient changed in it (for `probe`). */
      const inWindow = new Array<number>(pairs).fill(0)
      let switches = 0
      let lastConsumer = -1
      probe = () => ({
        switches,
        active: inWindow.filter((n) => n > 0).length,
        most: Math.max(...inWindow),
        least: Math.min(...inWindow)
      })
      const consumer = (i: number) =>
        Behavior.make(Consumer, {
          initial: 0,
          receive: {
            // counts; the clock is read at the first and the last message only
            Tick: (count) => {
              received++
              if (counting && received > warmup) {
                inWindow[i]!++
                if (i !== lastConsumer) {
                  switches++
                  lastConsumer = i
                }
              }
              if (received === warmup + 1) {
                start = performance.now()
                markCpu()
              } else if (received === total) Deferred.doneUnsafe(done, Effect.succeed(performance.now() - start))
              return Effect.succeed(count + 1)
            },
            Echo: (count, { n }) => Effect.succeed({ state: count, reply: n })
          }
        })
      for (let i = 0; i < pairs; i++)
        yield* actors.spawn(consumer(i), { name: pairs === 1 ? "consumer" : `consumer-${i}` })
      print({ ready: Option.getOrThrow(transport.address) })
      const millis = yield* Deferred.await(done)
      // the first message started the clock: count the others
      print({ result: { messages: total - warmup, messagesPerSecond: ((total - warmup - 1) / millis) * 1000 } })
      return yield* finished
    }
    case "actor-sender": {
      const { actors } = yield* system("sender", false)
      yield* actors.connect(role.url!)
      const pairs = role.pairs ?? 1
      /** Messages sent before the measured ones (0: none; the CPU is marked before the first send). */
      const warmup = role.warmup ?? 0
      let sent = 0
      const producers = []
      for (let i = 0; i < pairs; i++) {
        const path = pairs === 1 ? "/user/consumer" : `/user/consumer-${i}`
        const consumer = yield* actors.lookup(path, Consumer, { node: "receiver" })
        const producer = yield* actors.spawn(
          Behavior.make(Producer, {
            initial: null,
            receive: {
              Go: (state, { messages }) =>
                Effect.gen(function* () {
                  for (let n = 1; n <= messages; n++) {
                    yield* consumer.tell(Consumer.Tick({ n }))
                    // with a warm-up, the CPU is marked once the producers sent that many between them
                    if (warmup > 0 && ++sent === warmup) markCpu()
                  }
                  return state
                })
            }
          }),
          { name: `producer-${i}` }
        )
        producers.push(producer)
      }
      const messages = warmup + role.messages!
      const share = Math.floor(messages / pairs)
      if (warmup === 0) markCpu()
      for (let i = 0; i < pairs; i++) {
        yield* producers[i]!.tell(Producer.Go({ messages: i === 0 ? messages - share * (pairs - 1) : share }))
      }
      return yield* Effect.andThen(Effect.sleep("3 seconds"), finished)
    }
    case "actor-echo-server": {
      const { transport, actors } = yield* system("receiver", true)
      yield* actors.spawn(
        Behavior.make(Consumer, {
          initial: 0,
          receive: {
            Tick: (count) => Effect.succeed(count),
            Echo: (count, { n }) => Effect.succeed({ state: count, reply: n })
          }
        }),
        { name: "consumer" }
      )
      print({ ready: Option.getOrThrow(transport.address) })
      return yield* Effect.never
    }
    case "actor-echo-client": {
      const { actors } = yield* system("sender", false)
      yield* actors.connect(role.url!)
      const consumer = yield* actors.lookup("/user/consumer", Consumer, { node: "receiver" })
      const samples: Array<number> = []
      const warmup = role.warmup ?? 500
      for (let n = 1; n <= warmup + role.samples!; n++) {
        const start = performance.now()
        yield* consumer.ask(Consumer.Echo({ n }))
        if (n > warmup) samples.push(performance.now() - start)
      }
      print({ result: percentiles(samples) })
      return
    }
  }
})

Effect.runPromise(
  Effect.scoped(program).pipe(Effect.provide(Logger.layer([Logger.withConsoleError(Logger.formatLogFmt)])))
).then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${String(error)}\n`)
    process.exit(1)
  }
)
