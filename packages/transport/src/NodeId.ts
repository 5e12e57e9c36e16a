/**
 * Node identity: the name a node is known by across a cluster, and the incarnation that tells
 * one run of that node from the next.
 *
 * @example
 * ```ts
 * import { NodeId } from "@troupe/transport"
 * const id = NodeId.make("worker-1") // throws a SchemaError for "-bad id"
 * const anonymous = NodeId.random() // "node-3f2a9c0b41d7"
 * const run = NodeId.makeIncarnation() // a new one each time the node starts
 * ```
 *
 * @since 0.1.0
 */
import { randomBytes, randomUUID } from "node:crypto"
import { Schema } from "effect"

const NODE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/

/**
 * A node's name: 1 to 128 characters of letters, digits and `. _ : @ -`, starting with a letter or digit.
 * Node ids are chosen by the user and must be unique among the nodes that are alive at the same time.
 *
 * @example
 * ```ts
 * import { NodeId } from "@troupe/transport"
 * const id = NodeId.make("worker-1")
 * ```
 * @since 0.1.0
 */
export const NodeId = Schema.String.pipe(
  Schema.check(
    Schema.isPattern(NODE_ID_PATTERN, {
      message: "a node id is 1-128 characters of letters, digits and . _ : @ -, starting with a letter or digit"
    })
  ),
  Schema.brand("NodeId")
)

/** @since 0.1.0 */
export type NodeId = typeof NodeId.Type

/**
 * Checks a node id and brands it; throws a `SchemaError` naming the problem when it is not valid.
 *
 * @since 0.1.0
 */
export const make: (id: string) => NodeId = Schema.decodeUnknownSync(NodeId)

/**
 * A fresh random node id (`node-` followed by 12 hex digits), for nodes that do not need a stable name.
 *
 * @since 0.1.0
 */
export const random = (): NodeId => `node-${randomBytes(6).toString("hex")}` as NodeId

/**
 * `true` when the string is a valid node id. Fast: used on the wire's hot path.
 *
 * @since 0.1.0
 */
export const isNodeId = (u: unknown): u is NodeId => {
  if (typeof u !== "string") return false
  if (known.has(u)) return true
  if (!NODE_ID_PATTERN.test(u)) return false
  // the same few ids come in every envelope: remember them (a bounded set, so a peer cannot grow it)
  if (known.size < 1024) known.add(u)
  return true
}

const known = new Set<string>()

/**
 * One run of a node. A transport draws a fresh incarnation every time it starts, so a node that
 * restarts comes back as a new incarnation and its peers know its old state is gone.
 *
 * @since 0.1.0
 */
export const Incarnation = Schema.String.pipe(
  Schema.check(Schema.isPattern(/^[A-Za-z0-9-]{1,64}$/, { message: "an incarnation is 1-64 letters, digits or -" })),
  Schema.brand("Incarnation")
)

/** @since 0.1.0 */
export type Incarnation = typeof Incarnation.Type

/**
 * A fresh incarnation (a random UUID).
 *
 * @since 0.1.0
 */
export const makeIncarnation = (): Incarnation => randomUUID() as Incarnation
