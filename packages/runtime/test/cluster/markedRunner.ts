/**
 * A runner process of test/cluster/ClusterRefDeadline.test.ts: `markedRunner.ts <postgres url> <port> <name>`. It
 * hosts the marked type (see `marked.ts`), prints `ready` once it has joined, and stops on SIGTERM.
 */
import { ActorSystem, Cluster, Sharded } from "@troupe/runtime"
import { Layer } from "effect"
import { Markeds } from "./marked.ts"
import { serve } from "./processes.ts"
import { testSharding } from "./runner.ts"

const [url, port, name] = process.argv.slice(2)

const runner = Sharded.layer(Markeds).pipe(
  Layer.provideMerge(ActorSystem.layer({ name: name ?? "runner" })),
  Layer.provideMerge(
    Cluster.layerPostgres({ url: url!, host: "127.0.0.1", port: Number(port), shards: 30, ...testSharding })
  )
)

if (import.meta.main) await serve(runner, name)
