/**
 * Introspection: what an inspector shows of a running node, as snapshots. The node and its links to other
 * nodes; its actors, each with its state, mailbox depth, restarts and last failure; the session roles its
 * participants play now, each with the moves it may make next. And the operator's actions: stop an actor,
 * cancel a session. Pair the snapshots with `ActorSystem.events` for what happens in between.
 *
 * @example
 * ```ts
 * const system = yield* ActorSystem.ActorSystem
 * for (const actor of yield* Introspection.actors(system))
 *   console.log(`${actor.path} ${actor.status} mailbox ${actor.mailbox}/${actor.capacity} restarts ${actor.restarts}`)
 * // /user/team running mailbox 0/1024 restarts 0
 * // /user/team/tester idle mailbox 0/1024 restarts 1
 * ```
 */
import { Monitor } from "@troupe/choreography"
import { Cause, Effect } from "effect"
import type { ActorSystemService, Stats } from "./ActorSystem.ts"
import { internal } from "./ActorSystem.ts"
import { participantsOf } from "./choreography/internal/participant.ts"
import { inspect } from "./internal/cell/snapshot.ts"
import type { ActorCell } from "./internal/cell.ts"

/** A link to another node, as the transport sees it. */
export interface LinkInfo {
  readonly node: string
  readonly incarnation: string
  readonly connected: boolean
  /** Envelopes sent on the link and not yet acknowledged. */
  readonly unacknowledged: number
  /** Envelopes waiting for room in the resend buffer. */
  readonly waiting: number
  readonly received: number
}

/** A node: its id, where it listens, its links and its counters. */
export interface NodeInfo {
  readonly node: string
  readonly name: string
  readonly address: string | undefined
  /** Links to other nodes (empty without a transport). */
  readonly links: ReadonlyArray<LinkInfo>
  readonly stats: Stats
  /** Frames refused by the wire's schemas, handshakes refused, envelopes resent and duplicates dropped. */
  readonly wire:
    | { readonly badFrames: number; readonly refused: number; readonly resent: number; readonly duplicates: number }
    | undefined
}

/** What an actor is doing now. */
export type ActorStatus = "running" | "idle" | "failed" | "restarting" | "stopping" | "stopped"

/** An actor, as an inspector shows it. */
export interface ActorInfo {
  readonly path: string
  /** Its parent's path (`/user` for top-level actors). */
  readonly parent: string
  readonly name: string
  /** The name of the protocol it speaks. */
  readonly protocol: string
  /** `running` (handling messages), `idle`, `failed` (its supervisor decides), `restarting`, `stopping`, `stopped`. */
  readonly status: ActorStatus
  /** Messages waiting in its mailbox (senders suspended on a full mailbox included). */
  readonly mailbox: number
  readonly capacity: number
  readonly stashed: number
  /** Restarts since it was spawned. */
  readonly restarts: number
  /** Its last failure: the first line of the error, the whole cause, and when (epoch millis). */
  readonly lastFailure: { readonly message: string; readonly cause: string; readonly at: number } | undefined
}

/** A session role a participant of this node plays now. */
export interface RoleInfo {
  readonly session: string
  readonly protocol: string
  readonly role: string
  /** The participant's actor. */
  readonly path: string
  /** Its state in its state machine, and the moves it may make there (as local types write them). */
  readonly state: number
  readonly expected: ReadonlyArray<string>
  /** The peer it waits for a message from, when it waits. */
  readonly waitingFor: string | undefined
  /** Whether its program runs (false before the session begins, and while its actor restarts). */
  readonly running: boolean
}

/** The node now. */
export const node = (system: ActorSystemService): Effect.Effect<NodeInfo> =>
  Effect.gen(function* () {
    const transport = internal(system).remoting?.transport
    const stats = yield* system.stats
    if (transport === undefined) {
      return { node: system.node, name: system.name, address: undefined, links: [], stats, wire: undefined }
    }
    const wire = yield* transport.stats
    return {
      node: system.node,
      name: system.name,
      address: transport.address._tag === "Some" ? transport.address.value : undefined,
      links: wire.links.map(({ node, incarnation, connected, unacknowledged, waiting, received }) => ({
        node,
        incarnation,
        connected,
        unacknowledged,
        waiting,
        received
      })),
      stats,
      wire: { badFrames: wire.badFrames, refused: wire.refused, resent: wire.resent, duplicates: wire.duplicates }
    }
  })

/** The live actors of the node, parents before their children, siblings in the order they were spawned. */
export const actors = (system: ActorSystemService): Effect.Effect<ReadonlyArray<ActorInfo>> =>
  Effect.sync(() => {
    const out: Array<ActorInfo> = []
    const walk = (cell: ActorCell) => {
      for (const child of cell.children?.values() ?? []) {
        out.push(describe(child, cell.path))
        walk(child)
      }
    }
    walk(internal(system).guardian)
    return out
  })

const describe = (cell: ActorCell, parent: string): ActorInfo => {
  const snapshot = inspect(cell)
  const failure = snapshot.lastFailure
  return {
    path: cell.path,
    parent,
    name: cell.name,
    protocol: cell.protocol.name,
    status: snapshot.status,
    mailbox: snapshot.mailbox,
    capacity: snapshot.capacity,
    stashed: snapshot.stashed,
    restarts: snapshot.restarts,
    lastFailure: failure && { message: firstLine(failure.cause), cause: Cause.pretty(failure.cause), at: failure.at }
  }
}

/** The first line of a failure's message. */
const firstLine = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  const message = error instanceof Error ? error.message : String(error)
  return message.split("\n")[0]!
}

/** The session roles the participants of this node play now. */
export const roles = (system: ActorSystemService): Effect.Effect<ReadonlyArray<RoleInfo>> =>
  Effect.sync(() =>
    [...participantsOf(internal(system)).values()].flatMap((participant) =>
      [...participant.sessions.values()].map((session) => ({
        ...session.names(),
        path: participant.self.path,
        state: session.state,
        expected: Monitor.expected(session.monitor, session.state),
        waitingFor: session.waitingFor,
        running: session.running
      }))
    )
  )

/**
 * Stops the actor at `path` on this node (its children first) and waits until it has terminated. Answers
 * false when there is no such actor (or it is the root guardian, which only shutdown stops).
 */
export const stop = (system: ActorSystemService, path: string): Effect.Effect<boolean> =>
  Effect.suspend(() => {
    const impl = internal(system)
    const cell = impl.registry.get(path)
    if (cell === undefined || cell === impl.guardian || cell.isTerminated) return Effect.succeed(false)
    return Effect.as(impl.stop(cell.ref), true)
  })

/**
 * Cancels the session `id` started on this node: every role is told, and its starter gets
 * `SessionAborted` with a `SessionCancelled` cause carrying `reason`. Answers false when no session of
 * that id runs here (sessions are cancelled where they were started).
 */
export const cancelSession = (system: ActorSystemService, id: string, reason: string): Effect.Effect<boolean> =>
  Effect.suspend(() => {
    const cell = internal(system).registry.get(`/user/session-${id}`)
    if (cell === undefined || cell.isTerminated) return Effect.succeed(false)
    return cell.ref.tell({ _tag: "Cancel", reason } as never).pipe(
      Effect.as(true),
      Effect.catchCause(() => Effect.succeed(false))
    )
  })
