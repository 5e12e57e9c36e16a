/**
 * Sessions with sharded roles: a choreography session whose roles are played by sharded actors, bound by
 * (type, id), on whichever runners the cluster places them.
 *
 * A role's sharded type is made from a participant behaviour (`Sharded.make("Buyer", { behavior: () =>
 * Session.role(...) })`), so `Sharded.ref(Buyers, "b-1")` is a participant ref that any runner can reach. The
 * session is durable (see `DurableSession`): its record and log are in the cluster's storage, and its
 * coordinator is a sharded actor too (one per session, hosted by {@link layer}), built from the record wherever
 * the cluster activates it. Session messages carry sharded refs as `/cluster/<type>/<id>`, which every runner
 * resolves back to cluster-routed refs.
 *
 * Sharded actors have no death watch: the coordinator holds each role by a lease instead, asking it to join
 * again every second or so (a tenth of the deadline). A role whose actor was reactivated on another runner
 * (its runner died, its shard moved) or passivated does not hold the session any more: it resumes from the
 * log (its program replays the messages it was sent and its `once` results; no move is made twice), its peers
 * send it again what it may have missed, and it goes on. A role that cannot be reached within the session's
 * `deadline` fails the session for everyone with `SessionNodeLost`; monitors (`ProtocolViolation`), step
 * deadlines (`StepTimeout`, counted on the role's runner, anew after it or a peer resumes, and not while the
 * coordinator cannot reach a role or is itself silent: a takeover after a SIGKILL waits for the shard lock to expire)
 * and failures abort it as in any session.
 *
 * @example
 * ```ts
 * const Buyers = Sharded.make("Buyer", { behavior: () => Session.role(TwoBuyer, "B", buyer) })
 * const Sellers = Sharded.make("Seller", { behavior: () => Session.role(TwoBuyer, "S", seller) })
 * // on every runner: Sharded.layer(Buyers), Sharded.layer(Sellers), ShardedSession.layer([TwoBuyer])
 * const done = yield* ShardedSession.run(TwoBuyer, {
 *   roles: { B: yield* Sharded.ref(Buyers, "b-1"), S: yield* Sharded.ref(Sellers, "s-1") },
 *   deadline: "20 seconds",
 *   stepTimeout: "10 seconds"
 * })
 * done.results.S
 * ```
 */
import type { Choreography as C, Diagram } from "@troupe/choreography"
import { Duration, Effect, Layer, Option, Schema } from "effect"
import { Sharding } from "effect/cluster"
import type { ActorRef } from "../ActorRef.ts"
import { ActorSystem, internal as systemInternal } from "../ActorSystem.ts"
import { invalidBinding } from "../choreography/internal/bindings.ts"
import { type StarterPlace, starterPlace } from "../choreography/internal/durableAdmission.ts"
import { Admission } from "../choreography/internal/sessionAdmission.ts"
import {
  AbortCause,
  SessionAborted,
  SessionNodeLost,
  type SessionOverloaded
} from "../choreography/internal/sessionErrors.ts"
import { defaultDeadline, type InvalidSessionOptions, invalidOptions } from "../choreography/internal/sessionOptions.ts"
import type { ParticipantProtocol } from "../choreography/internal/sessionProtocols.ts"
import { merge } from "../choreography/internal/traceMerge.ts"
import type * as Session from "../choreography/Session.ts"
import * as DurableSession from "../durable/DurableSession.ts"
import { create, storeOf } from "../durable/internal/durableCoordinator.ts"
import type { StorageError } from "../durable/internal/errors.ts"
import { Storage } from "../durable/Storage.ts"
import { releaseWhenBegun } from "./internal/beginWatch.ts"
import { clientAdmission } from "./internal/clientAdmission.ts"
import { coordinatorOf } from "./internal/sessionCoordinator.ts"
import * as Sharded from "./Sharded.ts"

type Choreography = C.Protocol
type TraceEvent = Diagram.TraceEvent

const encodeCause = Schema.encodeSync(Schema.toCodecJson(AbortCause))

/**
 * How a session with sharded roles runs: a durable session's options (its roles are sharded refs).
 *
 * @example
 * ```ts
 * const options: ShardedSession.Options<typeof Refund, typeof roles> = { roles, deadline: "30 seconds" }
 * ```
 */
export type Options<P, B extends Session.Bindings<P>> = DurableSession.Options<P, B>

/**
 * A role of a session with sharded roles is bound to an actor that is not sharded (every role must be a
 * `Sharded.ref`, which any runner can reach).
 *
 * @example
 * ```ts
 * ShardedSession.run(Refund, { roles: { Customer: localActor, Desk: desk } }) // fails with RoleNotSharded
 * ```
 */
export class RoleNotSharded extends Schema.TaggedError<RoleNotSharded>()("RoleNotSharded", {
  protocol: Schema.String,
  role: Schema.String,
  path: Schema.String
}) {
  override get message() {
    return `Role ${this.role} of a ${this.protocol} session with sharded roles is bound to ${this.path}, which is not a sharded actor. What to do: bind it to a ref from Sharded.ref, or run the session with Session.run or DurableSession.run`
  }
}

/**
 * A running session with sharded roles.
 *
 * @example
 * ```ts
 * const handle = yield* ShardedSession.start(Refund, { roles })
 * yield* handle.abort("the customer withdrew the claim")
 * ```
 */
export interface Handle<Results> {
  readonly id: string
  readonly protocol: string
  /**
   * Waits for the end of the session, as stored: every role's result, or `SessionAborted` with the cause; the
   * trace is merged from the traces the roles stored when they completed (an aborted role's is not kept).
   */
  readonly await: Effect.Effect<Session.Completed<Results>, SessionAborted | StorageError>
  /** Aborts the session for every participant, with `SessionCancelled` as the cause. */
  abort(reason?: string): Effect.Effect<void>
}

/**
 * Hosts the coordinators of the sessions of these protocols on this runner (every runner that may coordinate
 * should provide it, as it provides `Sharded.layer` for the roles' types).
 *
 * @example
 * ```ts
 * const runner = Layer.mergeAll(Sharded.layer(Buyers), Sharded.layer(Sellers), ShardedSession.layer([TwoBuyer])).pipe(
 *   Layer.provideMerge(ActorSystem.layer()),
 *   Layer.provideMerge(Cluster.layerSqlite({ filename: "troupe.db" }))
 * )
 * ```
 */
export const layer = (
  protocols: ReadonlyArray<Choreography>
): Layer.Layer<never, never, Sharding.Sharding | ActorSystem | Storage> =>
  protocols.reduce(
    (hosted, protocol) => Layer.merge(hosted, Sharded.layer(coordinatorOf(protocol))),
    Layer.empty as Layer.Layer<never, never, Sharding.Sharding | ActorSystem | Storage>
  )

/**
 * How many sessions of `protocol` have their coordinator active on this runner now (a coordinator stops when its
 * session ends).
 *
 * @example
 * ```ts
 * const coordinating = yield* ShardedSession.active(Refund)
 * ```
 */
export const active = (protocol: Choreography): Effect.Effect<number, never, ActorSystem> =>
  Sharded.active(coordinatorOf(protocol))

/**
 * How long the coordinator's runner holds the starter's wait before it answers "still running" (the starter then
 * reads the stored outcome, and waits again): half the deadline, at most 5 s.
 */
const holdMillis = (deadlineMillis: number) => Math.min(5000, Math.max(100, deadlineMillis / 2))

/**
 * How soon the starter waits again on a coordinator it could not reach (a shard moving, a runner gone) or that
 * stopped before its session ended.
 */
const retryMillis = 200

/** Why a session with sharded roles could not start (`AsDurable`: as a durable session could not). */
type StartError = Session.RoleBindingInvalid | InvalidSessionOptions | RoleNotSharded | AsDurable
type AsDurable = StorageError | DurableSession.SessionIdTaken | SessionOverloaded

/**
 * Starts a session with sharded roles: it is stored, then its coordinator (a sharded actor) is woken and asks
 * the roles to join. Like a durable session, it does not end with the starter's scope.
 *
 * With an `ActorSystem` in context (a runner, or a client with one), it first takes a place among the sessions
 * joining on that system (its `maxJoiningSessions`, shared with plain and durable sessions): when none is free it
 * waits in line, in order, at most the session's `deadline`, and then fails with `SessionOverloaded`, with nothing
 * stored. The place is held until the session began (the storage says so; read every 100 ms for all the places
 * held) or ended, at most the session's deadline; a coordinator the cluster activates on the same system takes the
 * place over (see "Sessions under overload" in docs/choreography.md). So a burst of starts stores and wakes at most
 * that many sessions at once, the others waiting in line. Without an `ActorSystem` (a bare cluster client) the starts
 * through one engine client share a line of their own, the same way, with 256 places (an actor system's default).
 *
 * @example
 * ```ts
 * const handle = yield* ShardedSession.start(Refund, { roles: { Customer: ana, Desk: desk }, id: "refund-7" })
 * const done = yield* handle.await
 * ```
 */
export const start = <P extends Choreography, const B extends Session.Bindings<P>>(
  protocol: P,
  options: Options<P, B>
): Effect.Effect<Handle<Session.ResultsOf<B>>, StartError, Sharding.Sharding | Storage> =>
  Effect.gen(function* () {
    const invalid = invalidBinding(protocol, options.roles as Readonly<Record<string, unknown>>)
    if (invalid !== undefined) return yield* invalid
    const badOption = invalidOptions(protocol, options, true)
    if (badOption !== undefined) return yield* badOption
    for (const [role, ref] of Object.entries(options.roles as Readonly<Record<string, ActorRef<ParticipantProtocol>>>))
      if (ref.node !== "cluster") return yield* new RoleNotSharded({ protocol: protocol.name, role, path: ref.path })
    const store = yield* storeOf
    const storage = yield* Storage
    const sharding = yield* Sharding.Sharding
    const id = options.id ?? crypto.randomUUID()
    const deadlineMillis = Duration.toMillis(options.deadline ?? defaultDeadline)
    const system = yield* Effect.serviceOption(ActorSystem)
    // the place is taken before anything is stored (a session refused leaves no row), and given back if the session
    // is not stored; once it is, the place is held until the session began (or ended, or its deadline passed),
    // unless its coordinator takes it over on this system
    // (without a system, the line of the engine client's starts: a bare client's burst is bounded too)
    const admission = Option.isSome(system)
      ? Admission.of(systemInternal(system.value))
      : yield* clientAdmission(sharding)
    let place: StarterPlace | undefined
    const stored = yield* Effect.gen(function* () {
      yield* admission.admit(protocol.name, id, deadlineMillis, () => {
        place = starterPlace(admission, id)
      })
      const stored = yield* create(store, protocol, { ...options, id }, "cluster")
      if (place !== undefined) releaseWhenBegun(store, place, stored.deadlineMillis)
      place = undefined
      return stored
    }).pipe(Effect.onError(() => Effect.sync(() => place?.release())))
    const coordinator = yield* Sharded.ref(coordinatorOf(protocol), id)
    yield* Effect.ignore(coordinator.tell({ _tag: "Wake" }))
    const completed = awaitEnd(protocol, id, stored.deadlineMillis).pipe(
      Effect.provideService(Storage, storage),
      Effect.provideService(Sharding.Sharding, sharding)
    )
    return {
      id,
      protocol: protocol.name,
      await: completed as Effect.Effect<Session.Completed<Session.ResultsOf<B>>, SessionAborted | StorageError>,
      abort: (reason = "aborted by its starter") =>
        coordinator
          .tell({ _tag: "Cancel", reason })
          .pipe(Effect.catchCause((cause) => Effect.logError("Could not cancel the session", cause)))
    }
  })

/**
 * The session's end as stored. The starter waits on the coordinator's runner until the coordinator stops (it
 * stops once the end is stored), and reads the stored outcome then, or every few seconds while the session runs
 * (see {@link holdMillis}); a coordinator whose runner died is woken again elsewhere by the next wait. One that
 * cannot be reached for the session's deadline ends the session with `SessionNodeLost`, stored (the first end stored
 * is the session's: the wait never answers an end other than the stored one, which may be the coordinator's own).
 */
const awaitEnd = (
  choreography: Choreography,
  id: string,
  deadlineMillis: number
): Effect.Effect<
  Session.Completed<Record<string, unknown>>,
  SessionAborted | StorageError,
  Storage | Sharding.Sharding
> =>
  Effect.gen(function* () {
    const protocol = choreography.name
    // the traces the roles stored with their results, merged
    const traceOf = Effect.flatMap(storeOf, (store) => store.resultsOf(id)).pipe(
      Effect.map((results) =>
        merge(choreography.roles.map((role) => results.get(role)?.trace as ReadonlyArray<TraceEvent> | undefined))
      )
    )
    const coordinator = yield* Sharded.ref(coordinatorOf(choreography), id)
    let reached = Date.now()
    // the last wait did not see the session end: the coordinator was not reached, or it stopped without an end
    // (passivated, moved, or it could not start): it is woken again a little later, not at once
    let pause = false
    for (;;) {
      let outcome = yield* DurableSession.outcome(id)
      let lost: SessionNodeLost | undefined
      if (Date.now() - reached > deadlineMillis && !(Option.isSome(outcome) && outcome.value._tag !== "Running")) {
        // the coordinator was not reached for the deadline: the session is lost, for everyone. The end is stored
        // (unless one is already: the first end stored is the session's), so that the wait answers what storage
        // says, and a coordinator that comes back (its runner stalled, not gone) or runs on aborts its roles
        lost = new SessionNodeLost({
          protocol,
          session: id,
          role: "coordinator",
          node: "cluster",
          waitedMillis: Date.now() - reached
        })
        yield* Effect.flatMap(storeOf, (store) => store.finish(id, "aborted", { cause: encodeCause(lost!) }))
        // (not waited for: the coordinator's runner may be the one that does not answer)
        yield* Effect.forkDetach(
          coordinator
            .tell({ _tag: "Cancel", reason: lost.message })
            .pipe(Effect.timeout(Duration.millis(deadlineMillis)), Effect.ignore)
        )
        outcome = yield* DurableSession.outcome(id)
      }
      if (Option.isSome(outcome) && outcome.value._tag === "Completed")
        return { session: id, protocol, results: outcome.value.results, trace: yield* traceOf }
      const cause = Option.isSome(outcome) && outcome.value._tag === "Aborted" ? outcome.value.cause : lost
      if (cause !== undefined) return yield* new SessionAborted({ protocol, session: id, cause, trace: yield* traceOf })
      if (pause) yield* Effect.sleep(Duration.millis(retryMillis))
      const hold = holdMillis(deadlineMillis)
      const waited = yield* Effect.exit(Sharded.stopped(coordinatorOf(choreography), id, hold, 2 * hold))
      if (waited._tag === "Success") reached = Date.now()
      pause = waited._tag === "Failure" || waited.value
    }
  })

/**
 * Runs a session with sharded roles to its end (see {@link start}).
 *
 * @example
 * ```ts
 * const done = yield* ShardedSession.run(Refund, { roles: { Customer: ana, Desk: desk }, deadline: "30 seconds" })
 * done.results.Customer
 * ```
 */
export const run = <P extends Choreography, const B extends Session.Bindings<P>>(
  protocol: P,
  options: Options<P, B>
): Effect.Effect<Session.Completed<Session.ResultsOf<B>>, SessionAborted | StartError, Sharding.Sharding | Storage> =>
  Effect.flatMap(start(protocol, options), (handle) => handle.await)
