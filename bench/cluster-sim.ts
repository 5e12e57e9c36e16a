/**
 * A paper cluster (docs/cluster.md): 50 runners, 10 million sharded actors of which 1 % are active, each
 * active actor receiving a durable message every 10 seconds. It places real ids (the engine's string hash)
 * into shards and Troupe's buckets, assigns shards to runners (rendezvous hashing, as balanced as the
 * engine's hash ring), then prints per-runner load, what the database must carry, and what one runner's loss
 * costs. The per-message database costs are those counted in docs/cluster.md; the per-actor heap is
 * bench/results.json's `cluster_entity_bytes` when present.
 *
 * Run: `pnpm exec node bench/cluster-sim.ts` (about 30 s); `SHARDS=2048 BUCKETS=8192` for another shape.
 */
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { Hash } from "effect"

const RUNNERS = 50
const ENTITIES = 10_000_000
const ACTIVE_SHARE = 0.01
const MESSAGE_EVERY_S = 10
const SHARDS = Number(process.env.SHARDS ?? 300)
const BUCKETS = Number(process.env.BUCKETS ?? 1024)
const CLUSTER_ENTITY_BYTES = 15_000

const results = join(import.meta.dirname, "results.json")
const measured = existsSync(results)
  ? (JSON.parse(readFileSync(results, "utf8")) as Record<string, number>)
  : ({} as Record<string, number>)
const ACTOR_BYTES = measured.cluster_entity_bytes ?? 1_500

/** Database statements per durable message (docs/cluster.md, "What a message costs the database"). */
const PER_TELL = { writes: 4, reads: 1, transactions: 3 }
/** Per runner and second: shard-lock refresh (every 10 s), runner heartbeat, storage polls (every 10 s). */
const PER_RUNNER_PER_S = { reads: 0.1 + 0.1 * 2, writes: 0.1 + 0.3 }

const shardOf = (id: string) => (Hash.string(id) >>> 0) % SHARDS
/** A well-mixed 32-bit hash of (runner, shard) for rendezvous hashing (murmur3's finaliser). */
const score = (runner: number, shard: number) => {
  let h = Math.imul(runner + 1, 0x9e3779b1) ^ Math.imul(shard + 1, 0x85ebca6b)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
const owner = (shard: number, runners: ReadonlyArray<number>) => {
  let best = runners[0]!
  let bestScore = -1
  for (const r of runners) {
    const s = score(r, shard)
    if (s > bestScore) {
      bestScore = s
      best = r
    }
  }
  return best
}

// place the ids: actors per shard, active actors per shard, active buckets per shard
const actors = new Float64Array(SHARDS)
const activeActors = new Float64Array(SHARDS)
const activeBuckets = new Set<number>()
const bucketShard = new Int32Array(BUCKETS)
for (let b = 0; b < BUCKETS; b++) bucketShard[b] = shardOf(String(b))
const started = performance.now()
for (let i = 0; i < ENTITIES; i++) {
  const id = `customer-${i}`
  const h = Hash.string(id) >>> 0
  const bucket = h % BUCKETS
  const shard = bucketShard[bucket]!
  actors[shard]! += 1
  if ((Hash.string(`${id}#active`) >>> 0) % 10_000 < ACTIVE_SHARE * 10_000) {
    activeActors[shard]! += 1
    activeBuckets.add(bucket)
  }
}
const placedMs = performance.now() - started

const all = Array.from({ length: RUNNERS }, (_, i) => i)
const assign = (runners: ReadonlyArray<number>) => Array.from({ length: SHARDS }, (_, s) => owner(s, runners))
const before = assign(all)

const perRunner = (assignment: ReadonlyArray<number>) => {
  const rows = new Map<number, { shards: number; actors: number; active: number; buckets: number }>()
  for (let s = 0; s < SHARDS; s++) {
    const r = assignment[s]!
    const row = rows.get(r) ?? { shards: 0, actors: 0, active: 0, buckets: 0 }
    row.shards++
    row.actors += actors[s]!
    row.active += activeActors[s]!
    rows.set(r, row)
  }
  for (const b of activeBuckets) rows.get(assignment[bucketShard[b]!]!)!.buckets++
  return [...rows.values()]
}

const stats = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mean = values.reduce((a, b) => a + b, 0) / values.length
  return { min: sorted[0]!, mean, max: sorted[sorted.length - 1]! }
}

const rows = perRunner(before)
const active = rows.reduce((a, r) => a + r.active, 0)
const messagesPerS = active / MESSAGE_EVERY_S
const fmt = (n: number) => Math.round(n).toLocaleString("en-US")
const line = (name: string, s: { min: number; mean: number; max: number }, unit = "") =>
  console.log(`  ${name.padEnd(30)} min ${fmt(s.min)}  mean ${fmt(s.mean)}  max ${fmt(s.max)}${unit}`)

console.log(`Cluster: ${RUNNERS} runners, ${fmt(ENTITIES)} actors (${ACTIVE_SHARE * 100} % active: ${fmt(active)}),`)
console.log(
  `         ${SHARDS} shards, ${BUCKETS} buckets per type, a durable message per active actor every ${MESSAGE_EVERY_S} s`
)
console.log(`         (ids placed in ${fmt(placedMs)} ms)`)
console.log("Per runner:")
line("shards", stats(rows.map((r) => r.shards)))
line("actors (stored)", stats(rows.map((r) => r.actors)))
line("active actors", stats(rows.map((r) => r.active)))
line("active buckets", stats(rows.map((r) => r.buckets)))
const heap = rows.map((r) => r.active * ACTOR_BYTES + r.buckets * CLUSTER_ENTITY_BYTES)
line("heap of active actors", stats(heap.map((b) => b / 1024)), " KiB")
line("heap if one cluster entity each", stats(rows.map((r) => (r.active * CLUSTER_ENTITY_BYTES) / 1024)), " KiB")
line("messages/s", stats(rows.map((r) => r.active / MESSAGE_EVERY_S)))
console.log("Database (whole cluster):")
const writes = messagesPerS * PER_TELL.writes + RUNNERS * PER_RUNNER_PER_S.writes
const reads = messagesPerS * PER_TELL.reads + RUNNERS * PER_RUNNER_PER_S.reads
console.log(`  messages/s                     ${fmt(messagesPerS)}`)
console.log(`  row writes/s                   ${fmt(writes)}  (${PER_TELL.writes} per message + locks/heartbeats)`)
console.log(`  reads/s                        ${fmt(reads)}`)
console.log(`  transactions/s                 ${fmt(messagesPerS * PER_TELL.transactions)}`)
console.log(`  busiest shard's messages/s     ${fmt(Math.max(...activeActors) / MESSAGE_EVERY_S)}`)

// one runner lost: its shards go to the others
const lost = 17
const after = assign(all.filter((r) => r !== lost))
let movedShards = 0
let movedActors = 0
let movedActive = 0
let disturbed = 0
for (let s = 0; s < SHARDS; s++) {
  if (before[s] !== after[s]) {
    movedShards++
    movedActors += actors[s]!
    movedActive += activeActors[s]!
    if (before[s] !== lost) disturbed++
  }
}
const afterRows = perRunner(after)
console.log(`Runner ${lost} killed:`)
console.log(`  shards moved                   ${movedShards} (${disturbed} of them from a runner that stayed)`)
console.log(`  actors whose runner changed    ${fmt(movedActors)} (stored; they activate on their next message)`)
console.log(`  active actors to reactivate    ${fmt(movedActive)} (one state read each)`)
line("active actors per runner after", stats(afterRows.map((r) => r.active)))
const activationsPerS = measured.cluster_activations_per_s ?? 600
console.log(
  `  until all answer again         lock expiry (35 s default, at once with PostgreSQL advisory locks when the session drops) + ${fmt((movedActive / (RUNNERS - 1) / activationsPerS) * 1000)} ms of activations per runner`
)
