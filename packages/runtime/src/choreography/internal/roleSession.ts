/**
 * One session as one participant sees it (`RoleSession`, the port of the role's endpoint): the role's monitor,
 * its peers (message numbers each way, messages not yet taken), its trace, its checkpoint or durable log, and
 * how it sends, receives, runs `once` effects and ends. Its flags and rare fields are in `roleSessionState.ts`; its
 * trace and events in `roleObserved.ts`; what
 * it knows of each peer in `rolePeers.ts`; how its program waits for a message in `roleWait.ts`; how its result is
 * reported in `roleResult.ts`; how it recovers what a lost node or link took (a durable role's log, peers that moved,
 * a lost link, a send the cluster could not carry yet) in `roleRecovery.ts`.
 */
import { Choreography as C, Endpoint, Monitor } from "@troupe/choreography"
import { Effect, Exit, type Fiber, type Scope } from "effect"
import type { ActorRef } from "../../ActorRef.ts"
import type { ActorContext } from "../../Behavior.ts"
import { localCell } from "../../internal/system.ts"
import type * as Protocol from "../../Protocol.ts"
import { SessionViolation } from "../SessionEvent.ts"
import type { CurrentRole } from "./currentRole.ts"
import * as DurableParticipant from "./durableParticipant.ts"
import type { Context, Failure, Participant } from "./participant.ts"
import { Checkpoint } from "./roleCheckpoint.ts"
import { RoleObserved } from "./roleObserved.ts"
import { inboxOf, indexOf, type Peer, peerIn } from "./rolePeers.ts"
import * as Recovery from "./roleRecovery.ts"
import { defaultTraceLimit } from "./roleSessionState.ts"
import { type Waiting, wait } from "./roleWait.ts"
import { type AbortCause, leftover, ParticipantFailed } from "./sessionErrors.ts"
import type { CoordinatorProtocol, ParticipantProtocol } from "./sessionProtocols.ts"

type Choreography = C.Protocol
type Join = Protocol.MessageOf<ParticipantProtocol["definition"], "Join">
type Deliver = Protocol.MessageOf<ParticipantProtocol["definition"], "Deliver">

const noPeers: ReadonlyArray<Peer> = []

/** The instance of a protocol with families for a session's sizes (`undefined` for sizes that do not fit it). */
const instanceOf = (choreography: Choreography, sizes: Readonly<Record<string, number>>): Choreography | undefined => {
  const made = C.instantiateSync(choreography, sizes)
  return made._tag === "Protocol" ? made : undefined
}

/**
 * One session as one participant sees it; it is the port of the role's endpoint, and what the run of its program
 * gets besides the endpoint (`Context`) and knows of the role it plays (`CurrentRole`): a run is one at a time.
 */
export class RoleSession extends RoleObserved implements Endpoint.Port<Failure>, Context, CurrentRole {
  readonly monitor: Monitor.Monitor
  readonly participant: Participant
  readonly role: string
  coordinator: ActorRef<CoordinatorProtocol>
  /** The role's state after its last move. */
  state: number
  fiber: Fiber.Fiber<unknown, unknown> | undefined
  /** The actor's scope when the program's run began (it is closed when the actor stops or restarts). */
  scope: Scope.Scope | undefined = undefined
  /** The program's wait for a message, while it waits (see `roleWait.ts`). */
  waiting: Waiting | undefined
  /** What the role knows of each peer (see `rolePeers.ts`, and `roleRecovery.ts` which reads it). */
  peers: ReadonlyArray<Peer>

  constructor(participant: Participant, join: Join) {
    super()
    this.participant = participant
    // In a session of a protocol with families, the role is one member's (or a single role of the instance).
    const instance = join.sizes === undefined ? undefined : instanceOf(participant.spec.choreography, join.sizes)
    this.role = instance === undefined ? participant.spec.role : (join.member ?? participant.spec.role)
    const machine = instance?.machines.get(this.role) ?? participant.spec.machine
    this.monitor = Monitor.fromMachine(machine, join.session)
    this.state = this.monitor.start
    this.coordinator = join.coordinator as ActorRef<CoordinatorProtocol>
    if (join.stepTimeoutMillis !== undefined) this.rareOnes().stepTimeoutMillis = join.stepTimeoutMillis
    if (join.traceLimit !== defaultTraceLimit) this.rareOnes().traceLimit = join.traceLimit
    // (an array made by `map` is no longer than it needs to be; one grown by `push` has room for 17)
    const peers = (instance ?? participant.spec.choreography).roles.filter((role) => role !== this.role)
    this.peers = peers.map((role) => {
      const ref = join.roles[role]!
      return { role, ref, cell: localCell(ref), sent: 0, received: 0, inbox: undefined }
    })
    const index = indexOf(this.peers)
    if (index !== undefined) this.rareOnes().peerIndex = index
    // a durable session's role resumes from the log in storage instead
    if (participant.spec.restartable && join.durable === undefined) this.rareOnes().checkpoint = new Checkpoint()
  }

  /** The peer playing `role`, while the role is in the session. */
  peer(role: string): Peer | undefined {
    return peerIn(this.peers, this.rare?.peerIndex, role)
  }

  names() {
    return { protocol: this.monitor.protocol, session: this.id, role: this.role }
  }

  // The program's `Context` and the fiber's `CurrentRole` (read from the session: a live session keeps no copies)
  get session(): string {
    return this.id
  }

  get protocol(): string {
    return this.monitor.protocol
  }

  get path(): string {
    return this.participant.self.path
  }

  get actor(): ActorContext<ParticipantProtocol> {
    return this.participant.ctx
  }

  /** Runs the role's program with a fresh endpoint (see `runRole` in `roleRun.ts`). */
  run(): Effect.Effect<unknown, unknown> {
    return this.participant.spec.program(Endpoint.untyped(this.monitor, this), this)
  }

  /**
   * A message sent to the role that it never took, now that its program ended: a violation naming it (a
   * session completes only when every message sent was received).
   */
  unread(): Monitor.ProtocolViolation | undefined {
    for (const peer of this.peers) {
      const message = peer.inbox?.shift()
      if (message === undefined) continue
      const seq = peer.received - peer.inbox!.length
      return leftover(this.monitor.protocol, this.id, this.role, this.state, peer.role, message.label, seq)
    }
    return undefined
  }

  /** The peer the program waits for a message from, if it waits. */
  get waitingFor(): string | undefined {
    return this.waiting?.from
  }

  /** The member of a family this role is, if it is one. */
  get member(): Context["member"] {
    const families = this.monitor.machine.families
    const member = families === undefined ? undefined : /^(.*)\[(\d+)\]$/.exec(this.role)
    const size = member === null || member === undefined ? undefined : families?.[member[1]!]
    return size === undefined ? undefined : { family: member![1]!, index: Number(member![2]), size }
  }

  /** Before the program runs again after a restart: replay the checkpoint from the start. */
  rewind(): void {
    this.checkpoint?.rewind()
    this.state = this.monitor.start
    if (this.durable !== undefined) {
      // a durable role sends again from message 1: what the log holds is not written twice, and peers drop
      // what they had (by number)
      this.durable.rewind()
      for (const peer of this.peers) peer.sent = 0
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // Messages from peers (in the actor's handler)
  // ---------------------------------------------------------------------------------------------------

  /** A session message arrived; answers an effect only when it is refused (the session is then aborted). */
  deliver(message: Deliver): Effect.Effect<void> | undefined {
    const { from, label, seq } = message
    const peer = this.peer(from)
    const last = peer?.received ?? 0
    if (peer !== undefined && seq <= last) return undefined // sent again by a peer that resumed after a restart
    if (peer !== undefined && seq > last + 1 && this.durable !== undefined) {
      // A durable session: a message ahead of the next one from its sender waits for the ones between, which come
      // again. (This role resumed from a log its sender had not written them to yet, written behind; the sender's
      // next message can come before the coordinator has it send them again.)
      this.holdAhead(message)
      return undefined
    }
    if (peer === undefined || seq !== last + 1 || !Monitor.mayReceive(this.monitor, from, label)) {
      this.recorder().received(message)
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
    inboxOf(peer).push(message)
    const waiting = this.waiting
    if (waiting !== undefined && waiting.from === from) waiting.arrived()
    const next = this.rare?.ahead === undefined ? undefined : (this.takeAhead(from, seq) as Deliver | undefined)
    return next === undefined ? undefined : this.deliver(next)
  }

  /**
   * Takes the messages held ahead that are next now (the log, read again as the role resumes, holds the ones that
   * were missing); answers an effect only when one is refused (see `deliver`).
   */
  releaseAhead(): Effect.Effect<void> | undefined {
    if (this.rare?.ahead === undefined) return undefined
    for (const peer of this.peers) {
      const next = this.takeAhead(peer.role, peer.received) as Deliver | undefined
      const refused = next === undefined ? undefined : this.deliver(next)
      if (refused !== undefined) return refused
      if (this.rare.ahead === undefined) return undefined
    }
    return undefined
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
    const checkpoint = this.checkpoint
    const entry = checkpoint?.next()
    if (entry !== undefined) {
      if (entry._tag !== "send" || entry.to !== to || entry.label !== label) return this.diverged(`${to}!${label}`)
      checkpoint!.advance()
      this.state = next
      return Effect.void
    }
    const peer = this.peer(to)!
    const seq = peer.sent + 1
    const message = { _tag: "Deliver", session: this.id, seq, from: this.role, label, payload } as const
    // To a local participant, straight into its mailbox (what `tell` does, without a step of its own); a durable
    // role that replays its log sends what the log holds to it only if it lacks it (see `Recovery.lacks`), and to a
    // participant elsewhere in the background, not waited for (see `Recovery.sendAgain`).
    const cell = peer.cell
    const held = this.durable?.holds(to, seq) === true
    const tell =
      cell === undefined
        ? held
          ? Effect.sync(() => Recovery.sendAgain(this, peer, [message]))
          : Recovery.tellPeer(this, peer, message)
        : held && !Recovery.lacks(this, peer, seq)
          ? Effect.void
          : cell.tell(message, fiber)
    if (checkpoint === undefined) {
      this.didSend(peer, to, message, seq, next)
      this.durable?.sentTo(to, message)
      return tell
    }
    // In a restartable role the send counts once it has left: if the actor crashes in between, the
    // resumed program sends it again with the same number, and the receiver drops the duplicate.
    return Effect.map(tell, () => {
      this.didSend(peer, to, message, seq, next)
      checkpoint.record({ _tag: "send", to, label })
    })
  }

  private didSend(peer: Peer, to: string, message: Endpoint.Incoming, seq: number, next: number): void {
    peer.sent = seq
    this.state = next
    this.recorder().sent(to, message)
    this.step("send", to, message.label, message.payload)
  }

  receive(from: string, state: number): Effect.Effect<Endpoint.Incoming, Failure> {
    if (this.ended) return Effect.interrupt
    const checkpoint = this.checkpoint
    const entry = checkpoint?.next()
    if (entry !== undefined) {
      if (entry._tag !== "receive" || entry.message.from !== from) return this.diverged(`${from}?`)
      checkpoint!.advance()
      checkpoint!.replayed = true
      return Exit.succeed(entry.message)
    }
    if (checkpoint !== undefined) checkpoint.replayed = false
    const message = this.peer(from)!.inbox?.shift()
    if (message !== undefined) {
      this.consumed(message)
      return Exit.succeed(message)
    }
    return wait(this, from, state)
  }

  /** A message leaves the queues for the program: it is in the trace, and in the checkpoint if any. */
  consumed(message: Endpoint.Incoming): void {
    this.recorder().received(message)
    this.checkpoint?.record({ _tag: "receive", message })
  }

  received(message: Endpoint.Incoming, next: number): void {
    this.state = next
    if (this.checkpoint?.replayed !== true) this.step("receive", message.from, message.label, message.payload)
  }

  get close(): Effect.Effect<void, Failure> {
    return Effect.void
  }

  violated(violation: Monitor.ProtocolViolation): Effect.Effect<void> {
    return this.refuse(violation, false)
  }

  /** `Context.once` (made when read: a live session keeps no closure for it). */
  get once(): Context["once"] {
    return (effect) => this.runOnce(effect)
  }

  private runOnce<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    // in a durable session, a result that cannot be committed fails the program (the session is aborted, typed)
    if (this.durable !== undefined) {
      return Effect.catchTag(this.durable.once(effect), "StorageUnavailable", Effect.die) as Effect.Effect<A, E, R>
    }
    return Effect.suspend(() => {
      const checkpoint = this.checkpoint
      if (checkpoint === undefined) return effect
      const entry = checkpoint.next()
      if (entry !== undefined) {
        if (entry._tag !== "once") return this.diverged("once")
        checkpoint.advance()
        return Exit.succeed(entry.value as A)
      }
      return Effect.map(effect, (value) => {
        checkpoint.record({ _tag: "once", value })
        return value
      })
    })
  }

  // ---------------------------------------------------------------------------------------------------
  // Ending
  // ---------------------------------------------------------------------------------------------------

  /** A violation at this role: recorded, published, and the session is aborted with it. */
  private refuse(violation: Monitor.ProtocolViolation, interrupt = true): Effect.Effect<void> {
    this.recorder().violation(violation)
    this.participant.system.publish(new SessionViolation({ ...this.names(), violation }))
    return this.abort(violation, "report", interrupt)
  }

  /** The resumed program does not do what the checkpoint recorded: it cannot resume. */
  private diverged(move: string): Effect.Effect<never> {
    const recorded = this.checkpoint!.describeNext()
    const cause = new ParticipantFailed({
      ...this.names(),
      cause: `could not resume from its checkpoint: the program did ${move} where the checkpoint has ${recorded}`
    })
    return Effect.andThen(this.abort(cause, "report", false), Effect.interrupt)
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
      case "report": {
        const report = this.report({ _tag: "Abort", session: this.id, role: this.role, cause, trace: this.events() })
        // (a durable role's abort is in its log first: it answers a coordinator started again with it)
        return this.durable === undefined ? report : Effect.andThen(DurableParticipant.storeAbort(this, cause), report)
      }
      case "leave":
        return this.report({ _tag: "Left", session: this.id, role: this.role, trace: this.events() })
      case "silent":
        return Effect.void
    }
  }

  /** The role leaves the session: it no longer holds it, waits, or watches its coordinator. */
  end(): void {
    this.ended = true
    this.participant.sessions.delete(this.id)
    this.participant.settled(this.id)
    // The coordinator's end no longer concerns this role: no notice of it is left to bounce off a stopped actor.
    const cell = localCell(this.participant.self)
    if (cell !== undefined && (this.durable !== undefined || localCell(this.coordinator) === undefined))
      this.participant.system.unwatchNow(cell, this.coordinator)
    this.waiting?.stop()
    this.peers = noPeers
    if (this.rare !== undefined) this.rare.peerIndex = undefined
  }

  /** Tells the session's coordinator `message` (a failure to is logged). */
  report(message: Protocol.Message<CoordinatorProtocol>): Effect.Effect<void> {
    return this.coordinator
      .tell(message)
      .pipe(Effect.catchCause((cause) => Effect.logError("Could not report to the session's coordinator", cause)))
  }
}
