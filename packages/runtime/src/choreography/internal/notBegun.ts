/**
 * The plain sessions a participant joined that have not begun (a `Join`, no `Begin` yet), bounded per coordinator
 * node and, for other nodes' coordinators, over all of a node's participants together: a peer that Joins
 * participants to sessions it makes up and never begins them would otherwise grow this node's memory without bound.
 */
import { PeerLogWindow } from "../../internal/peerLogWindow.ts"
import type { SystemImpl } from "../../internal/system.ts"
import * as RemoteAccess from "../../RemoteAccess.ts"

/**
 * The most sessions a participant holds not begun per coordinator node: 4,096, or the system's `maxJoiningSessions` if
 * larger (an honest coordinator node has at most its own `maxJoiningSessions` joining at once).
 */
export const maxNotBegunPerNode = (system: SystemImpl): number => Math.max(4_096, system.settings.maxJoiningSessions)

/**
 * A node's count of other nodes' sessions held not begun by all its participants (bounded by
 * `remoteAccess.maxJoinsNotBegun`: a peer may join under many node ids, each with its own {@link maxNotBegunPerNode}),
 * and the window of warnings about Joins refused: a line a second per coordinator node, and one for all nodes.
 */
class AllNotBegun {
  count = 0
  readonly refusals = new PeerLogWindow()
}

const allKey = { name: "@troupe/runtime/Session/notBegun" }

/** This node's {@link AllNotBegun}. */
export const allNotBegun = (system: SystemImpl): AllNotBegun => system.extension(allKey, () => new AllNotBegun())

/** Why a Join is refused: the bound it met (`node`: per coordinator node; `all`: of all other nodes) and the count. */
export interface Refusal {
  readonly scope: "node" | "all"
  readonly held: number
}

/**
 * One participant's sessions not begun, by coordinator node.
 *
 * @example
 * ```ts
 * const notBegun = new NotBegun(system)
 * const refused = notBegun.take("shop", "session-1") // undefined: taken, counted until settled
 * notBegun.settled("shop", "session-1") // it began or ended
 * ```
 */
export class NotBegun {
  private readonly byNode = new Map<string, Set<string>>()
  private readonly system: SystemImpl

  constructor(system: SystemImpl) {
    this.system = system
  }

  /** Counts session `id` of a coordinator on `node`, or says which bound refuses it (nothing counted then). */
  take(node: string, id: string): Refusal | undefined {
    const system = this.system
    const remote = node !== system.node
    const all = allNotBegun(system)
    const waiting = this.byNode.get(node)
    if (waiting !== undefined && waiting.size >= maxNotBegunPerNode(system))
      return { scope: "node", held: waiting.size }
    const maxAll = system.settings.remoteAccess.maxJoinsNotBegun ?? RemoteAccess.defaultMaxJoinsNotBegun
    if (remote && all.count >= maxAll) return { scope: "all", held: all.count }
    if (waiting === undefined) this.byNode.set(node, new Set([id]))
    else waiting.add(id)
    if (remote) all.count++
    return undefined
  }

  /** Session `id` of `node` began or ended: no longer counted. */
  settled(node: string, id: string): void {
    const waiting = this.byNode.get(node)
    if (!waiting?.delete(id)) return
    if (waiting.size === 0) this.byNode.delete(node)
    if (node !== this.system.node) allNotBegun(this.system).count--
  }

  /** The participant's actor terminated: its sessions not begun leave with it (those settled later are not counted). */
  clear(): void {
    const all = allNotBegun(this.system)
    for (const [node, waiting] of this.byNode) if (node !== this.system.node) all.count -= waiting.size
    this.byNode.clear()
  }
}
