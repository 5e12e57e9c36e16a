/**
 * A runner process for the multi-runner tests: `runner.ts <postgres url> <port> <name>`. It hosts the ledger
 * type, prints `ready` once it has joined, and stops on SIGTERM (gracefully: its shards go to the others).
 */
import { ActorSystem, Cluster, Sharded } from "@troupe/runtime"
import { Layer, References } from "effect"
import { Ledgers } from "./ledger.ts"
import { serve } from "./processes.ts"

const [url, port, name] = process.argv.slice(2)
process.env.TROUPE_RUNNER_NAME = name

// Every shard-lock operation (acquire, refresh, and the check before a persisted reply is stored) has a deadline of
// min(shardLockRefreshInterval, shardLockExpiration / 3). A runner working through a backlog of thousands of
// stored messages on a loaded 2-core machine lags by seconds: at 5 s its refreshes missed the deadline, it declared
// its lock storage unhealthy, dropped every shard and abandoned the requests in flight (seen at load 17; at 1 s
// already at load 30). 10 s (the engine's default) rides such lags out; a killed runner's shards are then taken
// over 20-30 s after the kill (its heartbeat must be shardLockExpiration old).
export const testSharding = {
  shardLockExpiration: "30 seconds",
  shardLockRefreshInterval: "10 seconds",
  sharding: { entityMessagePollInterval: "500 millis", refreshAssignmentsInterval: "500 millis" }
} as const

const runner = Sharded.layer(Ledgers).pipe(
  Layer.provideMerge(ActorSystem.layer({ name: name ?? "runner" })),
  Layer.provideMerge(
    Cluster.layerPostgres({ url: url!, host: "127.0.0.1", port: Number(port), shards: 30, ...testSharding })
  ),
  // the engine's debug logs (shard assignments, acquisitions, releases), with timestamps, go to the runner's log file
  Layer.provide(Layer.succeed(References.MinimumLogLevel, "Debug"))
)

if (import.meta.main) await serve(runner, name)
