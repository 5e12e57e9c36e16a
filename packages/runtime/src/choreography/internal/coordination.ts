/**
 * One session's coordination (the state of its coordinator actor, see `coordinator.ts`): which roles joined and
 * ended, their results and traces (how the session begins, aborts and ends: `coordinationJoin.ts`, `sessionJoin.ts`,
 * `sessionAbort.ts`, `sessionEnd.ts`).
 */
import type { Choreography as C, Diagram } from "@troupe/choreography"
import { Cause, type Deferred, Effect, type Fiber, Scope } from "effect"
import type { ActorRef } from "../../ActorRef.ts"
import { internal } from "../../ActorSystem.ts"
import type { ActorContext, Behavior } from "../../Behavior.ts"
import { localCell, type SystemImpl } from "../../internal/system.ts"
import type * as Protocol from "../../Protocol.ts"
import * as Terminated from "../../Terminated.ts"
import * as CoordinationJoin from "./coordinationJoin.ts"
import * as DurableJoin from "./durableJoin.ts"
import * as RoleFlags from "./roleFlags.ts"
import * as SessionAbort from "./sessionAbort.ts"
import type { Admission } from "./sessionAdmission.ts"
import { onStop, settle, unread } from "./sessionEnd.ts"
import type { AbortCause, SessionAborted } from "./sessionErrors.ts"
import * as SessionJoin from "./sessionJoin.ts"
import type { CoordinatorDefinition, CoordinatorProtocol, ParticipantProtocol } from "./sessionProtocols.ts"

type Choreography = C.Protocol
type TraceEvent = Diagram.TraceEvent

/** What a role sent to and received from each peer. */
interface Counts {
  readonly sent: Readonly<Record<string, number>>
  readonly received: Readonly<Record<string, number>> | undefined
}

/** A session that completed: every role's result, and the trace. */
export interface Completed<Results> {
  readonly session: string
  readonly protocol: string
  /** What each role's program returned. */
  readonly results: Results
  /** What happened, in an order that respects every role's order and puts each receive after its send. */
  readonly trace: ReadonlyArray<TraceEvent>
}

/** How a coordinator runs its session. */
export interface Settings {
  readonly id: string
  readonly roles: Readonly<Record<string, ActorRef<ParticipantProtocol>>>
  /** Each role's step deadline, if it has one. */
  readonly stepTimeoutMillis: Readonly<Record<string, number | undefined>>
  readonly traceLimit: number
  readonly outcome: Deferred.Deferred<Completed<Record<string, unknown>>, SessionAborted>
  /** A durable session: where it is stored, how long a node may be gone, and what a restart found. */
  readonly durable?: DurableJoin.Durability | undefined
  /** The ref roles report to, when it is not the coordinator's own (a sharded coordinator's cluster ref). */
  readonly self?: ActorRef<CoordinatorProtocol> | undefined
  /** The admission that let the session join (see `sessionAdmission.ts`): it is told when the join is done. */
  readonly admission?: Admission | undefined
}

export type Ctx = ActorContext<CoordinatorProtocol>

/** What roles that ended left, and why the session was aborted: made at the first end (a live session keeps none). */
class Ending {
  cause: AbortCause | undefined = undefined
  origin: string | undefined = undefined
  results: Record<string, unknown> | undefined = undefined
  traces: Array<ReadonlyArray<TraceEvent> | undefined> | undefined = undefined
  counts: Array<Counts | undefined> | undefined = undefined
  told = false
}

/** The handlers of a coordinator (made once per protocol, see `coordinator.ts`). */
export type Handlers = Pick<Behavior<CoordinatorProtocol, Coordination>, "protocol" | "receive" | "onTerminated">

/**
 * The state of one session's coordinator, and its handlers' work; also its behaviour: the protocol's shared
 * handlers, and an `init` made when it is read (see `coordinator.ts`), so that a live session keeps one object.
 *
 * @example
 * // the coordinator's init: new Coordination(choreography, settings, handlers).start(ctx)
 */
export class Coordination implements Behavior<CoordinatorProtocol, Coordination> {
  phase: "joining" | "running" | "aborting" | "ended" = "joining"
  /** The roles that ended, and those that joined, by index. */
  private endedRoles: RoleFlags.RoleFlags = RoleFlags.none
  joinedRoles: RoleFlags.RoleFlags = RoleFlags.none
  /** The roles a lease cannot reach now, by index (see `reach`). */
  unreachableRoles: RoleFlags.RoleFlags = RoleFlags.none
  private ending: Ending | undefined = undefined
  readonly choreography: Choreography
  readonly settings: Settings
  private readonly handlers: Handlers

  /** A durable session that began (every role joined): roles that join again resume. */
  begun = false
  /** The coordinator's system (set when it starts). */
  system: SystemImpl | undefined = undefined
  /**
   * The join while it runs (see `start`): the fiber asking the roles, or (all roles on this node) what cancels each
   * role's question still unanswered.
   */
  joining: Fiber.Fiber<void> | Array<Effect.Effect<void> | undefined> | undefined = undefined
  /** The admission whose place the session holds while its roles have not all answered (see `leaveJoining`). */
  private admission: Admission | undefined

  constructor(choreography: Choreography, settings: Settings, handlers: Handlers) {
    this.choreography = choreography
    this.settings = settings
    this.handlers = handlers
    this.admission = settings.admission
    const recovered = settings.durable?.recovered
    if (recovered !== undefined) {
      this.begun = recovered.begun
      for (const [role, { result, trace }] of recovered.results) {
        ;(this.results ??= {})[role] = result
        this.endedRoles = RoleFlags.add(this.endedRoles, this.roles.indexOf(role))
        this.joinedRoles = RoleFlags.add(this.joinedRoles, this.roles.indexOf(role))
        this.traceOf(role, trace as ReadonlyArray<TraceEvent>)
      }
    }
  }

  // The behaviour (see `coordinator.ts`)
  readonly initial = undefined
  readonly supervision = undefined
  get protocol(): CoordinatorProtocol {
    return this.handlers.protocol
  }
  get receive(): Handlers["receive"] {
    return this.handlers.receive
  }
  get onTerminated(): Handlers["onTerminated"] {
    return this.handlers.onTerminated
  }
  get init(): (ctx: Ctx) => Effect.Effect<Coordination, unknown, Scope.Scope> {
    return (ctx) => this.start(ctx)
  }

  get roles(): ReadonlyArray<string> {
    return this.choreography.roles
  }

  private endingOf(): Ending {
    return (this.ending ??= new Ending())
  }

  /** Why the session was aborted, once it was. */
  get cause(): AbortCause | undefined {
    return this.ending?.cause
  }
  set cause(cause: AbortCause | undefined) {
    this.endingOf().cause = cause
  }

  /** The role whose report aborted the session, if one did. */
  get origin(): string | undefined {
    return this.ending?.origin
  }
  set origin(role: string | undefined) {
    this.endingOf().origin = role
  }

  /**
   * Whether the roles may be told of the abort: at once in a session that is not durable, once the abort is stored in
   * a durable one (see `SessionAbort.abort`).
   */
  get abortTold(): boolean {
    return this.ending?.told === true
  }
  set abortTold(told: boolean) {
    this.endingOf().told = told
  }

  /** Each completed role's result. */
  get results(): Record<string, unknown> | undefined {
    return this.ending?.results
  }
  set results(results: Record<string, unknown> | undefined) {
    this.endingOf().results = results
  }

  /** Each role's trace, by the role's index, once it ended. */
  get traces(): Array<ReadonlyArray<TraceEvent> | undefined> | undefined {
    return this.ending?.traces
  }
  set traces(traces: Array<ReadonlyArray<TraceEvent> | undefined> | undefined) {
    this.endingOf().traces = traces
  }

  /** What each role that completed sent to and received from each peer (see `unread` in `sessionEnd.ts`). */
  get counts(): Array<Counts | undefined> | undefined {
    return this.ending?.counts
  }
  set counts(counts: Array<Counts | undefined> | undefined) {
    this.endingOf().counts = counts
  }

  /** Whether every role has ended. */
  allEnded(): boolean {
    return RoleFlags.size(this.endedRoles) === this.roles.length
  }

  /** Whether `role` has ended (completed, left or was counted out). */
  hasEnded(role: string): boolean {
    return RoleFlags.has(this.endedRoles, this.roles.indexOf(role))
  }

  get id(): string {
    return this.settings.id
  }

  /**
   * The participant of `role`. In a durable session, a ref to its node's current incarnation (a ref to an
   * actor of another node stands for one incarnation of that node, and the node may have restarted).
   */
  ref(role: string): ActorRef<ParticipantProtocol> {
    const bound = this.settings.roles[role]!
    const system = this.system
    if (this.settings.durable === undefined || system === undefined || bound.node === system.node) return bound
    return system.remoteRef(bound.node, bound.path, bound.protocol) ?? bound
  }

  /** Whether anyone listens to the system's events (an event nobody receives is not made). */
  observed(): boolean {
    return this.system !== undefined && this.system.events.subscribers.size > 0
  }

  /** The Join message of `role` (in a durable session: with the deadline, and whether the session began). */
  joinMessage(ctx: Ctx, role: string, resendTo?: string) {
    return CoordinationJoin.joinMessage(this, ctx, role, resendTo)
  }

  /**
   * Whether the lease reaches `role` now: the Joins to the other roles say which roles it does not, and their step
   * deadlines do not count meanwhile (see `Join.durable.lease`).
   */
  reach(role: string, reachable: boolean): void {
    const i = this.roles.indexOf(role)
    this.unreachableRoles = reachable
      ? RoleFlags.remove(this.unreachableRoles, i)
      : RoleFlags.add(this.unreachableRoles, i)
  }

  /**
   * Every role answered its Join (or the session ended, or its coordinator never started): the session's place among
   * those joining goes to the next in line. Only the first call counts.
   */
  leaveJoining(): void {
    const admission = this.admission
    if (admission === undefined) return
    this.admission = undefined
    admission.release()
  }

  /** The session holds a place among those joining (taken by its coordinator, see `DurableAdmission.admitted`). */
  holdJoining(admission: Admission): void {
    this.admission = admission
  }

  /** Aborts the session (a message to the coordinator itself): `role` could not be joined. */
  abortBy(ctx: Ctx, role: string, cause: AbortCause) {
    return ctx.self.tell({ _tag: "Abort", session: this.id, role, cause, trace: [] })
  }

  /** A role's end: its result (if it completed) and its trace. */
  end(role: string, trace: ReadonlyArray<TraceEvent> | undefined): void {
    if (!this.roles.includes(role) || this.hasEnded(role)) return
    this.endedRoles = RoleFlags.add(this.endedRoles, this.roles.indexOf(role))
    if (trace !== undefined) this.traceOf(role, trace)
  }

  private traceOf(role: string, trace: ReadonlyArray<TraceEvent>): void {
    ;(this.traces ??= new Array(this.roles.length))[this.roles.indexOf(role)] = trace
  }

  done(ctx: Ctx, m: Protocol.MessageOf<CoordinatorDefinition, "Done">): Effect.Effect<Coordination> {
    const { role } = m
    if (this.roles.includes(role) && !this.hasEnded(role)) {
      ;(this.results ??= {})[role] = m.result
      ;(this.counts ??= new Array(this.roles.length))[this.roles.indexOf(role)] = {
        sent: m.sent ?? {},
        received: m.received
      }
    }
    this.end(role, m.trace)
    const left = this.phase === "running" && this.allEnded() ? unread(this) : undefined
    return left === undefined ? settle(this, ctx) : SessionAbort.abort(this, ctx, left.role, left)
  }

  left(ctx: Ctx, role: string, trace: ReadonlyArray<TraceEvent>): Effect.Effect<Coordination> {
    // A role leaves a session its coordinator aborts. A Left while a durable session runs answers an abort by an
    // earlier incarnation of its coordinator whose end was not stored (its runner stopped first, or the write
    // failed): the role no longer holds the session and has no result; it is joined again (the lease, or the join
    // under way) and resumes from the log. Counted as ended, it completed the session without its result.
    if (this.settings.durable !== undefined && (this.phase === "joining" || this.phase === "running"))
      return Effect.succeed(this)
    this.end(role, trace)
    return settle(this, ctx)
  }

  /**
   * The node of `role` lost its link to `node` (see `Relink`): in a durable session that runs, `role` and the
   * roles on `node` send each other again what they sent, once the link is back (see `DurableJoin.relinked`).
   */
  relink(ctx: Ctx, role: string, node: string): Effect.Effect<Coordination> {
    const runs = this.phase === "joining" || this.phase === "running"
    if (this.settings.durable === undefined || !runs || !this.roles.includes(role) || this.hasEnded(role))
      return Effect.succeed(this)
    return Effect.as(DurableJoin.relinked(this, ctx, role, node), this)
  }

  terminated(ctx: Ctx, terminated: Terminated.Terminated): Effect.Effect<Coordination> {
    const ref = terminated.ref
    const role = this.roles.find((r) => {
      const bound = this.settings.roles[r]!
      return bound === ref || (bound.path === ref.path && bound.node === ref.node)
    })
    if (role === undefined || this.hasEnded(role)) return Effect.succeed(this)
    // a durable session waits for the role to be back (its node restarting, say), until the deadline
    if (this.settings.durable !== undefined && this.phase === "running") {
      return Effect.as(ctx.fork(SessionJoin.joinOne(this, ctx, role)), this)
    }
    const reason = terminated.reason
    const cause =
      reason instanceof Terminated.Failed
        ? SessionAbort.stopped(this, role, "failed", Cause.pretty(reason.cause))
        : reason instanceof Terminated.NodeDown
          ? SessionAbort.stopped(this, role, "node-down", Terminated.describeNodeDown(reason, ctx.system.node))
          : SessionAbort.stopped(this, role, "stopped")
    return SessionAbort.abort(this, ctx, role, cause)
  }

  /** Starts the session (the coordinator's `init`): watches the roles and asks them to join. */
  start(ctx: Ctx): Effect.Effect<Coordination, unknown, Scope.Scope> {
    const self = this
    const settings = this.settings
    this.system = internal(ctx.system)
    return Effect.gen(function* () {
      // a durable session watches its roles once they joined (roles being restarted are not gone yet); the
      // participants of this node tell the coordinator when they terminate (see the participant's `terminated`)
      if (settings.durable === undefined) {
        for (const role of self.roles) {
          const ref = settings.roles[role]!
          if (localCell(ref)?.isTerminated !== false) yield* ctx.watch(ref as ActorRef<Protocol.Any>)
        }
      }
      // (the scope's own finalizer: `Effect.addFinalizer` wraps it in closures that a live session would keep)
      yield* Scope.addFinalizerExit(ctx.scope, onStop(self, ctx.self))
      yield* CoordinationJoin.startJoin(self, ctx)
      // started again after every role had completed (before the end was stored): end it now
      if (RoleFlags.size(self.endedRoles) === self.roles.length) yield* ctx.self.tell({ _tag: "Expire" })
      return self
    })
  }
}
