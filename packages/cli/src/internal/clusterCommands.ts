/** `troupe cluster status`: the runners of a cluster (see `ClusterModule`). */
import { Console, Effect } from "effect"
import { Argument, Command } from "effect/cli"
import { userError } from "./userError.ts"

const clusterStatus = Command.make(
  "status",
  {
    url: Argument.String("database").pipe(
      Argument.withDescription("The cluster's database: postgres://user:password@host:port/db, or a SQLite file")
    )
  },
  ({ url }) =>
    Effect.promise(() => import("../ClusterModule.ts")).pipe(
      Effect.flatMap((ClusterModule) => ClusterModule.status(url)),
      Effect.flatMap(Console.log),
      userError
    )
).pipe(
  Command.withDescription("Show the runners of a cluster: their shards, buckets and active actors per type"),
  Command.withExamples([
    { command: "troupe cluster status postgres://troupe:secret@db:5432/troupe", description: "Three runners, say" }
  ])
)

/** `troupe cluster`: its subcommands. */
export const clusterCommand = Command.make("cluster").pipe(
  Command.withDescription("Sharded actors on Effect Cluster (see docs/cluster.md)"),
  Command.withSubcommands([clusterStatus])
)
