/**
 * Why a session is aborted, and the errors its starter gets (`SessionAborted`, and `RoleSharded` when it cannot
 * start). Every cause is a Schema, so that it crosses the wire between a participant and the session's
 * coordinator. Re-exported by `Session`.
 */

import { Diagram, Monitor } from "@troupe/choreography"
import { Schema } from "effect"

const TraceEvent = Diagram.TraceEvent
const ProtocolViolation = Monitor.ProtocolViolation

/** A role waited for its next message longer than its step deadline. */
export class StepTimeout extends Schema.TaggedError<StepTimeout>()("StepTimeout", {
  protocol: Schema.String,
  session: Schema.String,
  role: Schema.String,
  /** The state the role was waiting in. */
  state: Schema.Number,
  /** What it was waiting for, e.g. `["A?buy(string)", "A?cancel()"]`. */
  expected: Schema.Array(Schema.String),
  waitedMillis: Schema.Number
}) {
  override get message(): string {
    return (
      `Role ${this.role} in session ${this.session} of ${this.protocol} waited ${this.waitedMillis} ms ` +
      `in state ${this.state} for ${this.expected.join(" or ")}`
    )
  }
}

/** A role's program failed (and the role is not restartable), or could not resume after a restart. */
export class ParticipantFailed extends Schema.TaggedError<ParticipantFailed>()("ParticipantFailed", {
  protocol: Schema.String,
  session: Schema.String,
  role: Schema.String,
  /** The failure, pretty-printed. */
  cause: Schema.String
}) {
  override get message(): string {
    return `Role ${this.role} in session ${this.session} of ${this.protocol} failed: ${this.cause}`
  }
}

/** A role's actor is gone: stopped, failed and not restarted, on a node that went down, or never joined. */
export class ParticipantStopped extends Schema.TaggedError<ParticipantStopped>()("ParticipantStopped", {
  protocol: Schema.String,
  session: Schema.String,
  role: Schema.String,
  /** The participant's actor. */
  path: Schema.String,
  /**
   * `stopped`, `failed` (stopped by its supervisor after a failure), `node-down`, `interrupted` (stopped or
   * restarted while its role was not restartable) or `unreachable` (it did not join the session).
   */
  reason: Schema.Literals(["stopped", "failed", "node-down", "interrupted", "unreachable"]),
  detail: Schema.optionalKey(Schema.String)
}) {
  override get message(): string {
    const why = {
      stopped: "its actor stopped",
      failed: "its actor failed and was stopped",
      "node-down": "the link to its node ended",
      interrupted: "its actor was stopped or restarted, and the role is not restartable",
      unreachable: "it could not join the session"
    }[this.reason]
    return (
      `Role ${this.role} (${this.path}) left session ${this.session} of ${this.protocol}: ${why}` +
      (this.detail === undefined ? "" : `: ${this.detail}`)
    )
  }
}

/** The session was cancelled: by its starter, or because its coordinator is gone. */
export class SessionCancelled extends Schema.TaggedError<SessionCancelled>()("SessionCancelled", {
  protocol: Schema.String,
  session: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Session ${this.session} of ${this.protocol} was cancelled: ${this.reason}`
  }
}

/**
 * A durable session's node was gone longer than the session's deadline: the node of a role (or, `role:
 * "coordinator"`, of the session's coordinator) crashed or was cut off and did not come back in time.
 */
export class SessionNodeLost extends Schema.TaggedError<SessionNodeLost>()("SessionNodeLost", {
  protocol: Schema.String,
  session: Schema.String,
  /** The role whose node is gone, or `"coordinator"`. */
  role: Schema.String,
  node: Schema.String,
  waitedMillis: Schema.Number
}) {
  override get message(): string {
    const who = this.role === "coordinator" ? "the coordinator" : `role ${this.role}`
    return `Session ${this.session} of ${this.protocol}: ${who} (node ${this.node}) was gone for ${this.waitedMillis} ms, longer than the session's deadline`
  }
}

/**
 * Two nodes of a session have no link to each other: the participant of `role` on `node` cannot reach
 * the one of `peerRole` on `peerNode`, so the session cannot run. Members link to each other when they
 * can dial each other: a node that only dials (no `--listen`, or not reachable at its address) is linked
 * only to the nodes it dials.
 */
export class SessionNodesApart extends Schema.TaggedError<SessionNodesApart>()("SessionNodesApart", {
  protocol: Schema.String,
  session: Schema.String,
  role: Schema.String,
  node: Schema.String,
  peerRole: Schema.String,
  peerNode: Schema.String
}) {
  override get message(): string {
    return (
      `Session ${this.session} of ${this.protocol} cannot run: node ${this.node} (role ${this.role}) has no link ` +
      `to node ${this.peerNode} (role ${this.peerRole}). Let every node listen at an address the others can ` +
      `dial (troupe node --listen/--advertise), or give them each other as --peer`
    )
  }
}

/**
 * A participant refused to join the session: it holds as many sessions that have not begun (joined, no `Begin` yet)
 * as it takes, of the coordinator's node (`scope: "node"`: 4,096, or `maxJoiningSessions` if larger) or of all
 * other nodes together (`scope: "all"`: its node's `remoteAccess.maxJoinsNotBegun`), or as many sessions of other
 * nodes, begun or not, as its node holds (`scope: "held"`: `remoteAccess.maxSessions`). Nothing of the session was kept
 * there. Peers that join the participant to sessions they never begin (or begin and never go on with) fill these; an
 * honest coordinator begins its sessions as soon as every role joined. With `dropped`, the role had joined and its
 * session was dropped to make room for a node (or address) holding fewer.
 *
 * @example
 * ```ts
 * Session.run(Job, { roles }).pipe(
 *   Effect.catchTag("SessionAborted", (e) =>
 *     e.cause._tag === "SessionJoinRefused" ? Effect.logWarning(`${e.cause.node} is full: ${e.cause.message}`) : Effect.fail(e)
 *   )
 * )
 * ```
 */
export class SessionJoinRefused extends Schema.TaggedError<SessionJoinRefused>()("SessionJoinRefused", {
  protocol: Schema.String,
  session: Schema.String,
  role: Schema.String,
  /** The participant's actor and node. */
  path: Schema.String,
  node: Schema.String,
  /**
   * Whose sessions filled the bound: not begun of the node the Join came from (`node`), not begun of all other nodes
   * (`all`), or held, begun or not, of all other nodes (`held`).
   */
  scope: Schema.Literals(["node", "all", "held"]),
  /** How many such sessions the participant (`node`) or its node (`all`, `held`) held: the bound. */
  held: Schema.Number,
  /**
   * For `all` and `held`: how many of them the node the Join came from held, its address and how many that held, and
   * which address held the most (how many, and its node holding the most). The bound is shared fairly by address and
   * then node id: a Join is refused only to a node whose address holds about as many as any, and which holds about as
   * many as any node of its address.
   */
  coordinatorNodeHeld: Schema.optionalKey(Schema.Number),
  coordinatorAddress: Schema.optionalKey(Schema.Struct({ address: Schema.String, held: Schema.Number })),
  mostBy: Schema.optionalKey(
    Schema.Struct({
      node: Schema.String,
      held: Schema.Number,
      address: Schema.optionalKey(Schema.String),
      addressHeld: Schema.optionalKey(Schema.Number)
    })
  ),
  /**
   * The role had joined, and its session was dropped (for `all`, before it began) for a Join of a node holding fewer
   * there (the bound of all was full and the session's node, or its address, held the most).
   */
  dropped: Schema.optionalKey(Schema.Boolean)
}) {
  override get message(): string {
    const bound =
      this.scope === "node"
        ? `${this.held} sessions not begun of this coordinator's node, the most it holds per coordinator node (4,096, or maxJoiningSessions if larger)`
        : this.scope === "all"
          ? `${this.held} sessions not begun of other nodes, the most its node holds (remoteAccess.maxJoinsNotBegun)`
          : `${this.held} sessions of other nodes, begun or not, the most its node holds (remoteAccess.maxSessions)`
    const whose =
      this.coordinatorNodeHeld === undefined
        ? ""
        : `, ${this.coordinatorNodeHeld} of them of this coordinator's node` +
          (this.coordinatorAddress === undefined
            ? ""
            : ` and ${this.coordinatorAddress.held} of its address ${this.coordinatorAddress.address}`) +
          (this.mostBy === undefined
            ? ""
            : this.mostBy.address === undefined
              ? ` (node ${this.mostBy.node} held the most, ${this.mostBy.held})`
              : ` (address ${this.mostBy.address} held the most, ${this.mostBy.addressHeld}; its node ${this.mostBy.node} ${this.mostBy.held})`)
    const what = this.dropped === true ? "dropped session" : "refused to join session"
    const who =
      this.scope === "held"
        ? "Sessions that never end (a peer's made-up ones, begun and left waiting) hold them"
        : "Sessions that never begin (a peer's made-up ones) hold them"
    return (
      `Role ${this.role} (${this.path} on node ${this.node}) ${what} ${this.session} of ${this.protocol}: ` +
      `too many sessions there (${bound}${whose}). ${who}; ` +
      `try again later, or raise the bound on node ${this.node}`
    )
  }
}

/** The violation for message `seq` from `from` to `role`, which `role` never took (it ended in `state`). */
export const leftover = (
  protocol: string,
  session: string,
  role: string,
  state: number,
  from: string,
  label: string | undefined,
  seq: number
): Monitor.ProtocolViolation =>
  new Monitor.ProtocolViolation({
    protocol,
    session,
    role,
    state,
    expected: [],
    got: `${from}?${label ?? "?"}`,
    reason: "ended",
    detail: `message ${seq} from ${from} was never received: the role ended without taking it`
  })

/** The schema of {@link AbortCause}, named so that declaration files can refer to it. */
export type AbortCauseSchema = Schema.Union<
  readonly [
    typeof Monitor.ProtocolViolation,
    typeof StepTimeout,
    typeof ParticipantFailed,
    typeof ParticipantStopped,
    typeof SessionCancelled,
    typeof SessionNodeLost,
    typeof SessionNodesApart,
    typeof SessionJoinRefused
  ]
>

/** Why a session was aborted. */
export const AbortCause: AbortCauseSchema = Schema.Union([
  ProtocolViolation,
  StepTimeout,
  ParticipantFailed,
  ParticipantStopped,
  SessionCancelled,
  SessionNodeLost,
  SessionNodesApart,
  SessionJoinRefused
])

/** Why a session was aborted. */
export type AbortCause = typeof AbortCause.Type

/**
 * A session was aborted for every participant: its starter gets this error, with the cause and the
 * trace recorded until then (draw it with `Diagram.trace`).
 */
export class SessionAborted extends Schema.TaggedError<SessionAborted>()("SessionAborted", {
  protocol: Schema.String,
  session: Schema.String,
  cause: AbortCause,
  trace: Schema.Array(TraceEvent)
}) {
  override get message(): string {
    return `Session ${this.session} of ${this.protocol} was aborted: ${this.cause.message}`
  }
}

/**
 * A session was not started: its actor system had as many sessions joining their roles as it admits at once
 * (`maxJoiningSessions`), and it waited in line for a place longer than its deadline there: the system's ask timeout
 * (the deadline of a join) for `Session.start`/`run`, the session's own `deadline` for `DurableSession.start`/`run`.
 * Nothing was done for it: no coordinator, no Join, and for a durable session nothing stored (its id is free); the
 * sessions admitted before it go on. See "Sessions under overload" in docs/choreography.md.
 *
 * @example
 * ```ts
 * Session.run(Ask, { roles }).pipe(Effect.catchTag("SessionOverloaded", () => Effect.succeed("try again later")))
 * DurableSession.start(Ledger, { roles, id: "order-42" }).pipe(
 *   Effect.catchTag("SessionOverloaded", (e) => Effect.logWarning(`not stored, start it again later: ${e.message}`))
 * )
 * ```
 */
export class SessionOverloaded extends Schema.TaggedError<SessionOverloaded>()("SessionOverloaded", {
  protocol: Schema.String,
  session: Schema.String,
  /** Sessions of the system joining their roles when it gave up. */
  joining: Schema.Number,
  /** Sessions still waiting in line behind it then. */
  waiting: Schema.Number,
  waitedMillis: Schema.Number
}) {
  override get message(): string {
    return (
      `Session ${this.session} of ${this.protocol} was not started: ${this.joining} sessions were joining their roles ` +
      `and it waited ${this.waitedMillis} ms in line (${this.waiting} behind it), longer than its deadline there ` +
      `(the actor system's askTimeout; a durable session's own deadline). Nothing was done or stored for it. The ` +
      `system is overloaded: start fewer sessions at once, or try again later`
    )
  }
}

/**
 * A role is bound to a sharded actor (a `Sharded.ref`): a session run by `Session.run` or `DurableSession.run`
 * cannot hold it (its coordinator is an actor of this process, which the cluster's runners do not reach, and
 * sharded actors have no death watch). `ShardedSession.run` runs sessions whose roles are sharded actors.
 *
 * @example
 * ```ts
 * Session.run(TwoBuyer, { roles: { A: a, B: b, S: yield* Sharded.ref(Sellers, "s-1") } }) // fails with RoleSharded
 * ```
 */
export class RoleSharded extends Schema.TaggedError<RoleSharded>()("RoleSharded", {
  protocol: Schema.String,
  role: Schema.String,
  path: Schema.String
}) {
  override get message() {
    return `Role ${this.role} of a ${this.protocol} session is bound to the sharded actor ${this.path}, which this session cannot reach on the cluster's runners. What to do: run it with ShardedSession.run (every role a Sharded.ref; ShardedSession.layer on every runner)`
  }
}

/** The first role bound to a sharded actor, as the `RoleSharded` that `Session.start` and `DurableSession.start` fail with. */
export const shardedRole = (
  protocol: string,
  roles: Readonly<Record<string, { readonly node: string; readonly path: string }>>
): RoleSharded | undefined => {
  for (const [role, ref] of Object.entries(roles))
    if (ref.node === "cluster") return new RoleSharded({ protocol, role, path: ref.path })
  return undefined
}
