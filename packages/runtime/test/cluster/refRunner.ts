/**
 * A runner process of test/cluster/ShardedRefKill.test.ts: `refRunner.ts <postgres url> <port> <name>`. It hosts the
 * echoes and directories of `refs.ts` on a cluster of two shards, prints `ready` once it has joined, and stops on
 * SIGTERM.
 */
import { ActorSystem, Cluster, Sharded } from "@troupe/runtime"
import { Layer } from "effect"
import { serve } from "./processes.ts"
import { Directories, Echoes } from "./refs.ts"
import { testSharding } from "./runner.ts"

const [url, port, name] = process.argv.slice(2)

const runner = Layer.mergeAll(Sharded.layer(Echoes), Sharded.layer(Directories)).pipe(
  Layer.provideMerge(ActorSystem.layer({ name: name ?? "runner" })),
  Layer.provideMerge(
    Cluster.layerPostgres({ url: url!, host: "127.0.0.1", port: Number(port), shards: 2, ...testSharding })
  )
)

if (import.meta.main) await serve(runner, name)
