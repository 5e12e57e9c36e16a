/**
 * Sessions: a choreography played by actors.
 *
 * A participant is an actor whose behaviour plays one role of a protocol, made with {@link role} from a
 * program over the role's typed endpoint. A session binds each role to a participant (local or on another
 * node), gets an id, and runs: {@link run} waits for its end, {@link start} gives a {@link Handle}.
 *
 * Every move is checked by the role's monitor: an illegal send fails at the sender before anything leaves,
 * and a message the receiver's local type does not allow (from a peer that does not check) is refused
 * when it arrives; either way the session is aborted for every participant, with the `ProtocolViolation`
 * as the cause. So is a session whose role waits longer than its step deadline (`StepTimeout`), whose
 * participant fails or terminates (`ParticipantFailed`, `ParticipantStopped`), or which is cancelled
 * (`SessionCancelled`). A role the protocol marks restartable is instead restarted by its supervisor and
 * resumes from its checkpoint (see `Context.once`).
 *
 * @example
 * ```ts
 * const seller = Session.role(TwoBuyer, "S", (ep) =>
 *   Effect.gen(function* () {
 *     const title = yield* ep.receive()
 *     const quoted = yield* (yield* title.next.send("A", "quote", 30)).send("B", "quote", 30)
 *     const decision = yield* quoted.receive()
 *     yield* decision.next.close()
 *     return decision.label === "buy" ? `sold ${decision.payload}` : "no sale"
 *   })
 * )
 * const s = yield* ActorSystem.spawn(seller)
 * // ... spawn buyerA and buyerB likewise
 * const done = yield* Session.run(TwoBuyer, { roles: { A: a, B: b, S: s }, stepTimeout: "10 seconds" })
 * done.results.S // "sold Dune"
 * console.log(Diagram.trace(done.trace))
 * ```
 *
 * @since 0.1.0
 */

import type { Choreography, Endpoint } from "@troupe/choreography"
import { Deferred, type Duration, Effect, Scope } from "effect"
import type { ActorRef } from "../ActorRef.ts"
import { ActorSystem, internal, type SpawnError } from "../ActorSystem.ts"
import type { Behavior } from "../Behavior.ts"
import { bind, invalidBinding, type RoleBindingInvalid, shardedBinding } from "./internal/bindings.ts"
import * as Coordinator from "./internal/coordinator.ts"
import { CurrentRole } from "./internal/currentRole.ts"
import * as Participants from "./internal/participant.ts"
import { Admission } from "./internal/sessionAdmission.ts"
import type { RoleSharded, SessionAborted, SessionOverloaded } from "./internal/sessionErrors.ts"
import { onClose, SessionHandle } from "./internal/sessionHandle.ts"
import { type InvalidSessionOptions, invalidOptions, stepTimeoutsOf } from "./internal/sessionOptions.ts"
import { type ParticipantProtocol, protocolsOf } from "./internal/sessionProtocols.ts"

type Protocol = Choreography.Protocol
type RolesOf<P> = Choreography.RolesOf<P>
type FamiliesOf<P> = Choreography.FamiliesOf<P>

export { RoleBindingInvalid } from "./internal/bindings.ts"
export type { Completed } from "./internal/coordinator.ts"
export type { Context, Failure } from "./internal/participant.ts"
export {
  AbortCause,
  ParticipantFailed,
  ParticipantStopped,
  RoleSharded,
  SessionAborted,
  SessionCancelled,
  SessionJoinRefused,
  SessionNodeLost,
  SessionNodesApart,
  SessionOverloaded,
  StepTimeout
} from "./internal/sessionErrors.ts"
export { InvalidSessionOptions } from "./internal/sessionOptions.ts"

declare const ParticipantTypeId: unique symbol

/**
 * The actor protocol of the participants that play `Role` of protocol `P` and return `A`. (`P`, `Role`
 * and `A` exist only in the type, so that a session's roles can only be bound to the right actors.)
 */
export type Participant<P, Role extends string, A = unknown> = ParticipantProtocol & {
  readonly [ParticipantTypeId]: { readonly protocol: P; readonly role: Role; readonly result: A }
}

/**
 * The actor protocol of the participants of `role`: to find a participant by path (`ActorSystem.lookup`)
 * or to write one by hand.
 */
export const protocolOf = <P extends Protocol, const Role extends RolesOf<P>>(protocol: P, role: Role) =>
  protocolsOf(protocol).participants.get(role) as Participant<P, Role>

/**
 * A behaviour that plays `role` of `protocol`: in each session its actor joins, `program` runs with the
 * role's typed endpoint (so only the legal next move compiles) in a fiber of the actor, and its result is
 * the role's result. The actor can be in several sessions at once, one program each.
 *
 * A program that fails aborts its session (the actor goes on), unless the role is restartable: then the
 * actor crashes with the failure, and after its supervisor restarts it the program runs again from the
 * start against the role's checkpoint (see {@link Context.once}) and goes on where it was.
 *
 * @example
 * ```ts
 * const buyerB = Session.role(TwoBuyer, "B", (ep) =>
 *   Effect.gen(function* () {
 *     const quote = yield* ep.receive()
 *     const split = yield* quote.next.receive()
 *     const answered = split.payload <= 20 ? yield* split.next.send("A", "accept") : yield* split.next.send("A", "reject")
 *     yield* answered.close()
 *   })
 * )
 * ```
 */
export const role = <P extends Protocol, const Role extends RolesOf<P>, A, E, R>(
  protocol: P,
  role: Role,
  program: (
    endpoint: Endpoint.For<P, Role, Participants.Failure>,
    session: Participants.Context
  ) => Effect.Effect<A, E, R>
): Behavior<Participant<P, Role, ResultOf<A>>, unknown, R> =>
  Participants.behavior(protocol, role, program as never) as unknown as Behavior<
    Participant<P, Role, ResultOf<A>>,
    unknown,
    R
  >

/** A role's result: what its program returns, except an endpoint (a program that ends with a move), which is nothing. */
export type ResultOf<A> = A extends { readonly _tag: "Send" | "Receive" | "End"; readonly state: number }
  ? undefined
  : A

/**
 * Who plays each role of `P`: one participant actor per role, and for a family, one per member (the
 * number of members is the family's size in this session).
 */
export type Bindings<P> = {
  readonly [R in RolesOf<P>]: R extends FamiliesOf<P>
    ? ReadonlyArray<ActorRef<Participant<P, R>>>
    : ActorRef<Participant<P, R>>
}

type ResultOfRef<Ref> =
  Ref extends ActorRef<infer Q>
    ? Q extends { readonly [ParticipantTypeId]: { readonly result: infer A } }
      ? A
      : unknown
    : unknown

/** The result of each role, from the participants bound to the roles (a family's: one per member, in order). */
export type ResultsOf<B> = {
  readonly [R in keyof B]: B[R] extends ReadonlyArray<infer Ref> ? ReadonlyArray<ResultOfRef<Ref>> : ResultOfRef<B[R]>
}

/** How a session runs. */
export interface Options<P, B extends Bindings<P>> {
  /** The participant of each role. */
  readonly roles: B
  /** The session's id; a fresh UUID by default. It names the coordinator actor, so letters, digits and `_.~@:+=-`. */
  readonly id?: string
  /** How long a role may wait for its next message before the session is aborted; no limit by default. */
  readonly stepTimeout?: Duration.Input
  /** Step deadlines for some roles, instead of `stepTimeout`. */
  readonly stepTimeouts?: { readonly [R in RolesOf<P>]?: Duration.Input }
  /** How many trace events each role keeps (its latest); 1000 by default, 0 to record none. */
  readonly traceLimit?: number
}

/** A running session. */
export interface Handle<Results> {
  readonly id: string
  /** The protocol's name. */
  readonly protocol: string
  /**
   * Waits for the end of the session: every role's result and the trace, or `SessionAborted` with the
   * cause and the trace. It ends once every participant has left the session.
   */
  readonly await: Effect.Effect<Coordinator.Completed<Results>, SessionAborted>
  /** Aborts the session for every participant, with `SessionCancelled` as the cause. */
  abort(reason?: string): Effect.Effect<void>
}

/**
 * Starts a session: its coordinator asks each participant to join, then tells them all to begin. The
 * session is cancelled if the scope closes before it ends. A role bound to a sharded actor fails it with
 * `RoleSharded` (see `ShardedSession`); a role bound wrongly (not bound, to a list or one actor where the other is
 * due, one actor to two roles) with `RoleBindingInvalid`, and an option that is not what it may be (a step timeout
 * that is not a duration, a role in `stepTimeouts` the protocol does not have, a `traceLimit` that is not a whole
 * number of at least 0) with `InvalidSessionOptions`, before anything is started.
 *
 * An actor system lets a bounded number of sessions join their roles at once; the others wait in line, in
 * order, and one that waits longer than the system's ask timeout fails with `SessionOverloaded` before anything
 * is done for it (see "Sessions under overload" in docs/choreography.md).
 *
 * A lone session starts in its caller's call. In a burst, past the first few milliseconds' worth of sessions in one
 * turn of the event loop, a session's first step only takes a place in that line and waits to be resumed (a few
 * microseconds): the coordinator is spawned, the protocol's roles bound and the Joins sent in a later turn, so that a
 * caller starting many sessions at once (one `Effect.forEach`, unbounded) does not keep the loop from turning while
 * it does.
 */
export const start = <P extends Protocol, const B extends Bindings<P>>(
  protocol: P,
  options: Options<P, B>
): Effect.Effect<
  Handle<ResultsOf<B>>,
  SpawnError | RoleBindingInvalid | RoleSharded | SessionOverloaded | InvalidSessionOptions,
  ActorSystem | Scope.Scope
> =>
  admitted(protocol, options, (system, id, admission) =>
    Effect.uninterruptible(begin(system, protocol, options, id, admission))
  )

/**
 * Takes the session's place among those joining (see `sessionAdmission.ts`), then runs `then` with it; `then` holds
 * the place until it has handed it to the coordinator (uninterruptibly: see {@link begin}). Before the place only the
 * bindings are checked (see `bindings.ts`), so that the first step of a session costs its caller a few microseconds and little memory
 * while it waits in line: `then` is made when the session is resumed with its place.
 */
const admitted = <A, E, R>(
  protocol: Protocol,
  options: { readonly roles: unknown; readonly id?: string; readonly stepTimeout?: unknown },
  then: (system: ActorSystem["Service"], id: string, admission: Admission) => Effect.Effect<A, E, R>
): Effect.Effect<
  A,
  E | RoleBindingInvalid | RoleSharded | SessionOverloaded | InvalidSessionOptions,
  R | ActorSystem
> =>
  Effect.flatMap(
    ActorSystem,
    (system): Effect.Effect<A, E | RoleBindingInvalid | RoleSharded | SessionOverloaded | InvalidSessionOptions, R> => {
      const invalid = invalidBinding(protocol, options.roles as Readonly<Record<string, unknown>>)
      if (invalid !== undefined) return Effect.fail(invalid)
      const badOption = invalidOptions(protocol, options, false)
      if (badOption !== undefined) return Effect.fail(badOption)
      const sharded = shardedBinding(protocol.name, options.roles as never)
      if (sharded !== undefined) return Effect.fail(sharded)
      const id = options.id ?? freshId()
      const admission = Admission.of(internal(system))
      return admission.enter(protocol.name, id, () => then(system, id, admission))
    }
  )

/**
 * What `start` does once the session has its place among those joining: binds the roles, spawns its coordinator (which
 * gives the place back once its roles answered) and closes the session with the scope. Run uninterruptibly, so that
 * the place is not lost between.
 */
const begin = <P extends Protocol, const B extends Bindings<P>>(
  system: ActorSystem["Service"],
  protocol: P,
  options: Options<P, B>,
  id: string,
  admission: Admission
): Effect.Effect<Handle<ResultsOf<B>>, SpawnError, Scope.Scope> =>
  Effect.gen(function* () {
    const { instance, roles, familyOf } = bind(protocol, options.roles as never)
    const outcome = Deferred.makeUnsafe<Coordinator.Completed<Record<string, unknown>>, SessionAborted>()
    const coordination = Coordinator.behavior(instance, {
      id,
      roles,
      stepTimeoutMillis: stepTimeoutsOf(instance, familyOf, options),
      traceLimit: options.traceLimit ?? 1000,
      outcome,
      admission
    })
    // (a coordinator that never started never joins: its place goes to the next in line)
    const coordinator = yield* system
      .spawn(coordination, { name: `session-${id}`, restart: "temporary" })
      .pipe(Effect.onError(() => Effect.sync(() => coordination.leaveJoining())))
    const handle = new SessionHandle<ResultsOf<B>>(
      id,
      protocol.name,
      instance === protocol ? undefined : protocol,
      coordinator,
      outcome
    )
    // (the scope's own finalizer: `Effect.addFinalizer` wraps it in closures that a live session would keep)
    yield* Scope.addFinalizerExit(yield* Effect.scope, onClose(handle))
    return handle as Handle<ResultsOf<B>>
  })

/**
 * A fresh session id, a UUID, as one flat string: `crypto.randomUUID()` answers a string of 13 pieces joined
 * (about 500 bytes, kept as long as the session lives); parsed back from JSON it is 36 characters in one piece.
 */
const freshId = (): string => JSON.parse(`"${crypto.randomUUID()}"`)

/**
 * Runs a session to its end (see {@link start}): every role's result, or why it was aborted. Its scope is made once
 * the session has its place, so that one waiting in line holds none.
 */
export const run = <P extends Protocol, const B extends Bindings<P>>(
  protocol: P,
  options: Options<P, B>
): Effect.Effect<
  Coordinator.Completed<ResultsOf<B>>,
  SessionAborted | SpawnError | RoleBindingInvalid | RoleSharded | SessionOverloaded | InvalidSessionOptions,
  ActorSystem
> =>
  admitted(protocol, options, (system, id, admission) =>
    Effect.uninterruptibleMask((restore) =>
      Effect.scoped(Effect.flatMap(begin(system, protocol, options, id, admission), (handle) => restore(handle.await)))
    )
  )

/** The session role the current fiber plays, when it runs in (or was forked from) a role's program. */
export interface RoleInfo {
  readonly session: string
  readonly protocol: string
  readonly role: string
  /** The participant's actor. */
  readonly path: string
}

/** The session role the current fiber plays, if any. */
export const currentRole: Effect.Effect<RoleInfo | undefined> = Effect.map(CurrentRole, (current) =>
  current === undefined
    ? undefined
    : { session: current.session, protocol: current.protocol, role: current.role, path: current.path }
)

/**
 * Writes a note into the trace of the session role the current fiber plays, where it happens (and
 * publishes a `SessionNote`); does nothing outside a role's program. `Diagram.trace` draws it over the role.
 *
 * @example
 * ```ts
 * yield* Session.note("the model's first answer was out of protocol; it corrected it")
 * ```
 */
export const note = (text: string): Effect.Effect<void> => Effect.map(CurrentRole, (current) => current?.note(text))
