/**
 * The sender's CPU per remote tell, alone: an actor tells `messages` ticks (the `remote` bench's producer loop) to a
 * raw peer in the same process that acknowledges each data frame's predecessors without parsing the frame, so
 * nearly all the CPU is the sending node's (tell, encode, link, frame, socket write). Steadier than
 * `remote-cpu.ts` on a loaded machine (no second process to wait for); give it several checkouts to interleave
 * A/B runs. Prints per run the CPU (user + system) per message of each round after two warm-up rounds (the JIT
 * and the heap settle over the first ~400,000 tells), and their mean.
 * `PAIRS=n`: n producers, each to its own recipient (`/user/consumer-<i>`), the messages split evenly (the bench's
 * `remote_pairs_100_vs_1` sender). `PROBE_FLAGS`: node flags for the child (`--cpu-prof`, say).
 * Run: `pnpm exec node bench/probes/remote-send-cpu.ts [messages] [checkout root...]` (`RUNS`, `ROUNDS`, `PAIRS`).
 */
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"

type Runtime = typeof import("../../packages/runtime/src/index.ts")
type TransportPackage = typeof import("../../packages/transport/src/index.ts")
type EffectPackage = typeof import("effect")
type RawPeerModule = typeof import("../../test/support/raw-peer.ts")

const WARMUP = 2
const self = fileURLToPath(import.meta.url)
const here = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "")

const child = async (root: string, messages: number, rounds: number, pairs: number) => {
  const { ActorSystem, Behavior, Protocol } = (await import(`${root}/packages/runtime/src/index.ts`)) as Runtime
  const { Transport, WebSocket } = (await import(`${root}/packages/transport/src/index.ts`)) as TransportPackage
  const RawPeer = (await import(`${root}/test/support/raw-peer.ts`)) as RawPeerModule
  // the checkout's own Effect (its services are keyed by that copy)
  const { Deferred, Effect, Logger, Option, Schema } = (await import(
    `${root}/node_modules/effect/dist/index.js`
  )) as EffectPackage
  const Consumer = Protocol.make("Consumer", { Tick: { n: Schema.Number } })
  const Producer = Protocol.make("Producer", { Go: { messages: Schema.Number } })
  const secret = "the probe's shared secret"
  const program = Effect.gen(function* () {
    const transport = yield* WebSocket.make({
      node: "sender",
      secret,
      maxFrameBytes: 4 * 1024 * 1024,
      listen: { port: 0, host: "127.0.0.1" },
      failureDetector: { _tag: "Timeout", timeout: "10 minutes" } // the raw peer sends no heartbeats
    })
    const actors = yield* ActorSystem.make({ name: "sender" }).pipe(
      Effect.provideService(Transport.Transport, transport)
    )
    const peer = yield* Effect.promise(() => RawPeer.open(Option.getOrThrow(transport.address)))
    yield* Effect.promise(() =>
      RawPeer.join(peer, RawPeer.identity("receiver"), secret, { window: 8192, maxFrameBytes: 4 * 1024 * 1024 })
    )
    // from now on: acknowledge what came before each data frame, read from its head only
    peer.socket.removeAllListeners("message")
    let acked = 0
    /** Acknowledges once this many more came (1: at every data frame; 4096: at half the window, as a node does). */
    const ackEvery = Number(process.env.ACK_EVERY ?? 1)
    peer.socket.on("message", (data: Buffer) => {
      const first = /^\{"type":"data","ack":\d+,"first":(\d+)/.exec(data.toString("latin1", 0, 64))
      if (first === null || Number(first[1]) - 1 - acked < ackEvery) return
      acked = Number(first[1]) - 1
      peer.send({ type: "ack", ack: acked })
    })
    const consumers = Array.from({ length: pairs }, (_, i) =>
      remoteRef(actors, Consumer, pairs === 1 ? "/user/consumer" : `/user/consumer-${i}`)
    )
    for (let round = -WARMUP; round < rounds; round++) {
      const done = yield* Deferred.make<void>()
      let running = pairs
      const producers = []
      for (let i = 0; i < pairs; i++) {
        const consumer = consumers[i]!
        producers.push(
          yield* actors.spawn(
            Behavior.make(Producer, {
              initial: null,
              receive: {
                Go: (state, { messages }) =>
                  Effect.gen(function* () {
                    for (let n = 1; n <= messages; n++) yield* consumer.tell(Consumer.Tick({ n }))
                    if (--running === 0) Deferred.doneUnsafe(done, Effect.void)
                    return state
                  })
              }
            })
          )
        )
      }
      const share = Math.floor(messages / pairs)
      const cpu = process.cpuUsage()
      for (let i = 0; i < pairs; i++)
        yield* producers[i]!.tell(Producer.Go({ messages: i === 0 ? messages - share * (pairs - 1) : share }))
      yield* Deferred.await(done)
      const used = process.cpuUsage(cpu)
      if (round >= 0) console.log(JSON.stringify({ cpu: (used.user + used.system) / messages }))
      for (const producer of producers) yield* actors.stop(producer)
    }
  })
  await Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(Logger.layer([]))))
}

/** A ref to the raw peer's actor at `path` (it answers no lookup): made by the system's remoting. */
const remoteRef = <P>(actors: object, protocol: P, path: string) => {
  const internal = Object.getOwnPropertySymbols(actors)
    .map((key) => (actors as Record<symbol, { remoting?: { refFor: (...args: Array<unknown>) => unknown } }>)[key])
    .find((value) => value?.remoting !== undefined)
  return internal!.remoting!.refFor("receiver", path, protocol) as {
    tell: (message: unknown) => import("effect").Effect.Effect<void, unknown>
  }
}

if (process.argv[2] === "--child") {
  await child(process.argv[3]!, Number(process.argv[4]), Number(process.argv[5]), Number(process.argv[6]))
  process.exit(0)
} else {
  const messages = Number(process.argv[2] ?? 200_000)
  const roots = process.argv.length > 3 ? process.argv.slice(3) : [here]
  const runs = Number(process.env.RUNS ?? 4)
  const rounds = Number(process.env.ROUNDS ?? 4)
  const pairs = Number(process.env.PAIRS ?? 1)
  const perRoot = roots.map(() => [] as Array<number>)
  for (let run = 0; run < runs; run++) {
    for (let r = 0; r < roots.length; r++) {
      const flags = process.env.PROBE_FLAGS?.split(" ").filter((f) => f !== "") ?? []
      const out = spawnSync(
        process.execPath,
        [...flags, self, "--child", roots[r]!, String(messages), String(rounds), String(pairs)],
        { encoding: "utf8" }
      )
      const cpus = out.stdout
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => (JSON.parse(line) as { cpu: number }).cpu)
      const mean = cpus.reduce((a, b) => a + b, 0) / cpus.length
      perRoot[r]!.push(mean)
      console.log(
        `run ${run} ${roots[r]}: sender CPU ${mean.toFixed(3)} µs per tell (rounds ${cpus.map((c) => c.toFixed(2)).join(", ")})`
      )
    }
  }
  for (let r = 0; r < roots.length; r++) {
    const sorted = [...perRoot[r]!].sort((a, b) => a - b)
    console.log(`median ${roots[r]}: ${sorted[Math.floor(sorted.length / 2)]!.toFixed(3)} µs per tell`)
  }
}
