/**
 * Where an actor lives: a node and a path on that node. The transport reads only the node part,
 * to route; the path is the runtime's business.
 *
 * @example
 * ```ts
 * import { ActorAddress, NodeId } from "@troupe/transport"
 * const address = ActorAddress.make(NodeId.make("node-b"), "/user/counter")
 * ActorAddress.format(address) // "node-b/user/counter"
 * ```
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { NodeId } from "./NodeId.ts"

/**
 * `{ node, path }`: the node id and the actor's path on that node.
 *
 * @since 0.1.0
 */
export const ActorAddress = Schema.Struct({
  node: NodeId,
  path: Schema.String
})

/** @since 0.1.0 */
export type ActorAddress = typeof ActorAddress.Type

/**
 * Builds an address.
 *
 * @example
 * ```ts
 * import { ActorAddress, NodeId } from "@troupe/transport"
 * const addr = ActorAddress.make(NodeId.make("node-a"), "/user/greeter")
 * ```
 * @since 0.1.0
 */
export const make = (node: NodeId, path: string): ActorAddress => ({ node, path })

/**
 * Renders an address as `node/path` for logs.
 *
 * @since 0.1.0
 */
export const format = (address: ActorAddress): string =>
  address.path.startsWith("/") ? `${address.node}${address.path}` : `${address.node}/${address.path}`
