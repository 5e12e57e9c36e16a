/**
 * A runner process for the multi-runner session tests: `sessionRunner.ts <postgres url> <port> <name>`. It hosts
 * the ledger session's roles and coordinators, prints `ready` once it has joined, and stops on SIGTERM.
 */
import { ActorSystem, Cluster, Sharded, ShardedSession } from "@troupe/runtime"
import { Effect, Layer } from "effect"
import { Ledger } from "../durable/ledger.ts"
import { testSharding } from "./runner.ts"
import { Auditors, Banks, Clients } from "./sessionRoles.ts"

const [url, port, name] = process.argv.slice(2)

const runner = Layer.mergeAll(
  Sharded.layer(Clients),
  Sharded.layer(Banks),
  Sharded.layer(Auditors),
  ShardedSession.layer([Ledger])
).pipe(
  Layer.provideMerge(ActorSystem.layer({ name: name ?? "runner" })),
  Layer.provideMerge(
    Cluster.layerPostgres({ url: url!, host: "127.0.0.1", port: Number(port), shards: 30, ...testSharding })
  )
)

const program = Effect.gen(function* () {
  yield* Effect.sync(() => console.log(JSON.stringify({ event: "ready", name, pid: process.pid })))
  yield* Effect.callback<void>((resume) => {
    process.once("SIGTERM", () => resume(Effect.void))
  })
})
await Effect.runPromise(Effect.scoped(Effect.provide(program, runner)) as Effect.Effect<void>)
console.log(JSON.stringify({ event: "stopped", name }))
process.exit(0)
