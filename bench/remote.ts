/**
 * Actors across processes against raw `ws` between the same two processes, measured side by side in
 * interleaved rounds: remote tell throughput and remote ask latency (from the 501st ask, and warm: after 20,000); and
 * tell throughput with 100 actor pairs across the two processes against one pair.
 */
import { fileURLToPath } from "node:url"
import { type Figure, median } from "./support.ts"
import { type Latency, pair, rawWsEchoLatency, rawWsThroughput, type Throughput } from "./transport-baseline.ts"

const CHILD = fileURLToPath(new URL("./remote-child.ts", import.meta.url))
const MESSAGES = 300_000
const SAMPLES = 5000
/** Asks before the measured ones in the warm latency figures: past the point where V8 has compiled the hot path. */
const WARM_ASKS = 20_000

const PAIRS = 100

const actorThroughput = (pairs = 1) =>
  pair<Throughput>(
    { role: "actor-receiver", messages: MESSAGES, pairs },
    { role: "actor-sender", messages: MESSAGES, pairs },
    "server",
    CHILD
  )

const actorAskLatency = (warmup?: number) =>
  pair<Latency>({ role: "actor-echo-server" }, { role: "actor-echo-client", samples: SAMPLES, warmup }, "client", CHILD)

export const figures = async (rounds = 5): Promise<ReadonlyArray<Figure>> => {
  const raw: Array<number> = []
  const actors: Array<number> = []
  const rawEcho: Array<Latency> = []
  const asks: Array<Latency> = []
  const many: Array<number> = []
  const rawEchoWarm: Array<Latency> = []
  const asksWarm: Array<Latency> = []
  for (let round = 0; round < rounds; round++) {
    raw.push((await rawWsThroughput({ messages: MESSAGES })).messagesPerSecond)
    actors.push((await actorThroughput()).messagesPerSecond)
    many.push((await actorThroughput(PAIRS)).messagesPerSecond)
    rawEcho.push(await rawWsEchoLatency({ samples: SAMPLES }))
    asks.push(await actorAskLatency())
    rawEchoWarm.push(await rawWsEchoLatency({ samples: SAMPLES, warmup: WARM_ASKS }))
    asksWarm.push(await actorAskLatency(WARM_ASKS))
  }
  // ratios per round (each pair measured back to back), then their median: the machine's drift cancels out
  const tellRatio = median(actors.map((a, i) => a / raw[i]!))
  const askRatio = median(asks.map((a, i) => a.p50Micros / rawEcho[i]!.p50Micros))
  const warmAskRatio = median(asksWarm.map((a, i) => a.p50Micros / rawEchoWarm[i]!.p50Micros))
  const pairsRatio = median(many.map((m, i) => m / actors[i]!))
  return [
    {
      name: "remote_tell_per_s",
      value: median(actors),
      unit: "msg/s",
      detail: "one actor tells an actor in another process"
    },
    { name: "raw_ws_per_s", value: median(raw), unit: "msg/s", detail: "the same bytes over raw ws" },
    { name: "remote_tell_vs_ws", value: tellRatio, goal: { atLeast: 0.8 } },
    {
      name: "remote_pairs_100_per_s",
      value: median(many),
      unit: "msg/s",
      detail: `${PAIRS} actor pairs, the same messages split evenly`
    },
    { name: "remote_pairs_100_vs_1", value: pairsRatio, goal: { atLeast: 0.9 } },
    { name: "remote_ask_p50_us", value: median(asks.map((l) => l.p50Micros)), unit: "µs" },
    { name: "remote_ask_p99_us", value: median(asks.map((l) => l.p99Micros)), unit: "µs" },
    { name: "raw_ws_echo_p50_us", value: median(rawEcho.map((l) => l.p50Micros)), unit: "µs" },
    { name: "remote_ask_p50_vs_ws", value: askRatio, goal: { atMost: 1.3 } },
    { name: "remote_ask_warm_p50_us", value: median(asksWarm.map((l) => l.p50Micros)), unit: "µs" },
    { name: "raw_ws_echo_warm_p50_us", value: median(rawEchoWarm.map((l) => l.p50Micros)), unit: "µs" },
    { name: "remote_ask_warm_p50_vs_ws", value: warmAskRatio }
  ]
}
