/**
 * Peers: the other nodes a transport has a live link to, and the events that say when one comes
 * up or goes down.
 *
 * @example
 * ```ts
 * import { Peer, Transport } from "@troupe/transport"
 * import { Effect, Stream } from "effect"
 * const transport = yield* Transport.Transport
 * yield* transport.events.pipe(
 *   Stream.filter(Peer.isPeerDown),
 *   Stream.runForEach((down) => Effect.log(`${down.node} is down (${down.reason}): ${down.message}`)),
 *   Effect.forkScoped
 * )
 * ```
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { Incarnation, NodeId } from "./NodeId.ts"

/**
 * One incarnation of a remote node. Two peers with the same node id and different incarnations
 * are different nodes: the older one is gone.
 *
 * @since 0.1.0
 */
export const Peer = Schema.Struct({ node: NodeId, incarnation: Incarnation })

/** @since 0.1.0 */
export type Peer = typeof Peer.Type

/**
 * Why a peer was declared down:
 *
 * - `unreachable`: the failure detector stopped hearing its heartbeats.
 * - `restarted`: the same node id came back with a new incarnation.
 * - `shutdown`: the peer said goodbye (its transport's scope closed).
 * - `refused`: the peer refused or quarantined this node (wrong token, protocol mismatch, or it
 *   had already declared this node down).
 *
 * @since 0.1.0
 */
export const DownReason = Schema.Literals(["unreachable", "restarted", "shutdown", "refused"])

/** @since 0.1.0 */
export type DownReason = typeof DownReason.Type

/**
 * A link to a new peer (node and incarnation) is up: envelopes can be sent to it.
 *
 * @since 0.1.0
 */
export class PeerUp extends Schema.TaggedClass<PeerUp>()("PeerUp", {
  node: NodeId,
  incarnation: Incarnation,
  /**
   * The IP address the link's connection came from (accepted) or went to (dialed), as the socket saw it when the
   * link came up; absent in process. A node id is whatever a peer with the secret says it is; its address is not: the
   * runtime shares its bounds over all peers by it (see `remoteAccess` in docs/runtime.md).
   */
  remoteAddress: Schema.optional(Schema.String)
}) {}

/**
 * The link to a peer is down for good: nothing more arrives on it, whatever it had not acknowledged
 * is lost, and sends to it fail with `NodeUnreachable`. If the same node id comes back it is a new
 * incarnation and gets a new `PeerUp`; an incarnation that was only unreachable (a partition, a
 * stall) gets a new link, and a new `PeerUp`, once the nodes reach each other again.
 *
 * @since 0.1.0
 */
export class PeerDown extends Schema.TaggedClass<PeerDown>()("PeerDown", {
  node: NodeId,
  incarnation: Incarnation,
  reason: DownReason,
  message: Schema.String
}) {}

/**
 * A change in the set of live peers.
 *
 * @since 0.1.0
 */
export type PeerEvent = PeerUp | PeerDown

/**
 * The schema of {@link PeerEvent}.
 *
 * @since 0.1.0
 */
export const PeerEvent = Schema.Union([PeerUp, PeerDown])

/**
 * `true` for a `PeerUp` event.
 *
 * @since 0.1.0
 */
export const isPeerUp = (event: PeerEvent): event is PeerUp => event._tag === "PeerUp"

/**
 * `true` for a `PeerDown` event.
 *
 * @since 0.1.0
 */
export const isPeerDown = (event: PeerEvent): event is PeerDown => event._tag === "PeerDown"

/** An IPv6 address's 8 groups (undefined when it is not one). */
const groups6 = (address: string): Array<string> | undefined => {
  const [head, tail, more] = address.split("::")
  if (more !== undefined) return undefined
  const left = head === "" ? [] : head!.split(":")
  const right = tail === undefined || tail === "" ? [] : tail.split(":")
  const missing = 8 - left.length - right.length
  if (tail === undefined ? missing !== 0 : missing < 1) return undefined
  return [...left, ...Array.from({ length: missing }, () => "0"), ...right]
}

/**
 * The unit a peer's `remoteAddress` counts in, for the bounds per address (`limits.maxPeersPerAddress`, and the
 * runtime's shares over all peers): an IPv4 address as it is (also one written as IPv6, `::ffff:a.b.c.d`), an IPv6
 * address's /64 (a host is usually given a whole /64). It is one per host, not per process: the nodes of one machine
 * (or behind one NAT or proxy) share it.
 *
 * @example
 * ```ts
 * Peer.addressUnit("::ffff:192.0.2.9") // "192.0.2.9"
 * Peer.addressUnit("2001:db8:1:2:aaaa::1") // "2001:db8:1:2::/64"
 * ```
 *
 * @since 0.1.0
 */
export const addressUnit = (address: string): string => {
  const zoneless = address.split("%")[0]!.toLowerCase()
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(zoneless)
  if (mapped !== null) return mapped[1]!
  if (!zoneless.includes(":")) return zoneless
  const groups = groups6(zoneless)
  if (groups === undefined || groups.some((group) => group.includes("."))) return zoneless
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`
}
