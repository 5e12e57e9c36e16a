/**
 * The sharded types a runner can make refs to, by name: how a sharded actor's address (node `"cluster"`, path
 * `/cluster/<type>/<id>`) decodes back into a ref there. One table per runner (and one per actor system, for the
 * decodes that know their system, not their runner), never one per process: two clusters in one process (tests, a
 * multi-tenant service) each decode refs to their own types only, through their own engine.
 */
import { Context } from "effect"
import type { ActorRef } from "../ActorRef.ts"
import type * as Protocol from "../Protocol.ts"
import type { SystemImpl } from "./system.ts"

/** Makes the ref of the actor `id` of one sharded type, through one runner's engine. */
export type MakeRef = (id: string) => ActorRef<Protocol.Any>

/**
 * The sharded types of one runner (or one system), by name; the latest registration of a name wins.
 *
 * @example
 * const table = new Table()
 * const remove = table.add("Ticket", (id) => refOf(Tickets, id))
 * table.resolve({ node: "cluster", path: "/cluster/Ticket/t-1", protocol: "Ticket" }, Ticket) // the ref
 * remove()
 */
export class Table {
  private readonly types = new Map<string, Array<MakeRef>>()

  /** Lets refs to the actors of type `name` decode here, until the function returned is called. */
  add(name: string, make: MakeRef): () => void {
    let makers = this.types.get(name)
    if (makers === undefined) this.types.set(name, (makers = []))
    makers.push(make)
    return () => {
      const i = makers.lastIndexOf(make)
      if (i >= 0) makers.splice(i, 1)
      if (makers.length === 0 && this.types.get(name) === makers) this.types.delete(name)
    }
  }

  /** The ref an address of a sharded actor stands for here, or why there is none. */
  resolve(address: { readonly path: string }, protocol: Protocol.Any): ActorRef<Protocol.Any> | string {
    const match = /^\/cluster\/([^/]+)\/(.*)$/s.exec(address.path)
    if (match === null) return `${address.path} is not the path of a sharded actor (/cluster/<type>/<id>)`
    const make = this.types.get(match[1]!)?.at(-1)
    if (make === undefined) {
      return `the sharded type ${match[1]} is not known here: provide Sharded.layer for it on the runners that host it, or Sharded.layerClient on a process (a cluster client) that only sends to it`
    }
    const ref = make(match[2]!)
    return ref.protocol.name === protocol.name
      ? ref
      : `the sharded actor ${address.path} speaks ${ref.protocol.name}, not ${protocol.name}`
  }
}

/**
 * The table of the runner a decode runs for, in the decoding fiber's context: the cluster engine decodes a message
 * in the context its entity was registered with, and a reply in its sender's (see `Sharded.layer`, `ClusterRef`).
 *
 * @example
 * Schema.decodeUnknownEffect(ActorRef.schema(Ticket))(address).pipe(Effect.provideService(ClusterRefs, table))
 */
export class ClusterRefs extends Context.Service<ClusterRefs, Table>()("@troupe/runtime/ClusterRefs") {}

const systemKey = { name: "@troupe/runtime/ClusterRefs" }

/**
 * The table of the sharded types hosted over an actor system (for the decodes that run under the system's resolver:
 * a durable actor's inbox and state, a peer's message).
 *
 * @example
 * ofSystem(system).resolve(address, protocol)
 */
export const ofSystem = (system: SystemImpl): Table => system.extension(systemKey, () => new Table())
