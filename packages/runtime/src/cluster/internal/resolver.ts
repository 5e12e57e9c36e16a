/**
 * Refs to sharded actors inside messages: a sharded ref travels as its address (node `"cluster"`, path
 * `/cluster/<type>/<id>`), and any runner that hosts the type (or knows it, `Sharded.layerClient`) decodes it back into
 * a ref routed by its own engine. So a session's messages (a Join carries every role's ref and the coordinator's) cross
 * runners as they cross nodes. Each runner knows the types it hosts, not the process: two clusters in one process never
 * reach each other's actors.
 */
import { Effect, type Scope } from "effect"
import type { Sharding } from "effect/cluster"
import * as ClusterRefs from "../../internal/clusterRefs.ts"
import type { SystemImpl } from "../../internal/system.ts"

/** The path of the sharded actor `id` of type `type`: `/cluster/<type>/<id>`. */
export const pathOf = (type: string, id: string): string => `/cluster/${type}/${id}`

const tables = new WeakMap<Sharding.Sharding["Service"], ClusterRefs.Table>()

/**
 * The sharded types the runner `sharding` hosts (its engine's decodes find it in their context as `ClusterRefs`).
 *
 * @example
 * tableOf(sharding).resolve({ path: "/cluster/Ticket/t-1" }, Ticket)
 */
export const tableOf = (sharding: Sharding.Sharding["Service"]): ClusterRefs.Table => {
  let table = tables.get(sharding)
  if (table === undefined) tables.set(sharding, (table = new ClusterRefs.Table()))
  return table
}

/**
 * Lets refs to the actors of type `name` (made by `make`, through `sharding`) decode on the runner (or cluster client)
 * `sharding` and on the actor system `system` over it, if any, while the scope is open.
 */
export const register = (
  name: string,
  make: ClusterRefs.MakeRef,
  sharding: Sharding.Sharding["Service"],
  system: SystemImpl | undefined
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => [
      tableOf(sharding).add(name, make),
      ...(system === undefined ? [] : [ClusterRefs.ofSystem(system).add(name, make)])
    ]),
    (removes) =>
      Effect.sync(() => {
        for (const remove of removes) remove()
      })
  )
