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
 * A role's peers: a list (a `Map` costs about 200 bytes even when it is small), indexed by a `Map` only in
 * sessions with many roles.
 *
 * @example
 * // const peers = new Peers([{ role: "B", ref, cell: undefined, sent: 0, received: 0, inbox: undefined }])
 * // peers.get("B")?.sent
 */
export class Peers {
  private list: ReadonlyArray<Peer>
  private index: Map<string, Peer> | undefined

  constructor(list: ReadonlyArray<Peer>) {
    this.list = list
    this.index = list.length > 8 ? new Map(list.map((p) => [p.role, p])) : undefined
  }

  get(role: string): Peer | undefined {
    if (this.index !== undefined) return this.index.get(role)
    for (const peer of this.list) if (peer.role === role) return peer
    return undefined
  }

  [Symbol.iterator](): Iterator<Peer> {
    return this.list[Symbol.iterator]()
  }

  clear(): void {
    this.list = []
    this.index = undefined
  }
}
