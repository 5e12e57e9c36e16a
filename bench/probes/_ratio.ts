import { fileURLToPath } from "node:url"
import { pair, rawWsThroughput, type Throughput } from "../transport-baseline.ts"

const CHILD = fileURLToPath(new URL(process.argv[2] ?? "../remote-child.ts", import.meta.url))
const M = 300_000
const actor = (pairs = 1) =>
  pair<Throughput>(
    { role: "actor-receiver", messages: M, pairs },
    { role: "actor-sender", messages: M, pairs },
    "server",
    CHILD
  )
for (let r = 0; r < Number(process.env.ROUNDS ?? 3); r++) {
  const raw = (await rawWsThroughput({ messages: M })).messagesPerSecond
  const one = (await actor()).messagesPerSecond
  const many = (await actor(100)).messagesPerSecond
  console.log(
    `raw ${Math.round(raw)} tell ${Math.round(one)} pairs100 ${Math.round(many)}  tell/raw ${(one / raw).toFixed(2)} pairs/tell ${(many / one).toFixed(2)}`
  )
}
