/**
 * Remote ask latency against the raw ws echo, interleaved rounds (a quicker `pnpm bench remote` for the ask
 * figure alone): `pnpm exec node bench/probes/ask-latency.ts [rounds] [samples]`.
 */

import { loadavg } from "node:os"
import { fileURLToPath } from "node:url"
import { median } from "../support.ts"
import { type Latency, pair, rawWsEchoLatency } from "../transport-baseline.ts"

const CHILD = fileURLToPath(new URL("../remote-child.ts", import.meta.url))
const rounds = Number(process.argv[2] ?? 5)
const samples = Number(process.argv[3] ?? 5000)
const ratios: Array<number> = []
for (let round = 0; round < rounds; round++) {
  const raw = await rawWsEchoLatency({ samples })
  const ask = await pair<Latency>(
    { role: "actor-echo-server" },
    { role: "actor-echo-client", samples },
    "client",
    CHILD
  )
  ratios.push(ask.p50Micros / raw.p50Micros)
  console.log(
    `round ${round}: raw p50 ${raw.p50Micros.toFixed(0)} µs, ask p50 ${ask.p50Micros.toFixed(0)} µs (p99 ${ask.p99Micros.toFixed(0)}), ratio ${(ask.p50Micros / raw.p50Micros).toFixed(2)}, load ${loadavg()[0]!.toFixed(2)}`
  )
}
console.log(`median ratio ${median(ratios).toFixed(2)}`)
