/**
 * A role's peers in one session: what it knows of each (its participant, the last message numbers each way, the
 * messages not yet taken).
 */
import type { Endpoint } from "@troupe/choreography"
import type { ActorRef } from "../../ActorRef.ts"
import type { ActorCell } from "../../internal/cell.ts"
import { Deque } from "../../internal/deque.ts"
import type * as Protocol from "../../Protocol.ts"

/**
 * What a role knows of one peer: the last message numbers each way, and the messages not yet taken.
 *
 * @example
 * // the next message to B is numbered peer.sent + 1; one from B is taken if its number is peer.received + 1
 */
export interface Peer {
  readonly role: string
  ref: ActorRef<Protocol.Any>
  /** The peer's actor when it lives in this process: session messages go straight into its mailbox. */
  cell: ActorCell | undefined
  sent: number
  received: number
  /** Made when the first message waits in it (a live session whose messages are all taken keeps none). */
  inbox: Deque<Endpoint.Incoming> | undefined
}

/**
 * The messages from `peer` not yet taken, made if it has none yet.
 *
 * @example
 * // inboxOf(peer).push(message)
 */
export const inboxOf = (peer: Peer): Deque<Endpoint.Incoming> => (peer.inbox ??= new Deque<Endpoint.Incoming>(1))

/**
 * The index of a role's peers by role, for sessions with many roles (a `Map` costs about 200 bytes even when it is
 * small: a few peers are found in their list).
 *
 * @example
 * // const index = indexOf(peers); peerIn(peers, index, "B")?.sent
 */
export const indexOf = (list: ReadonlyArray<Peer>): ReadonlyMap<string, Peer> | undefined =>
  list.length > 8 ? new Map(list.map((p) => [p.role, p])) : undefined

/** The peer playing `role` in `list` (with its index, if it has one). */
export const peerIn = (
  list: ReadonlyArray<Peer>,
  index: ReadonlyMap<string, Peer> | undefined,
  role: string
): Peer | undefined => {
  if (index !== undefined) return index.get(role)
  for (const peer of list) if (peer.role === role) return peer
  return undefined
}
