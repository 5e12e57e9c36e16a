/**
 * A runner process for the multi-runner session tests: `sessionRunner.ts <postgres url> <port> <name>`. It hosts
 * the ledger session's roles and coordinators, prints `ready` once it has joined, and stops on SIGTERM.
 */
import { ActorSystem, Cluster, Sharded, ShardedSession } from "@troupe/runtime"
import { Layer } from "effect"
import { Ledger } from "../durable/ledger.ts"
import { serve } from "./processes.ts"
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

await serve(runner, name)
