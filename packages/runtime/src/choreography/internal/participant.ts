/**
 * Participants: actors that play one role of a choreography, in any number of sessions at once.
 *
 * Each session the actor joins is a `RoleSession`, which is the role's `Endpoint.Port`. Session messages
 * come through the actor's mailbox (so order per sender is kept and the mailbox bounds them); the handler
 * checks their sequence number and whether the role may ever receive them, then hands each one to the
 * role's program if it waits for it, or keeps it in a FIFO per sender. The program runs in its own fiber in
 * the actor's scope, so the actor goes on taking messages while the program works.
 *
 * Sessions live in a per-node table keyed by the actor's path, outside the actor's state, so that a
 * restartable role keeps them across a restart: its inbound queues, the sequence numbers of each pair,
 * and its checkpoint (the log of the messages it consumed, the sends it made and the results of its
 * `once` effects). After a restart the program runs again against the log (see `RoleSession.send`,
 * `receive` and `once`) and goes on live where the log ends. A durable session's Joins and resumptions are in
 * `durableParticipant.ts`.
 */
import type { Choreography as C, Endpoint, StateMachine as Machines } from "@troupe/choreography"
import { type Cause, Effect, Exit, Fiber, type Scope } from "effect"
import type { ActorRef, InvalidMessage } from "../../ActorRef.ts"
import { internal } from "../../ActorSystem.ts"
import type { ActorContext, Behavior } from "../../Behavior.ts"
import * as Behaviors from "../../Behavior.ts"
import type { ClusterUnavailable } from "../../cluster/ClusterUnavailable.ts"
import type { DurableRole } from "../../durable/internal/durableRole.ts"
import { localCell, type SystemImpl } from "../../internal/system.ts"
import type { MailboxFull } from "../../Mailbox.ts"
import type * as Protocol from "../../Protocol.ts"
import type { Terminated } from "../../Terminated.ts"
import * as DurableParticipant from "./durableParticipant.ts"
import { drop, NotBegun, originOf, type Refusal, refuse } from "./notBegun.ts"
import * as Recovery from "./roleRecovery.ts"
import { startRun } from "./roleRun.ts"
import { RoleSession } from "./roleSession.ts"
import {
  type AbortCause,
  ParticipantStopped,
  SessionCancelled,
  type SessionJoinRefused,
  type StepTimeout
} from "./sessionErrors.ts"
import {
  type CoordinatorProtocol,
  type ParticipantDefinition,
  type ParticipantProtocol,
  protocolsOf
} from "./sessionProtocols.ts"

type Choreography = C.Protocol
type StateMachine = Machines.StateMachine

/** What a role's endpoint operations may fail with, besides violations and spent endpoints. */
export type Failure = StepTimeout | MailboxFull | InvalidMessage | ClusterUnavailable

/** What a role's program gets besides its endpoint. */
export interface Context {
  /** The session's id. */
  readonly session: string
  /** The protocol's name. */
  readonly protocol: string
  /** The role this program plays (for a member of a family, its own: `Reviewer[2]`). */
  readonly role: string
  /** For a member of a family: which family, its index (from 0) and how many members the family has. */
  readonly member: { readonly family: string; readonly index: number; readonly size: number } | undefined
  /** Whether this run of the program resumes the role after its actor was restarted. */
  readonly resumed: boolean
  /** The context of the participant's actor (its ref, its system, ...). */
  readonly actor: ActorContext<ParticipantProtocol>
  /**
   * Runs a side effect once per session: in a restartable role, its result is part of the checkpoint,
   * and a program that resumes after a restart gets the recorded result instead of running it again.
   * Elsewhere it simply runs the effect.
   */
  once<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R>
}

/** A role's program, over an untyped endpoint (the typed one is the same object). */
export type Program<A, E, R> = (endpoint: Endpoint.UntypedEndpoint<Failure>, context: Context) => Effect.Effect<A, E, R>

interface Spec {
  readonly choreography: Choreography
  readonly role: string
  readonly machine: StateMachine
  readonly restartable: boolean
  /** Its requirements are those of the participant's behaviour, which the actor runs with. */
  readonly program: Program<unknown, unknown, never>
}

type Join = Protocol.MessageOf<ParticipantProtocol["definition"], "Join">
type Deliver = Protocol.MessageOf<ParticipantProtocol["definition"], "Deliver">

/** The participants of this node's actor system, by actor path (kept across restarts). */
const tableKey = { name: "@troupe/runtime/Session/participants" }

/**
 * The participants of a node's actor system, by actor path (for inspectors). They hear of every node the system
 * declares down (see `Participant.nodeDown`).
 */
export const participantsOf = (system: SystemImpl): ReadonlyMap<string, Participant> =>
  system.extension(tableKey, () => {
    const table = new Map<string, Participant>()
    system.remoting?.onNodeDown((node) => {
      for (const participant of table.values()) participant.nodeDown(node)
    })
    return table
  })

/** A behaviour that plays `role` of `choreography` with `program` in every session it joins. */
export const behavior = (
  choreography: Choreography,
  role: string,
  program: Program<unknown, unknown, never>
): Behavior<ParticipantProtocol, Participant> => {
  const spec: Spec = {
    choreography,
    role,
    machine: choreography.machines.get(role)!,
    restartable: choreography.restartable.has(role),
    program
  }
  return Behaviors.make(protocolsOf(choreography).participants.get(role)!, {
    init: (ctx) => Participant.attach(spec, ctx),
    receive: {
      Join: (p, m, ctx) => p.join(m, ctx),
      Begin: (p, m) => p.begin(m.session),
      Deliver: (p, m) => p.deliver(m),
      Abort: (p, m) => p.aborted(m),
      CoordinatorDown: (p, m) => p.coordinatorDown(m.session),
      Crash: (p) => p.crash(),
      Resume: (p) => p.resume()
    }
  })
}

/** One participant actor: its sessions, kept in the node's table so that they outlive a restart. */
export class Participant {
  readonly sessions = new Map<string, RoleSession>()
  /**
   * Durable sessions whose role completed, while its completion is being committed (it has left `sessions`): a
   * peer that resumed may ask it meanwhile to send again what it sent (see `Recovery.resendCompleted`).
   */
  readonly completing = new Map<string, DurableRole>()
  /**
   * Durable sessions this role aborted, while its abort is being committed (it has left `sessions`): a Join meanwhile
   * is answered with the abort, as one after it is by the log (see `DurableParticipant.storeAbort`). Made when first
   * used.
   */
  aborting: Map<string, AbortCause> | undefined = undefined
  /** Sessions held, and those not begun yet, by the node their Join came from (bounded: see notBegun.ts). */
  private readonly notBegun: NotBegun
  readonly spec: Spec
  readonly system: SystemImpl
  readonly self: ActorRef<ParticipantProtocol>
  ctx: ActorContext<ParticipantProtocol>
  /** The handlers' answer when the state does not change (it never does: sessions change in place). */
  readonly same: Effect.Effect<Participant>
  /**
   * A restartable role's program failed and the actor has yet to crash: programs that fail meanwhile (the
   * same outage hitting every session at once) join that crash, so that the batch costs one restart.
   */
  crashing = false

  private constructor(spec: Spec, ctx: ActorContext<ParticipantProtocol>) {
    this.spec = spec
    this.ctx = ctx
    this.self = ctx.self
    this.system = internal(ctx.system)
    this.notBegun = new NotBegun(this.system, (id, why, taker) => this.dropNotBegun(id, why, taker))
    this.same = Exit.succeed(this)
  }

  /** Session `id` as the participant of this node at `path` holds it, if it does. */
  heldBy(path: string, id: string): RoleSession | undefined {
    return participantsOf(this.system).get(path)?.sessions.get(id)
  }

  /** The participant of the actor being started: a new one, or the one it had before its restart. */
  static attach(spec: Spec, ctx: ActorContext<ParticipantProtocol>): Effect.Effect<Participant, never, Scope.Scope> {
    // the programs of its sessions end with the actor's scope (one finalizer for all, not one per program)
    const attached = Effect.suspend(() => {
      const system = internal(ctx.system)
      const table = participantsOf(system) as Map<string, Participant>
      const path = ctx.self.path
      const known = table.get(path)
      if (known === undefined || known.spec !== spec) {
        const participant = new Participant(spec, ctx)
        table.set(path, participant)
        system.onTermination(ctx.self, (terminated) => {
          if (table.get(path) === participant) table.delete(path)
          participant.terminated(terminated)
        })
        return Effect.succeed(participant)
      }
      known.ctx = ctx
      return Effect.as(known.restarted(), known)
    })
    return Effect.tap(attached, (participant) => Effect.addFinalizer(() => participant.interruptPrograms()))
  }

  /**
   * The actor terminated: the coordinators of this node whose sessions it was still in hear of it as their
   * death watch of a participant on another node would tell them (they do not watch the participants of their
   * own node: a watch is an entry on both actors for as long as the session lives).
   */
  private terminated(terminated: Terminated): void {
    // the sessions not begun leave with the actor (those settled later are no longer counted)
    this.notBegun.clear()
    for (const session of this.sessions.values())
      if (!session.ended && session.durable === undefined)
        localCell(session.coordinator)?.tellTerminated(terminated, undefined)
  }

  /** Interrupts the programs running (the actor stops or restarts), and waits for them to end. */
  private interruptPrograms(): Effect.Effect<void> {
    const fibers: Array<Fiber.Fiber<unknown, unknown>> = []
    for (const session of this.sessions.values()) if (session.fiber !== undefined) fibers.push(session.fiber)
    return fibers.length === 0 ? Effect.void : Fiber.interruptAll(fibers)
  }

  /** After a restart: restartable roles resume their sessions; any other role's sessions are aborted. */
  private restarted(): Effect.Effect<void> {
    // the restart answers every failure so far: a crash still queued finds nothing to crash for
    this.crashing = false
    for (const session of this.sessions.values()) session.crash = undefined
    return Effect.forEach(
      [...this.sessions.values()],
      (session) => {
        if (!session.begun || session.running) return Effect.void
        if (session.durable !== undefined) return DurableParticipant.resume(this, session)
        return this.spec.restartable
          ? startRun(this, session, true)
          : session.abort(this.stopped(session, "interrupted"), "report", false)
      },
      { discard: true }
    )
  }

  stopped(session: RoleSession, reason: ParticipantStopped["reason"]): ParticipantStopped {
    return new ParticipantStopped({
      protocol: this.spec.choreography.name,
      session: session.id,
      role: session.role,
      path: this.self.path,
      reason
    })
  }

  join(m: Join, ctx: ActorContext<ParticipantProtocol>): Effect.Effect<Behaviors.Reply<Participant, boolean>, unknown> {
    const reply = Exit.succeed({ state: this as Participant, reply: false })
    const known = this.sessions.get(m.session)
    if (known === undefined && originOf(this.system, this.self) === undefined) {
      // told, not asked: no coordinator sends a Join so (nobody could be told it joined), and where it came from is
      // not known (the bounds of sessions held count by that), so it is not taken
      this.system.deadLetter(this.self.path, m, "invalid")
      return reply
    }
    const watch = ctx.watchWith(m.coordinator, { _tag: "CoordinatorDown", session: m.session })
    if (m.durable !== undefined) return DurableParticipant.join(this, m, m.durable, known, watch)
    if (known !== undefined) return reply
    const coordinator = localCell(m.coordinator)
    // A coordinator of this node tells its roles itself when it stops before its session ends (see the
    // coordinator's `start`): no death watch, whose entries a live session would keep on both actors.
    if (coordinator?.isTerminated) return reply
    const refused = this.admit(m)
    if (refused !== undefined) return refused
    this.sessions.set(m.session, new RoleSession(this, m))
    return coordinator === undefined ? Effect.andThen(watch, reply) : reply
  }

  /** Session `id` ended: it no longer counts against the bounds of sessions held (or not begun). */
  settled(id: string): void {
    this.notBegun.settled(id)
  }

  /**
   * Counts the session of Join `m` (plain or durable; `begun`: a durable one joined again) against the bounds of
   * sessions held and not begun, by the node the Join came from, or answers the Join with `SessionJoinRefused` (the
   * session fails at once for its starter), logged a line a second per node, and one for each bound of all.
   */
  admit(m: Join, begun = false): Effect.Effect<never, SessionJoinRefused> | undefined {
    const origin = originOf(this.system, this.self) ?? m.coordinator.node
    const refusal = this.notBegun.take(origin, m.session, begun)
    if (refusal === undefined) return undefined
    const where = { protocol: this.spec.choreography.name, path: this.self.path, system: this.system }
    return Effect.fail(refuse(where, m.session, m.member ?? this.spec.role, origin, refusal))
  }

  /**
   * Session `id` leaves for a Join of node `taker`, which holds fewer sessions here than the node (or address) the
   * session's Join came from (a bound of all is full): the role ends it and tells its coordinator why. One not begun
   * stores nothing (for a durable one: it never began); one begun is aborted (its program interrupted; a durable one's
   * abort is stored).
   */
  private dropNotBegun(id: string, why: Refusal, taker: string): void {
    const session = this.sessions.get(id)
    if (session === undefined || session.ended) return
    const where = { protocol: this.spec.choreography.name, path: this.self.path, system: this.system }
    const cause = drop(where, id, session.role, session.coordinator.node, why, taker)
    this.system.runBackground(
      session.begun
        ? session.abort(cause, "report", true)
        : Effect.andThen(
            session.abort(cause, "silent", false),
            session.report({ _tag: "Abort", session: id, role: session.role, cause, trace: [] })
          )
    )
  }

  begin(id: string): Effect.Effect<Participant> {
    const session = this.sessions.get(id)
    if (session === undefined || session.begun) return this.same
    this.notBegun.began(id)
    session.begun = true
    return Effect.as(startRun(this, session, false), this)
  }

  deliver(m: Deliver): Effect.Effect<Participant> {
    const session = this.sessions.get(m.session)
    if (session === undefined) {
      this.system.deadLetter(this.self.path, m, "unhandled")
      return this.same
    }
    const refused = session.deliver(m)
    return refused === undefined ? this.same : Effect.as(refused, this)
  }

  /**
   * This node declared `node` down (both may live: the link ended, and what it carried is lost): each session
   * with a peer there recovers or ends (see `Recovery.linkLost`). Called outside the actor's handler, as a
   * step deadline is.
   */
  nodeDown(node: string): void {
    for (const session of [...this.sessions.values()]) this.system.runBackground(Recovery.linkLost(session, node))
  }

  aborted(m: Protocol.MessageOf<ParticipantDefinition, "Abort">): Effect.Effect<Participant> {
    const session = this.sessions.get(m.session)
    if (session !== undefined) return Effect.as(session.abort(m.cause, "leave", true), this)
    // not held here (this actor was activated anew): the coordinator need not wait for it to leave
    if (m.role === undefined || m.coordinator === undefined) return this.same
    const left = (m.coordinator as ActorRef<CoordinatorProtocol>).tell({
      _tag: "Left",
      session: m.session,
      role: m.role,
      trace: []
    })
    return Effect.as(Effect.ignore(left), this)
  }

  coordinatorDown(id: string): Effect.Effect<Participant> {
    const session = this.sessions.get(id)
    if (session === undefined) return this.same
    if (session.durable !== undefined) return Effect.as(Recovery.awaitCoordinator(session), this)
    const cause = new SessionCancelled({
      protocol: this.spec.choreography.name,
      session: id,
      reason: "its coordinator terminated"
    })
    return Effect.as(session.abort(cause, "silent", true), this)
  }

  /**
   * The program of a restartable role failed (in one session or several): fail the actor with the first
   * cause, for its supervisor. One crash answers every failure of the batch.
   */
  crash(): Effect.Effect<Participant, unknown> {
    this.crashing = false
    let first: Cause.Cause<unknown> | undefined
    for (const session of this.sessions.values()) {
      first ??= session.crash
      session.crash = undefined
    }
    return first === undefined ? this.same : Effect.failCause(first)
  }

  /** The actor was resumed (not restarted) after a crash: resume the programs that failed. */
  resume(): Effect.Effect<Participant> {
    const resumable = [...this.sessions.values()].filter((s) => !s.ended && !s.running && s.begun)
    if (resumable.length === 0) return this.same
    return Effect.as(
      Effect.forEach(resumable, (s) => startRun(this, s, true), { discard: true }),
      this
    )
  }
}
