/**
 * The sessions of other nodes a node's participants hold, bounded, so that a peer cannot grow this node's memory by
 * Joining its participants to sessions it makes up (plain and durable):
 * - not begun (a `Join`, no `Begin` yet): per participant per coordinator node ({@link maxNotBegunPerNode}), and over
 *   all of a node's participants together (`remoteAccess.maxJoinsNotBegun`);
 * - held, begun or not, until they end (`remoteAccess.maxSessions`, all participants together): a peer that begins
 *   every session it Joins, and never goes on with it, would otherwise hold its roles for ever.
 * The node a session counts for is the one its Join came from (the link it arrived on, whatever coordinator the Join
 * names: a peer cannot charge its sessions to another node). The bounds of all are shared max-min fair by the peers'
 * addresses and then by node id (see `shares.ts`): when one is full, a Join of a node whose address (or, within one
 * address, the node itself) holds fewer than the one holding the most is taken, and that one's oldest session is
 * dropped (its coordinator is told `SessionJoinRefused` with `dropped`); the others are refused. So peers that fill a
 * bound, under however many node ids, cannot starve an honest coordinator node.
 */
import { Effect } from "effect"
import { PeerLogWindow } from "../../internal/peerLogWindow.ts"
import { RemoteReply } from "../../internal/remote/replies.ts"
import { FairTable, type Holdings, unitOf } from "../../internal/shares.ts"
import { localCell, type SystemImpl } from "../../internal/system.ts"
import * as RemoteAccess from "../../RemoteAccess.ts"
import { SessionJoinRefused } from "./sessionErrors.ts"

/**
 * The most sessions a participant holds not begun per coordinator node: 4,096, or the system's `maxJoiningSessions` if
 * larger (an honest coordinator node has at most its own `maxJoiningSessions` joining at once).
 */
export const maxNotBegunPerNode = (system: SystemImpl): number => Math.max(4_096, system.settings.maxJoiningSessions)

/** A session counted in a bound of all: which participant holds it. */
interface Held {
  readonly holder: NotBegun
  readonly id: string
}

/** One bound of all: its sessions by node (shared fairly), and the window of warnings about Joins refused or dropped. */
class All {
  readonly table = new FairTable<Held>()
  readonly refusals = new PeerLogWindow()
}

/** A node's bounds of all (see the module's comment). */
class Bounds {
  readonly notBegun = new All()
  readonly held = new All()
  /** Numbers the participants' tables (a session id may be joined by several participants of this node). */
  serial = 0
}

const allKey = { name: "@troupe/runtime/Session/notBegun" }

/** This node's {@link Bounds}. */
export const allNotBegun = (system: SystemImpl): Bounds => system.extension(allKey, () => new Bounds())

/**
 * Why a Join is refused, or a session dropped: the bound it met (`node`: sessions not begun per coordinator node;
 * `all`: not begun of all other nodes; `held`: held of all other nodes), the count, and for `all` and `held` who held
 * what.
 */
export interface Refusal {
  readonly scope: "node" | "all" | "held"
  readonly held: number
  readonly holdings?: Holdings
}

/**
 * The node a Join being handled by the participant at `ref` came from: the peer whose link it arrived on (an ask from
 * another node), this node (an ask of its own), or undefined when it was told, not asked (no coordinator sends one so:
 * it has no answer to wait for).
 */
export const originOf = (system: SystemImpl, self: Parameters<typeof localCell>[0]): string | undefined => {
  const reply = localCell(self)?.current?.reply
  return reply instanceof RemoteReply ? reply.peer.node : reply === undefined ? undefined : system.node
}

/**
 * One participant's sessions not begun (by the node their Join came from) and held. `dropped` is called when one of
 * them leaves for a Join of a node holding fewer (a bound of all is full): the participant ends it and tells its
 * coordinator why.
 *
 * @example
 * ```ts
 * const sessions = new NotBegun(system, (id, why, taker) => abortSession(id, why))
 * const refused = sessions.take("shop", "session-1", false) // undefined: taken, counted until it begins or ends
 * sessions.began("session-1")
 * sessions.settled("session-1") // it ended
 * ```
 */
export class NotBegun {
  /** Sessions not begun, by the node their Join came from (bounded per node). */
  private readonly byNode = new Map<string, Set<string>>()
  /** The node each session held came from. */
  private readonly origins = new Map<string, string>()
  private readonly system: SystemImpl
  private readonly prefix: string
  readonly dropped: (id: string, why: Refusal, taker: string) => void

  constructor(system: SystemImpl, dropped: (id: string, why: Refusal, taker: string) => void) {
    this.system = system
    this.dropped = dropped
    this.prefix = `${allNotBegun(system).serial++}\u0000`
  }

  /**
   * Counts session `id`, whose Join came from `node` (already `begun`: a durable one joined again), or says which
   * bound refuses it (nothing counted then).
   */
  take(node: string, id: string, begun: boolean): Refusal | undefined {
    const system = this.system
    const waiting = this.byNode.get(node)
    if (!begun && waiting !== undefined && waiting.size >= maxNotBegunPerNode(system))
      return { scope: "node", held: waiting.size }
    if (node !== system.node) {
      const bounds = allNotBegun(system)
      const unit = unitOf(system, node)
      const access = system.settings.remoteAccess
      const maxHeld = access.maxSessions ?? RemoteAccess.defaultMaxSessions
      const maxNotBegun = access.maxJoinsNotBegun ?? RemoteAccess.defaultMaxJoinsNotBegun
      // both bounds are asked before either drops anything
      const heldYielder = yielderOf(bounds.held, maxHeld, node, unit)
      if (heldYielder === null) return refusalOf(bounds.held, "held", node, unit)
      const notBegunYielder = begun ? undefined : yielderOf(bounds.notBegun, maxNotBegun, node, unit)
      if (notBegunYielder === null) return refusalOf(bounds.notBegun, "all", node, unit)
      if (heldYielder !== undefined)
        dropOldest(bounds.held, heldYielder, refusalOf(bounds.held, "held", node, unit), node)
      if (notBegunYielder !== undefined) {
        // (the session dropped for the bound of all held may have been one not begun: asked again)
        const yielder = yielderOf(bounds.notBegun, maxNotBegun, node, unit)
        if (yielder === null) return refusalOf(bounds.notBegun, "all", node, unit)
        if (yielder !== undefined)
          dropOldest(bounds.notBegun, yielder, refusalOf(bounds.notBegun, "all", node, unit), node)
      }
      const held = { holder: this, id }
      bounds.held.table.add(node, unit, this.prefix + id, held)
      if (!begun) bounds.notBegun.table.add(node, unit, this.prefix + id, held)
    }
    this.origins.set(id, node)
    if (!begun) {
      if (waiting === undefined) this.byNode.set(node, new Set([id]))
      else waiting.add(id)
    }
    return undefined
  }

  /** Session `id` began: it no longer counts as not begun (it is held until it ends). */
  began(id: string): void {
    const node = this.origins.get(id)
    if (node === undefined) return
    const waiting = this.byNode.get(node)
    if (!waiting?.delete(id)) return
    if (waiting.size === 0) this.byNode.delete(node)
    if (node !== this.system.node) allNotBegun(this.system).notBegun.table.delete(node, this.prefix + id)
  }

  /** Session `id` ended or was dropped: no longer counted. */
  settled(id: string): void {
    this.began(id)
    const node = this.origins.get(id)
    if (node === undefined) return
    this.origins.delete(id)
    if (node !== this.system.node) allNotBegun(this.system).held.table.delete(node, this.prefix + id)
  }

  /** The participant's actor terminated: its sessions leave with it (those settled later are not counted). */
  clear(): void {
    for (const id of [...this.origins.keys()]) this.settled(id)
  }
}

/**
 * The node whose oldest session leaves for a Join of `node` (`unit`) when `all` is full (undefined: it is not full),
 * or null when the Join is refused.
 */
const yielderOf = (all: All, max: number, node: string, unit: string): string | undefined | null =>
  all.table.total < max ? undefined : (all.table.yielder(node, unit) ?? null)

const refusalOf = (all: All, scope: "all" | "held", node: string, unit: string): Refusal => ({
  scope,
  held: all.table.total,
  holdings: all.table.holdings(node, unit)
})

/** `yielder`'s oldest session in `all` leaves (its participant ends it) for a Join of node `taker`. */
const dropOldest = (all: All, yielder: string, why: Refusal, taker: string): void => {
  const [, oldest] = all.table.oldest(yielder)!
  oldest.holder.settled(oldest.id)
  oldest.holder.dropped(oldest.id, why, taker)
}

/** The participant a Join is refused by, or a session dropped by: its protocol, its actor's path and its system. */
export interface Where {
  readonly protocol: string
  readonly path: string
  readonly system: SystemImpl
}

const refusedError = (where: Where, session: string, role: string, refusal: Refusal, dropped: boolean) => {
  const holdings = refusal.holdings
  return new SessionJoinRefused({
    protocol: where.protocol,
    session,
    role,
    path: where.path,
    node: where.system.node,
    scope: refusal.scope,
    held: refusal.held,
    ...(holdings === undefined
      ? {}
      : {
          coordinatorNodeHeld: holdings.node.held,
          coordinatorAddress: { address: holdings.node.address, held: holdings.node.addressHeld },
          mostBy: {
            node: holdings.most.node,
            held: holdings.most.held,
            address: holdings.most.address,
            addressHeld: holdings.most.addressHeld
          }
        }),
    ...(dropped ? { dropped } : {})
  })
}

const boundOf = (scope: Refusal["scope"]) =>
  scope === "node"
    ? "sessions not begun of that node"
    : scope === "all"
      ? "sessions not begun of other nodes (remoteAccess.maxJoinsNotBegun)"
      : "sessions of other nodes, begun or not (remoteAccess.maxSessions)"

/** Who holds what, for a warning. */
const whoHolds = (holdings: Holdings | undefined) =>
  holdings === undefined
    ? ""
    : `; node ${holdings.node.node} holds ${holdings.node.held} of them and its address ${holdings.node.address} ` +
      `${holdings.node.addressHeld}, as many as any (address ${holdings.most.address} holds ${holdings.most.addressHeld}, ` +
      `its node ${holdings.most.node} ${holdings.most.held}): addresses and nodes holding fewer are still let in`

/**
 * A Join of session `session` (which came from `node`) refused by `refusal`: the error it is answered with, and a
 * warning, at most a line a second per node for the bound per node and one for each bound of all.
 *
 * @example
 * ```ts
 * const refusal = sessions.take(node, session, false)
 * if (refusal !== undefined) return Effect.fail(refuse({ protocol, path, system }, session, role, node, refusal))
 * ```
 */
export const refuse = (
  where: Where,
  session: string,
  role: string,
  node: string,
  refusal: Refusal
): SessionJoinRefused => {
  const bounds = allNotBegun(where.system)
  const window = refusal.scope === "held" ? bounds.held.refusals : bounds.notBegun.refusals
  const earlier = window.admit(refusal.scope === "node" ? node : "\u0000all nodes", Date.now())
  if (earlier !== undefined) {
    where.system.runBackground(
      Effect.logWarning("A session's Join was refused").pipe(
        Effect.annotateLogs({
          participant: where.path,
          session,
          coordinatorNode: node,
          detail: `the ${refusal.scope === "node" ? "participant" : "node"} holds ${refusal.held} ${boundOf(refusal.scope)}, the most it takes${whoHolds(refusal.holdings)}${earlier === 0 ? "" : ` (and ${earlier} more refused earlier)`}`
        })
      )
    )
  }
  return refusedError(where, session, role, refusal, false)
}

/**
 * Session `session` (whose Join came from `node`) dropped for a Join of node `taker` (see {@link NotBegun}): the
 * cause its coordinator is told, and a warning, at most a line a second for each bound of all.
 *
 * @example
 * ```ts
 * const cause = drop({ protocol, path, system }, id, role, node, why, taker)
 * ```
 */
export const drop = (
  where: Where,
  session: string,
  role: string,
  node: string,
  why: Refusal,
  taker: string
): SessionJoinRefused => {
  const bounds = allNotBegun(where.system)
  const window = why.scope === "held" ? bounds.held.refusals : bounds.notBegun.refusals
  const earlier = window.admit("\u0000dropped", Date.now())
  const most = why.holdings?.most
  if (earlier !== undefined)
    where.system.runBackground(
      Effect.logWarning(why.scope === "held" ? "A session was dropped" : "A session not begun was dropped").pipe(
        Effect.annotateLogs({
          participant: where.path,
          session,
          coordinatorNode: node,
          detail: `the node holds ${why.held} ${boundOf(why.scope)}, the most it takes, shared fairly by address and then node id; node ${node} held the most (address ${most?.address} ${most?.addressHeld}, its node ${most?.node} ${most?.held}), so its oldest left for a Join of node ${taker}, which held ${why.holdings?.node.held} (its address ${why.holdings?.node.address} ${why.holdings?.node.addressHeld})${earlier === 0 ? "" : ` (and ${earlier} more dropped earlier)`}. Raise remoteAccess.${why.scope === "held" ? "maxSessions" : "maxJoinsNotBegun"} if the sessions are honest`
        })
      )
    )
  return refusedError(where, session, role, why, true)
}
