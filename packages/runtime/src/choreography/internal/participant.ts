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
 * `receive` and `once`) and goes on live where the log ends.
 */
import { Choreography as C, Endpoint, type StateMachine as Machines, Monitor } from "@troupe/choreography"
import { Cause, Effect, Exit, Fiber, Option, type Scope, Context as Services, type Tracer } from "effect"
import type { ActorRef, InvalidMessage } from "../../ActorRef.ts"
import { internal } from "../../ActorSystem.ts"
import type { ActorContext, Behavior } from "../../Behavior.ts"
import * as Behaviors from "../../Behavior.ts"
import type { ClusterUnavailable } from "../../cluster/ClusterUnavailable.ts"
import { DurableRole } from "../../durable/internal/durableRole.ts"
import { sessionStore } from "../../durable/internal/sessionStore.ts"
import { Storage, internal as storageInternal } from "../../durable/Storage.ts"
import type { ActorCell } from "../../internal/cell.ts"
import type { Deadline } from "../../internal/deadlines.ts"
import { Deque } from "../../internal/deque.ts"
import { localCell, type SystemImpl } from "../../internal/system.ts"
import type { MailboxFull } from "../../Mailbox.ts"
import type * as Protocol from "../../Protocol.ts"
import type { Terminated } from "../../Terminated.ts"
import { SessionCrashed, SessionNote, SessionResumed, SessionStep, SessionViolation } from "../SessionEvent.ts"
import { CurrentRole } from "./currentRole.ts"
import { Recorder } from "./roleTrace.ts"
import {
  type AbortCause,
  leftover,
  ParticipantFailed,
  ParticipantStopped,
  SessionCancelled,
  SessionNodeLost,
  StepTimeout
} from "./sessionErrors.ts"
import { type CoordinatorProtocol, type ParticipantProtocol, protocolsOf } from "./sessionProtocols.ts"

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

/** The participants of a node's actor system, by actor path (for inspectors). */
export const participantsOf = (system: SystemImpl): ReadonlyMap<string, Participant> =>
  system.extension(tableKey, () => new Map<string, Participant>())

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
      Abort: (p, m) => p.aborted(m.session, m.cause),
      CoordinatorDown: (p, m) => p.coordinatorDown(m.session),
      Crash: (p) => p.crash(),
      Resume: (p) => p.resume()
    }
  })
}

/** One participant actor: its sessions, kept in the node's table so that they outlive a restart. */
export class Participant {
  readonly sessions = new Map<string, RoleSession>()
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
  private crashing = false

  private constructor(spec: Spec, ctx: ActorContext<ParticipantProtocol>) {
    this.spec = spec
    this.ctx = ctx
    this.self = ctx.self
    this.system = internal(ctx.system)
    this.same = Exit.succeed(this)
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
        if (session.durable !== undefined) return this.resumeDurable(session)
        return this.spec.restartable
          ? this.start(session, true)
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

  join(m: Join, ctx: ActorContext<ParticipantProtocol>): Effect.Effect<Behaviors.Reply<Participant, void>, unknown> {
    const reply = Exit.succeed({ state: this as Participant, reply: undefined })
    const known = this.sessions.get(m.session)
    const watch = ctx.watchWith(m.coordinator, { _tag: "CoordinatorDown", session: m.session })
    if (known !== undefined) {
      if (m.durable === undefined || known.durable === undefined) return reply
      // a durable session's coordinator came back (or is new): follow it, and the peers where they are now (a
      // node that restarted is a new incarnation); a peer resumed: send it again what it was sent
      known.coordinator = m.coordinator as ActorRef<CoordinatorProtocol>
      known.rebind(m.roles)
      known.durable.coordinatorGone?.()
      known.durable.coordinatorGone = undefined
      const resend = m.durable.resendTo === undefined ? Effect.void : known.resend(m.durable.resendTo)
      const begin = m.durable.begun && !known.begun ? this.begin(m.session) : Effect.void
      return Effect.andThen(Effect.andThen(Effect.andThen(watch, resend), begin), reply)
    }
    if (m.durable === undefined) {
      const coordinator = localCell(m.coordinator)
      // A coordinator of this node tells its roles itself when it stops before its session ends (see the
      // coordinator's `start`): no death watch, whose entries a live session would keep on both actors.
      if (coordinator?.isTerminated) return reply
      this.sessions.set(m.session, new RoleSession(this, m))
      return coordinator === undefined ? Effect.andThen(watch, reply) : reply
    }
    return Effect.andThen(Effect.andThen(this.joinDurable(m, m.durable), watch), reply)
  }

  /**
   * Joins a durable session: a new one, or (after this node restarted) one whose log holds this role's past,
   * which the role's program replays before it goes on live.
   */
  private joinDurable(m: Join, durable: NonNullable<Join["durable"]>): Effect.Effect<void, unknown> {
    const self = this
    return Effect.gen(function* () {
      const storage = yield* Effect.serviceOption(Storage)
      if (Option.isNone(storage)) {
        return yield* Effect.die(
          new Error(
            `${self.self.path} joined the durable session ${m.session} with no Storage: provide one (Storage.layerSqlite or Storage.layerPostgres) where it is spawned`
          )
        )
      }
      const { sql, writer, failed } = storageInternal(storage.value)
      const store = sessionStore(sql, writer, failed)
      // (a role that had completed replays to its end and reports the same result again)
      const log = yield* store.role(m.session, self.spec.role)
      const session = new RoleSession(self, m)
      session.durable = new DurableRole({
        store,
        choreography: self.spec.choreography,
        session: m.session,
        role: self.spec.role,
        deadlineMillis: durable.deadlineMillis,
        system: self.system,
        log
      })
      session.preload(session.durable.inbound(log))
      self.sessions.set(m.session, session)
      if (!durable.begun) return
      session.begun = true
      yield* self.start(session, log.sent.size > 0 || log.onces.length > 0 || log.inbound.size > 0)
    })
  }

  /** A durable session's role after its actor restarted: its program replays the log from the start. */
  private resumeDurable(session: RoleSession): Effect.Effect<void> {
    const durable = session.durable!
    return durable.store.role(session.id, this.spec.role).pipe(
      Effect.flatMap((log) =>
        Effect.suspend(() => {
          session.preload(durable.inbound(log))
          return this.start(session, true)
        })
      ),
      Effect.catchCause((cause) =>
        session.abort(new ParticipantFailed({ ...session.names(), cause: Cause.pretty(cause) }), "report", false)
      )
    )
  }

  begin(id: string): Effect.Effect<Participant> {
    const session = this.sessions.get(id)
    if (session === undefined || session.begun) return this.same
    session.begun = true
    return Effect.as(this.start(session, false), this)
  }

  /** Starts (or, after a restart, resumes) the role's program for a session in a fiber of the actor. */
  private start(session: RoleSession, resumed: boolean): Effect.Effect<void> {
    const spec = this.spec
    if (resumed) session.resumed()
    session.running = true
    session.rewind()
    const endpoint = Endpoint.untyped(session.monitor, session)
    const context = new RoleContext(session, resumed)
    let program = Effect.suspend(() => spec.program(endpoint, context))
    if (this.system.tracing) {
      const run = program
      program = Effect.withSpan(
        Effect.flatMap(Effect.option(Effect.currentSpan), (span) => {
          session.span = Option.getOrUndefined(span)
          return run
        }),
        `session ${spec.choreography.name}/${session.role}`,
        {
          attributes: {
            "session.id": session.id,
            "session.protocol": spec.choreography.name,
            "session.role": session.role,
            "session.resumed": resumed,
            "actor.path": this.self.path
          }
        }
      )
    }
    const scope = this.ctx.scope
    if (scope.state._tag === "Closed") return Effect.void // the actor is stopping
    // not in the actor's scope, which would keep a finalizer per program: see `interruptPrograms`
    return Effect.map(
      Effect.forkDetach(Effect.onExit(program, (exit) => this.finished(session, exit, scope))),
      (fiber) => {
        // The program's fiber knows the role it plays (see `CurrentRole`), set before it starts: providing it
        // around the program would cost a live session about 600 bytes more per role.
        fiber.setContext(Services.add(fiber.context, CurrentRole, context) as Services.Context<never>)
        if (session.running) session.fiber = fiber
      }
    )
  }

  /** The program of a session ended: report the role's result, or abort, or crash to be restarted. */
  private finished(session: RoleSession, exit: Exit.Exit<unknown, unknown>, scope: Scope.Scope): Effect.Effect<void> {
    session.running = false
    session.fiber = undefined
    if (session.ended) return Effect.void
    if (Exit.isSuccess(exit)) {
      const end = Monitor.close(session.monitor, session.state)
      if (Monitor.isViolation(end)) return session.violated(end)
      const unread = session.unread()
      if (unread !== undefined) return session.violated(unread)
      // A program that ends with its last move returns that move's endpoint: its result is nothing.
      return session.complete(Endpoint.isEndpoint(exit.value) ? undefined : exit.value)
    }
    const cause = exit.cause
    if (Cause.hasInterruptsOnly(cause) && scope.state._tag === "Closed") {
      // The actor is stopping (the coordinator's death watch sees it) or restarting (see `restarted`).
      return Effect.void
    }
    const log = Effect.logError("Role program failed", cause).pipe(
      Effect.annotateLogs({ actor: this.self.path, session: session.id, role: session.role })
    )
    if (this.spec.restartable) {
      session.crashed(cause)
      if (this.crashing) return log
      this.crashing = true
      const self = this.self
      return Effect.andThen(
        log,
        Effect.andThen(
          self.tell({ _tag: "Crash", session: session.id }),
          self.tell({ _tag: "Resume", session: session.id })
        )
      ).pipe(Effect.catchCause((c) => Effect.logError("Could not crash the participant", c)))
    }
    const failed = new ParticipantFailed({ ...session.names(), cause: Cause.pretty(cause) })
    return Effect.andThen(log, session.abort(failed, "report", false))
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

  aborted(id: string, cause: AbortCause): Effect.Effect<Participant> {
    const session = this.sessions.get(id)
    return session === undefined ? this.same : Effect.as(session.abort(cause, "leave", true), this)
  }

  coordinatorDown(id: string): Effect.Effect<Participant> {
    const session = this.sessions.get(id)
    if (session === undefined) return this.same
    if (session.durable !== undefined) return Effect.as(session.awaitCoordinator(), this)
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
      Effect.forEach(resumable, (s) => this.start(s, true), { discard: true }),
      this
    )
  }
}

/**
 * What a role's program gets besides its endpoint, and what its fiber knows of the role (`CurrentRole`): one
 * object per run of the program, whose functions are made when they are read (a live session keeps none).
 */
class RoleContext implements Context, CurrentRole {
  readonly session: string
  readonly protocol: string
  readonly role: string
  readonly path: string
  readonly member: Context["member"]
  readonly resumed: boolean
  readonly actor: ActorContext<ParticipantProtocol>
  private readonly of: RoleSession

  constructor(of: RoleSession, resumed: boolean) {
    this.of = of
    this.session = of.id
    this.protocol = of.monitor.protocol
    this.role = of.role
    this.path = of.participant.self.path
    this.member = of.member()
    this.resumed = resumed
    this.actor = of.participant.ctx
  }

  get once(): Context["once"] {
    const of = this.of
    return (effect) => of.once(effect)
  }

  get note(): CurrentRole["note"] {
    const of = this.of
    return (text) => of.note(text)
  }
}

/** A move recorded in a restartable role's checkpoint. */
type LogEntry =
  | { readonly _tag: "send"; readonly to: string; readonly label: string }
  | { readonly _tag: "receive"; readonly message: Endpoint.Incoming }
  | { readonly _tag: "once"; readonly value: unknown }

/** What a role knows of one peer: the last message numbers each way, and the messages not yet taken. */
interface Peer {
  readonly role: string
  ref: ActorRef<Protocol.Any>
  /** The peer's actor when it lives in this process: session messages go straight into its mailbox. */
  cell: ActorCell | undefined
  sent: number
  received: number
  readonly inbox: Deque<Endpoint.Incoming>
}

/**
 * A role's peers: a list (a `Map` costs about 200 bytes even when it is small), indexed by a `Map` only in
 * sessions with many roles.
 */
class Peers {
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

interface Waiting {
  readonly from: string
  readonly state: number
  readonly resume: (effect: Effect.Effect<Endpoint.Incoming, Failure>) => void
  deadline: Deadline | undefined
  /** A message for it arrived; the program is woken in a moment. */
  woken: boolean
}

/** The instance of a protocol with families for a session's sizes (`undefined` for sizes that do not fit it). */
const instanceOf = (choreography: Choreography, sizes: Readonly<Record<string, number>>): Choreography | undefined => {
  const made = C.instantiateSync(choreography, sizes)
  return made._tag === "Protocol" ? made : undefined
}

/** One session as one participant sees it; it is the port of the role's endpoint. */
export class RoleSession implements Endpoint.Port<Failure> {
  readonly id: string
  readonly monitor: Monitor.Monitor
  readonly participant: Participant
  readonly role: string
  coordinator: ActorRef<CoordinatorProtocol>
  readonly stepTimeoutMillis: number | undefined
  /** In a durable session: the role's log in storage. */
  durable: DurableRole | undefined = undefined
  /** The role's state after its last move. */
  state: number
  begun = false
  running = false
  ended = false
  fiber: Fiber.Fiber<unknown, unknown> | undefined
  span: Tracer.Span | undefined
  /** The failure of a restartable role's program, until the actor crashes with it. */
  crash: Cause.Cause<unknown> | undefined
  private waiting: Waiting | undefined
  private readonly peers: Peers
  private readonly trace: Recorder
  /** Who listens to the system's events: steps are published only when someone does. */
  private readonly subscribers: ReadonlyMap<unknown, unknown>
  /** A restartable role's checkpoint, and how far a resumed program has replayed it. */
  private readonly log: Array<LogEntry> | undefined
  private cursor = 0
  /** Whether the last message the program received came from the checkpoint (it is not a new step). */
  private replayed = false

  constructor(participant: Participant, join: Join) {
    this.participant = participant
    this.id = join.session
    // In a session of a protocol with families, the role is one member's (or a single role of the instance).
    const instance = join.sizes === undefined ? undefined : instanceOf(participant.spec.choreography, join.sizes)
    this.role = instance === undefined ? participant.spec.role : (join.member ?? participant.spec.role)
    const machine = instance?.machines.get(this.role) ?? participant.spec.machine
    this.monitor = Monitor.fromMachine(machine, join.session)
    this.state = this.monitor.start
    this.coordinator = join.coordinator as ActorRef<CoordinatorProtocol>
    this.stepTimeoutMillis = join.stepTimeoutMillis
    this.trace = new Recorder(this.role, join.traceLimit)
    this.subscribers = participant.system.events.subscribers
    // (an array made by `map` is no longer than it needs to be; one grown by `push` has room for 17)
    const peers = (instance ?? participant.spec.choreography).roles.filter((role) => role !== this.role)
    this.peers = new Peers(
      peers.map((role) => {
        const ref = join.roles[role]!
        return { role, ref, cell: localCell(ref), sent: 0, received: 0, inbox: new Deque<Endpoint.Incoming>(1) }
      })
    )
    // a durable session's role resumes from the log in storage instead
    this.log = participant.spec.restartable && join.durable === undefined ? [] : undefined
  }

  names() {
    return { protocol: this.monitor.protocol, session: this.id, role: this.role }
  }

  /**
   * A message sent to the role that it never took, now that its program ended: a violation naming it (a
   * session completes only when every message sent was received).
   */
  unread(): Monitor.ProtocolViolation | undefined {
    for (const peer of this.peers) {
      const message = peer.inbox.shift()
      if (message === undefined) continue
      const seq = peer.received - peer.inbox.length
      return leftover(this.monitor.protocol, this.id, this.role, this.state, peer.role, message.label, seq)
    }
    return undefined
  }

  /** The peer the program waits for a message from, if it waits. */
  get waitingFor(): string | undefined {
    return this.waiting?.from
  }

  /** The member of a family this role is, if it is one. */
  member(): Context["member"] {
    const families = this.monitor.machine.families
    const member = families === undefined ? undefined : /^(.*)\[(\d+)\]$/.exec(this.role)
    const size = member === null || member === undefined ? undefined : families?.[member[1]!]
    return size === undefined ? undefined : { family: member![1]!, index: Number(member![2]), size }
  }

  /** The program of this restartable role failed: recorded and published, until the actor crashes with it. */
  crashed(cause: Cause.Cause<unknown>): void {
    this.crash = cause
    const reason = summarise(cause)
    this.trace.crashed(this.state, reason)
    this.participant.system.publish(new SessionCrashed({ ...this.names(), state: this.state, cause: reason }))
  }

  /** The program resumes from the checkpoint, at the state where it was. */
  resumed(): void {
    this.trace.resumed(this.state)
    this.participant.system.publish(new SessionResumed({ ...this.names(), state: this.state }))
  }

  /** Something worth seeing happened at this role: into its trace, and onto the event stream. */
  note(text: string): void {
    if (this.ended) return
    this.trace.note(text)
    this.participant.system.publish(new SessionNote({ ...this.names(), text }))
  }

  /** Before the program runs again after a restart: replay the checkpoint from the start. */
  rewind(): void {
    this.cursor = 0
    this.state = this.monitor.start
    if (this.durable !== undefined) {
      // a durable role sends again from message 1: what the log holds is not written twice, and peers drop
      // what they had (by number)
      this.durable.rewind()
      for (const peer of this.peers) peer.sent = 0
    }
  }

  /** A durable role resumes: the messages the log holds for it go first, then those that arrive. */
  preload(inbound: ReadonlyMap<string, ReadonlyArray<Deliver>>): void {
    for (const [from, messages] of inbound) {
      const peer = this.peers.get(from)
      const last = messages.at(-1)
      if (peer === undefined || last === undefined) continue
      const later = [...peer.inbox.drain()].filter((m) => (m as Deliver).seq > last.seq)
      for (const m of messages) peer.inbox.push(m)
      for (const m of later) peer.inbox.push(m)
      peer.received = Math.max(peer.received, last.seq)
    }
  }

  /** The peers' participants as a durable session's coordinator sees them now. */
  rebind(roles: Readonly<Record<string, ActorRef<Protocol.Any>>>): void {
    for (const peer of this.peers) {
      const ref = roles[peer.role]
      if (ref === undefined || ref === peer.ref) continue
      peer.ref = ref
      peer.cell = localCell(ref)
    }
  }

  /** Sends again to `to` (which resumed from the log) every message this role sent it; it drops what it has. */
  resend(to: string): Effect.Effect<void> {
    const peer = this.peers.get(to)
    if (peer === undefined || this.durable === undefined) return Effect.void
    return Effect.forEach(this.durable.resend(to, 0), (m) => peer.ref.tell(m as never).pipe(Effect.ignore), {
      discard: true
    })
  }

  /** The coordinator of a durable session is gone: wait for it (it joins again) until the deadline. */
  awaitCoordinator(): Effect.Effect<void> {
    const durable = this.durable!
    if (durable.coordinatorGone !== undefined || this.ended) return Effect.void
    const deadlines = this.participant.system.deadlines
    const since = deadlines.now()
    const deadline = deadlines.schedule(since + durable.deadlineMillis, () => {
      durable.coordinatorGone = undefined
      const lost = new SessionNodeLost({
        ...this.names(),
        role: "coordinator",
        node: this.coordinator.node,
        waitedMillis: deadlines.now() - since
      })
      this.participant.system.runBackground(this.abort(lost, "silent", true))
    })
    durable.coordinatorGone = () => deadlines.cancel(deadline)
    return Effect.void
  }

  // ---------------------------------------------------------------------------------------------------
  // Messages from peers (in the actor's handler)
  // ---------------------------------------------------------------------------------------------------

  /** A session message arrived; answers an effect only when it is refused (the session is then aborted). */
  deliver(message: Deliver): Effect.Effect<void> | undefined {
    const { from, label, seq } = message
    const peer = this.peers.get(from)
    const last = peer?.received ?? 0
    if (peer !== undefined && seq <= last) return undefined // sent again by a peer that resumed after a restart
    if (peer === undefined || seq !== last + 1 || !Monitor.mayReceive(this.monitor, from, label)) {
      this.trace.received(message)
      const refused =
        seq === last + 1 ? Monitor.receive(this.monitor, this.state, from, label, message.payload) : undefined
      return this.refuse(
        refused !== undefined && Monitor.isViolation(refused)
          ? refused
          : Monitor.outOfSequence(
              this.monitor,
              this.state,
              from,
              label,
              `message ${seq} from ${from}, expected ${last + 1}`
            )
      )
    }
    peer.received = seq
    peer.inbox.push(message)
    const waiting = this.waiting
    if (waiting !== undefined && waiting.from === from && !waiting.woken) {
      // Wake the program once the actor has taken the messages at hand (resuming it here would run it
      // now, one message at a time, inside this handler).
      waiting.woken = true
      this.cancelDeadline(waiting)
      queueMicrotask(() => this.wake(waiting))
    }
    return undefined
  }

  private wake(waiting: Waiting): void {
    if (this.waiting !== waiting) return
    this.waiting = undefined
    const message = this.peers.get(waiting.from)!.inbox.shift()!
    this.consumed(message)
    waiting.resume(Exit.succeed(message))
  }

  // ---------------------------------------------------------------------------------------------------
  // The port (called by the endpoint, in the program's fiber)
  // ---------------------------------------------------------------------------------------------------

  send(
    to: string,
    label: string,
    payload: unknown,
    next: number,
    fiber: Fiber.Fiber<unknown, unknown>
  ): Effect.Effect<void, Failure> {
    if (this.ended) return Effect.interrupt
    const log = this.log
    if (log !== undefined && this.cursor < log.length) {
      const entry = log[this.cursor]!
      if (entry._tag !== "send" || entry.to !== to || entry.label !== label) return this.diverged(`${to}!${label}`)
      this.cursor++
      this.state = next
      return Effect.void
    }
    const peer = this.peers.get(to)!
    const seq = peer.sent + 1
    const message = { _tag: "Deliver", session: this.id, seq, from: this.role, label, payload } as const
    // To a local participant, straight into its mailbox (what `tell` does, without a step of its own).
    const cell = peer.cell
    const tell = cell === undefined ? peer.ref.tell(message as never) : cell.tell(message, fiber)
    if (log === undefined) {
      this.didSend(peer, to, message, seq, next)
      this.durable?.sentTo(to, message)
      return tell
    }
    // In a restartable role the send counts once it has left: if the actor crashes in between, the
    // resumed program sends it again with the same number, and the receiver drops the duplicate.
    return Effect.map(tell, () => {
      this.didSend(peer, to, message, seq, next)
      log.push({ _tag: "send", to, label })
      this.cursor++
    })
  }

  private didSend(peer: Peer, to: string, message: Endpoint.Incoming, seq: number, next: number): void {
    peer.sent = seq
    this.state = next
    this.trace.sent(to, message)
    this.step("send", to, message.label, message.payload)
  }

  receive(from: string, state: number): Effect.Effect<Endpoint.Incoming, Failure> {
    if (this.ended) return Effect.interrupt
    const log = this.log
    if (log !== undefined && this.cursor < log.length) {
      const entry = log[this.cursor]!
      if (entry._tag !== "receive" || entry.message.from !== from) return this.diverged(`${from}?`)
      this.cursor++
      this.replayed = true
      return Exit.succeed(entry.message)
    }
    this.replayed = false
    const message = this.peers.get(from)!.inbox.shift()
    if (message !== undefined) {
      this.consumed(message)
      return Exit.succeed(message)
    }
    return Effect.callback<Endpoint.Incoming, Failure>((resume) => {
      const waiting: Waiting = { from, state, resume, deadline: undefined, woken: false }
      this.waiting = waiting
      const timeout = this.stepTimeoutMillis
      if (timeout !== undefined) {
        const deadlines = this.participant.system.deadlines
        waiting.deadline = deadlines.schedule(deadlines.now() + timeout, () => this.timedOut(waiting, timeout))
      }
      return Effect.sync(() => {
        if (this.waiting === waiting) this.stopWaiting(waiting)
      })
    })
  }

  /** A message leaves the queues for the program: it is in the trace, and in the checkpoint if any. */
  private consumed(message: Endpoint.Incoming): void {
    this.trace.received(message)
    if (this.log !== undefined) {
      this.log.push({ _tag: "receive", message })
      this.cursor++
    }
  }

  received(message: Endpoint.Incoming, next: number): void {
    this.state = next
    if (!this.replayed) this.step("receive", message.from, message.label, message.payload)
  }

  readonly close: Effect.Effect<void, Failure> = Effect.void

  violated(violation: Monitor.ProtocolViolation): Effect.Effect<void> {
    return this.refuse(violation, false)
  }

  once<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    // in a durable session, a result that cannot be committed fails the program (the session is aborted, typed)
    if (this.durable !== undefined) {
      return Effect.catchTag(this.durable.once(effect), "StorageUnavailable", Effect.die) as Effect.Effect<A, E, R>
    }
    return Effect.suspend(() => {
      const log = this.log
      if (log === undefined) return effect
      if (this.cursor < log.length) {
        const entry = log[this.cursor]!
        if (entry._tag !== "once") return this.diverged("once")
        this.cursor++
        return Exit.succeed(entry.value as A)
      }
      return Effect.map(effect, (value) => {
        log.push({ _tag: "once", value })
        this.cursor++
        return value
      })
    })
  }

  // ---------------------------------------------------------------------------------------------------
  // Ending
  // ---------------------------------------------------------------------------------------------------

  private stopWaiting(waiting: Waiting): void {
    this.waiting = undefined
    this.cancelDeadline(waiting)
  }

  private cancelDeadline(waiting: Waiting): void {
    if (waiting.deadline !== undefined) this.participant.system.deadlines.cancel(waiting.deadline)
    waiting.deadline = undefined
  }

  private timedOut(waiting: Waiting, timeout: number): void {
    if (this.waiting !== waiting || waiting.woken) return
    this.waiting = undefined
    const error = new StepTimeout({
      ...this.names(),
      state: waiting.state,
      expected: Monitor.expected(this.monitor, waiting.state),
      waitedMillis: timeout
    })
    this.trace.timedOut(error)
    this.participant.system.runBackground(this.abort(error, "report", false))
    waiting.resume(Effect.fail(error))
  }

  /** A violation at this role: recorded, published, and the session is aborted with it. */
  private refuse(violation: Monitor.ProtocolViolation, interrupt = true): Effect.Effect<void> {
    this.trace.violation(violation)
    this.participant.system.publish(new SessionViolation({ ...this.names(), violation }))
    return this.abort(violation, "report", interrupt)
  }

  /** The resumed program does not do what the checkpoint recorded: it cannot resume. */
  private diverged(move: string): Effect.Effect<never> {
    const entry = this.log![this.cursor]!
    const recorded =
      entry._tag === "send"
        ? `${entry.to}!${entry.label}`
        : entry._tag === "receive"
          ? `${entry.message.from}?${entry.message.label}`
          : "once"
    const cause = new ParticipantFailed({
      ...this.names(),
      cause: `could not resume from its checkpoint: the program did ${move} where the checkpoint has ${recorded}`
    })
    return Effect.andThen(this.abort(cause, "report", false), Effect.interrupt)
  }

  complete(result: unknown): Effect.Effect<void> {
    const remote = localCell(this.coordinator) === undefined
    const unsendable = remote ? notJson(result) : undefined
    const counts = this.counts()
    this.end()
    const trace = this.trace.events()
    // a result that cannot reach the coordinator fails the role (the session is aborted) instead of never arriving
    const cannotSend = (why: string) =>
      this.report({
        _tag: "Abort",
        session: this.id,
        role: this.role,
        cause: new ParticipantFailed({
          ...this.names(),
          cause: `its result cannot be sent to the session's coordinator (on node ${this.coordinator.node}): ${why}`
        }),
        trace
      })
    if (unsendable !== undefined) return cannotSend(unsendable)
    const report = this.coordinator
      .tell({ _tag: "Done", session: this.id, role: this.role, result, trace, ...counts })
      .pipe(Effect.catchCause((cause) => cannotSend(Cause.pretty(cause))))
    if (this.durable === undefined) return report
    // a durable role's result is committed (with everything it sent) before the coordinator counts it
    return Effect.matchCauseEffect(this.durable.done(result, trace), {
      onSuccess: () => report,
      onFailure: (cause) =>
        this.report({
          _tag: "Abort",
          session: this.id,
          role: this.role,
          cause: new ParticipantFailed({ ...this.names(), cause: Cause.pretty(cause) }),
          trace
        })
    })
  }

  /**
   * Leaves the session now: the role is done with it and its program is interrupted (unless it is the
   * caller). The answer tells the coordinator: the abort, or that the role left, or nothing if it is gone.
   */
  abort(cause: AbortCause, tell: "report" | "leave" | "silent", interrupt: boolean): Effect.Effect<void> {
    if (this.ended) return Effect.void
    this.end()
    if (interrupt) this.fiber?.interruptUnsafe()
    switch (tell) {
      case "report":
        return this.report({ _tag: "Abort", session: this.id, role: this.role, cause, trace: this.trace.events() })
      case "leave":
        return this.report({ _tag: "Left", session: this.id, role: this.role, trace: this.trace.events() })
      case "silent":
        return Effect.void
    }
  }

  /** How many messages the role sent to and received from each peer (so the coordinator sees one still on its way). */
  private counts(): { sent: Record<string, number>; received: Record<string, number> } {
    const sent: Record<string, number> = {}
    const received: Record<string, number> = {}
    for (const peer of this.peers) {
      if (peer.sent > 0) sent[peer.role] = peer.sent
      if (peer.received > 0) received[peer.role] = peer.received
    }
    return { sent, received }
  }

  private end(): void {
    this.ended = true
    this.participant.sessions.delete(this.id)
    // The coordinator's end no longer concerns this role: no notice of it is left to bounce off a stopped actor.
    const cell = localCell(this.participant.self)
    if (cell !== undefined && (this.durable !== undefined || localCell(this.coordinator) === undefined))
      this.participant.system.unwatchNow(cell, this.coordinator)
    if (this.waiting !== undefined) this.stopWaiting(this.waiting)
    this.peers.clear()
  }

  private report(message: Protocol.Message<CoordinatorProtocol>): Effect.Effect<void> {
    return this.coordinator
      .tell(message)
      .pipe(Effect.catchCause((cause) => Effect.logError("Could not report to the session's coordinator", cause)))
  }

  // ---------------------------------------------------------------------------------------------------
  // Observing
  // ---------------------------------------------------------------------------------------------------

  private step(direction: "send" | "receive", peer: string, label: string, payload: unknown): void {
    if (this.subscribers.size > 0)
      this.participant.system.publish(
        new SessionStep({ ...this.names(), direction, peer, label, state: this.state, payload })
      )
    this.span?.event(`${direction} ${peer} ${label}`, BigInt(this.participant.system.deadlines.now()) * 1_000_000n, {
      state: this.state
    })
  }
}

/** Why `value` cannot cross the wire as JSON, if it cannot (a bigint, a cycle). */
const notJson = (value: unknown): string | undefined => {
  if (value === undefined || value === null || typeof value === "string" || typeof value === "number") return undefined
  try {
    JSON.stringify(value)
    return undefined
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
}

/** The first line of a failure's message, for traces and events. */
const summarise = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  const message = error instanceof Error ? error.message : String(error)
  return message.split("\n")[0]!.slice(0, 200)
}
