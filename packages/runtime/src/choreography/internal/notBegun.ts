/**
 * The sessions a participant joined that have not begun (a `Join`, no `Begin` yet), plain and durable, bounded per
 * coordinator node and, for other nodes' coordinators, over all of a node's participants together: a peer that Joins
 * participants to sessions it makes up and never begins them would otherwise grow this node's memory without bound.
 * The bound of all is shared max-min fair among the coordinator nodes (see `shares.ts`): when it is full, a Join of a
 * node holding fewer than the node holding the most is taken, and that node's oldest session not begun is dropped (its
 * coordinator is told `SessionJoinRefused`); only a node among those holding the most is refused. So peers that fill
 * the bound cannot starve an honest coordinator node that holds few.
 */
import { Effect } from "effect"
import { PeerLogWindow } from "../../internal/peerLogWindow.ts"
import { Shares } from "../../internal/shares.ts"
import type { SystemImpl } from "../../internal/system.ts"
import * as RemoteAccess from "../../RemoteAccess.ts"
import { SessionJoinRefused } from "./sessionErrors.ts"

/**
 * The most sessions a participant holds not begun per coordinator node: 4,096, or the system's `maxJoiningSessions` if
 * larger (an honest coordinator node has at most its own `maxJoiningSessions` joining at once).
 */
export const maxNotBegunPerNode = (system: SystemImpl): number => Math.max(4_096, system.settings.maxJoiningSessions)

/** A session not begun, counted in the bound of all: which participant holds it. */
interface Held {
  readonly holder: NotBegun
  readonly id: string
}

/**
 * A node's sessions of other nodes held not begun by all its participants (bounded by
 * `remoteAccess.maxJoinsNotBegun`: a peer may join under many node ids, each with its own {@link maxNotBegunPerNode}),
 * how many each coordinator node holds, each node's oldest first, and the window of warnings about Joins refused or
 * dropped: a line a second per coordinator node, and one for all nodes.
 */
class AllNotBegun {
  readonly shares = new Shares()
  readonly byNode = new Map<string, Map<string, Held>>()
  readonly refusals = new PeerLogWindow()
  /** Numbers the participants' tables (a session id may be joined by several participants of this node). */
  serial = 0

  get count(): number {
    return this.shares.total
  }
}

const allKey = { name: "@troupe/runtime/Session/notBegun" }

/** This node's {@link AllNotBegun}. */
export const allNotBegun = (system: SystemImpl): AllNotBegun => system.extension(allKey, () => new AllNotBegun())

/**
 * Why a Join is refused, or a session not begun dropped: the bound it met (`node`: per coordinator node; `all`: of all
 * other nodes), the count, and for `all`, how many the coordinator's node held and which node held the most.
 */
export interface Refusal {
  readonly scope: "node" | "all"
  readonly held: number
  readonly ofNode?: { readonly held: number; readonly most: string; readonly mostHeld: number }
}

/**
 * One participant's sessions not begun, by coordinator node. `dropped` is called when one of them leaves for a Join of
 * a node holding fewer (the bound of all is full): the participant ends it and tells its coordinator why.
 *
 * @example
 * ```ts
 * const notBegun = new NotBegun(system, (id, why) => abortSession(id, why))
 * const refused = notBegun.take("shop", "session-1") // undefined: taken, counted until settled
 * notBegun.settled("shop", "session-1") // it began or ended
 * ```
 */
export class NotBegun {
  private readonly byNode = new Map<string, Set<string>>()
  private readonly system: SystemImpl
  private readonly prefix: string
  private readonly dropped: (id: string, why: Refusal, taker: string) => void

  constructor(system: SystemImpl, dropped: (id: string, why: Refusal, taker: string) => void) {
    this.system = system
    this.dropped = dropped
    this.prefix = `${allNotBegun(system).serial++}\u0000`
  }

  /** Counts session `id` of a coordinator on `node`, or says which bound refuses it (nothing counted then). */
  take(node: string, id: string): Refusal | undefined {
    const system = this.system
    const waiting = this.byNode.get(node)
    if (waiting !== undefined && waiting.size >= maxNotBegunPerNode(system))
      return { scope: "node", held: waiting.size }
    if (node !== system.node) {
      const all = allNotBegun(system)
      const shares = all.shares
      const maxAll = system.settings.remoteAccess.maxJoinsNotBegun ?? RemoteAccess.defaultMaxJoinsNotBegun
      if (shares.total >= maxAll) {
        const why: Refusal = {
          scope: "all",
          held: shares.total,
          ofNode: { held: shares.count(node), most: shares.top()!, mostHeld: shares.topCount }
        }
        if (!shares.mayTakeFromTop(node)) return why
        // the node holding the most gives up its oldest session not begun
        const top = shares.top()!
        const oldest = all.byNode.get(top)!.values().next().value!
        oldest.holder.settled(top, oldest.id)
        oldest.holder.dropped(oldest.id, why, node)
      }
      shares.add(node)
      let mine = all.byNode.get(node)
      if (mine === undefined) {
        mine = new Map()
        all.byNode.set(node, mine)
      }
      mine.set(this.prefix + id, { holder: this, id })
    }
    if (waiting === undefined) this.byNode.set(node, new Set([id]))
    else waiting.add(id)
    return undefined
  }

  /** Session `id` of `node` began, ended or was dropped: no longer counted. */
  settled(node: string, id: string): void {
    const waiting = this.byNode.get(node)
    if (!waiting?.delete(id)) return
    if (waiting.size === 0) this.byNode.delete(node)
    if (node !== this.system.node) this.uncount(node, id)
  }

  private uncount(node: string, id: string): void {
    const all = allNotBegun(this.system)
    all.shares.remove(node)
    const held = all.byNode.get(node)!
    held.delete(this.prefix + id)
    if (held.size === 0) all.byNode.delete(node)
  }

  /** The participant's actor terminated: its sessions not begun leave with it (those settled later are not counted). */
  clear(): void {
    for (const [node, waiting] of this.byNode)
      if (node !== this.system.node) for (const id of waiting) this.uncount(node, id)
    this.byNode.clear()
  }
}

/** The participant a Join is refused by, or a session dropped by: its protocol, its actor's path and its system. */
export interface Where {
  readonly protocol: string
  readonly path: string
  readonly system: SystemImpl
}

const refusedError = (where: Where, session: string, role: string, refusal: Refusal, dropped: boolean) =>
  new SessionJoinRefused({
    protocol: where.protocol,
    session,
    role,
    path: where.path,
    node: where.system.node,
    scope: refusal.scope,
    held: refusal.held,
    ...(refusal.ofNode === undefined
      ? {}
      : {
          coordinatorNodeHeld: refusal.ofNode.held,
          mostBy: { node: refusal.ofNode.most, held: refusal.ofNode.mostHeld }
        }),
    ...(dropped ? { dropped } : {})
  })

/**
 * A Join of session `session` (coordinator on `node`) refused by `refusal`: the error it is answered with, and a
 * warning, at most a line a second per coordinator node and one for all nodes past the bound of all.
 *
 * @example
 * ```ts
 * const refusal = notBegun.take(node, session)
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
  const earlier = allNotBegun(where.system).refusals.admit(
    refusal.scope === "node" ? node : "\u0000all nodes",
    Date.now()
  )
  if (earlier !== undefined) {
    const whose =
      refusal.scope === "node" ? "sessions of that node" : "sessions of other nodes (remoteAccess.maxJoinsNotBegun)"
    const most =
      refusal.ofNode === undefined
        ? ""
        : `; node ${node} holds ${refusal.ofNode.held} of them, as many as any (node ${refusal.ofNode.most} holds ${refusal.ofNode.mostHeld}): nodes holding fewer are still let in`
    where.system.runBackground(
      Effect.logWarning("A session's Join was refused").pipe(
        Effect.annotateLogs({
          participant: where.path,
          session,
          coordinatorNode: node,
          detail: `the ${refusal.scope === "node" ? "participant" : "node"} holds ${refusal.held} ${whose} that have not begun, the most it takes${most}${earlier === 0 ? "" : ` (and ${earlier} more refused earlier)`}`
        })
      )
    )
  }
  return refusedError(where, session, role, refusal, false)
}

/**
 * Session `session` (coordinator on `node`), joined and not begun, dropped for a Join of node `taker` (see
 * {@link NotBegun}): the cause its coordinator is told, and a warning, at most a line a second for all nodes.
 *
 * @example
 * ```ts
 * const cause = drop({ protocol, path, system }, id, role, coordinatorNode, why, taker)
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
  const earlier = allNotBegun(where.system).refusals.admit("\u0000dropped", Date.now())
  if (earlier !== undefined)
    where.system.runBackground(
      Effect.logWarning("A session not begun was dropped").pipe(
        Effect.annotateLogs({
          participant: where.path,
          session,
          coordinatorNode: node,
          detail: `the node holds ${why.held} sessions of other nodes that have not begun, the most it takes (remoteAccess.maxJoinsNotBegun); node ${node} held ${why.ofNode?.mostHeld}, the most of any, so its oldest left for a Join of node ${taker}, which held ${why.ofNode?.held}${earlier === 0 ? "" : ` (and ${earlier} more dropped earlier)`}. Raise remoteAccess.maxJoinsNotBegun if the sessions are honest`
        })
      )
    )
  return refusedError(where, session, role, why, true)
}
