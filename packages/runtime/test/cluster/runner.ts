/**
 * A runner process for the multi-runner tests: `runner.ts <postgres url> <port> <name>`. It hosts the ledger
 * type, prints `ready` once it has joined, and stops on SIGTERM (gracefully: its shards go to the others).
 */
import { ActorSystem, Cluster, Sharded } from "@troupe/runtime"
import { Effect, Layer } from "effect"
import { Ledgers } from "./ledger.ts"

const [url, port, name] = process.argv.slice(2)
process.env.TROUPE_RUNNER_NAME = name

// Lock operations time out after the refresh interval: shorter than ~5 s, a loaded machine's slow lock queries
// make a runner think its lock storage is unhealthy and drop its shards (seen at 1 s, load 30). A killed
// runner's advisory locks go with its database session, so takeover does not wait for the expiration.
export const testSharding = {
  shardLockExpiration: "15 seconds",
  shardLockRefreshInterval: "5 seconds",
  sharding: { entityMessagePollInterval: "500 millis", refreshAssignmentsInterval: "500 millis" }
} as const

const runner = Sharded.layer(Ledgers).pipe(
  Layer.provideMerge(ActorSystem.layer({ name: name ?? "runner" })),
  Layer.provideMerge(
    Cluster.layerPostgres({ url: url!, host: "127.0.0.1", port: Number(port), shards: 30, ...testSharding })
  )
)

if (import.meta.main) {
  const program = Effect.gen(function* () {
    yield* Effect.sync(() => console.log(JSON.stringify({ event: "ready", name, pid: process.pid })))
    yield* Effect.callback<void>((resume) => {
      process.once("SIGTERM", () => resume(Effect.void))
    })
  })
  await Effect.runPromise(Effect.scoped(Effect.provide(program, runner)) as Effect.Effect<void>)
  console.log(JSON.stringify({ event: "stopped", name }))
  process.exit(0)
}
