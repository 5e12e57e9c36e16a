/**
 * `remote_pairs_100_vs_1` measured from a cold start (as `pnpm bench remote` does) and after a warm-up: each round
 * runs the bench's one pair and 100 pairs (bench/remote-child.ts), then both again with `WARMUP` messages sent and
 * received before the clock starts (same processes, same stream: the measured messages follow the warm-up ones
 * without a pause). Prints per round the four throughputs and both ratios, then their medians.
 *
 * Why: CPU per message in the receiving process, read every 30 k messages of a 300 k run, is 6–8 µs over the first
 * 30 k and 0.5–2 µs after (compilation, the startup heap's collection): the bench's 300 k messages (0.6 s) measure
 * a process warming up, and a cold start with 100 actor pairs takes its first-time paths (100 senders' heads learned,
 * refs and handler contexts made, code deoptimized and compiled again on new shapes) while the clock runs.
 *
 *   pnpm exec node bench/probes/pairs-warmup.ts [rounds] [messages] [warmup]
 */
import { fileURLToPath } from "node:url"
import { median } from "../support.ts"
import { pair, type Throughput } from "../transport-baseline.ts"

const CHILD = fileURLToPath(new URL("../remote-child.ts", import.meta.url))
const rounds = Number(process.argv[2] ?? 5)
const messages = Number(process.argv[3] ?? 300_000)
const warmup = Number(process.argv[4] ?? 300_000)

const throughput = async (pairs: number, warm: number): Promise<number> =>
  (
    await pair<Throughput>(
      { role: "actor-receiver", messages, pairs, warmup: warm },
      { role: "actor-sender", messages, pairs, warmup: warm },
      "server",
      CHILD
    )
  ).messagesPerSecond

const cold: Array<number> = []
const warm: Array<number> = []
for (let round = 0; round < rounds; round++) {
  const one = await throughput(1, 0)
  const many = await throughput(100, 0)
  const oneWarm = await throughput(1, warmup)
  const manyWarm = await throughput(100, warmup)
  cold.push(many / one)
  warm.push(manyWarm / oneWarm)
  const k = (x: number) => `${Math.round(x / 1000)} k`
  console.log(
    `round ${round}: cold 1 pair ${k(one)}, 100 pairs ${k(many)}: ${(many / one).toFixed(3)}; ` +
      `after ${warmup} warm-up: ${k(oneWarm)}, ${k(manyWarm)}: ${(manyWarm / oneWarm).toFixed(3)}`
  )
}
console.log(`median remote_pairs_100_vs_1: cold ${median(cold).toFixed(3)}, warm ${median(warm).toFixed(3)}`)
