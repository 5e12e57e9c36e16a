/**
 * What a durable session's start and recovery do with storage and the coordinator (see `DurableSession`): the
 * session store of the storage in context, a new session stored (who plays each role, its settings), its coordinator
 * spawned with the handle that answers for it, and a session whose coordinator could not be spawned stored as
 * cancelled.
 */
import type { Choreography as C } from "@troupe/choreography"
import { Deferred, Duration, Effect, Option, Schema } from "effect"
import type { ActorRef } from "../../ActorRef.ts"
import type { ActorSystem, SpawnError } from "../../ActorSystem.ts"
import * as Coordinator from "../../choreography/internal/coordinator.ts"
import * as Lease from "../../choreography/internal/lease.ts"
import type { Admission } from "../../choreography/internal/sessionAdmission.ts"
import { AbortCause, type SessionAborted, SessionCancelled } from "../../choreography/internal/sessionErrors.ts"
import { defaultDeadline, stepMillisOf } from "../../choreography/internal/sessionOptions.ts"
import type { CoordinatorProtocol, ParticipantProtocol } from "../../choreography/internal/sessionProtocols.ts"
import type * as Session from "../../choreography/Session.ts"
import type { Handle, Options } from "../DurableSession.ts"
import { internal, Storage } from "../Storage.ts"
import { type NodeFenced, SessionIdTaken } from "./errors.ts"
import { type SessionStore, sessionStore } from "./sessionStore.ts"

type Choreography = C.Protocol

/** The session store of the storage in context. */
export const storeOf = Effect.map(Storage, (storage) => {
  const { sql, writer, failed } = internal(storage)
  return sessionStore(sql, writer, failed)
})

/** The handle of a durable session whose coordinator runs here. */
const handleOf = <Results>(
  id: string,
  protocol: string,
  coordinator: ActorRef<CoordinatorProtocol>,
  outcome: Deferred.Deferred<Coordinator.Completed<Record<string, unknown>>, SessionAborted>,
  fenced: Effect.Effect<never, NodeFenced>
): Handle<Results> => ({
  id,
  protocol,
  // (the fence first: a coordinator stopped because of it ends its outcome cancelled, which is not what happened)
  await: Effect.raceFirst(fenced, Deferred.await(outcome)) as Effect.Effect<
    Coordinator.Completed<Results>,
    SessionAborted | NodeFenced
  >,
  abort: (reason = "aborted by its starter") =>
    coordinator
      .tell({ _tag: "Cancel", reason })
      .pipe(Effect.catchCause((cause) => Effect.logError("Could not cancel the session", cause)))
})

/**
 * The session was stored but its coordinator could not be spawned (the system stopping): its end is stored as
 * cancelled, so that the starter's error is the session's outcome (a restart does not run it, nor would a start
 * again under another id run it twice). If that write fails too, the session stays running in storage, and the
 * next `recover` runs it (logged).
 */
export const notStarted = (store: SessionStore, protocol: string, id: string, error: SpawnError) =>
  store
    .finish(id, "aborted", {
      cause: Schema.encodeSync(Schema.toCodecJson(AbortCause))(
        new SessionCancelled({
          protocol,
          session: id,
          reason: `its coordinator could not be spawned: ${error.message}`
        })
      )
    })
    .pipe(
      Effect.catchCause((cause) =>
        Effect.logError(`The durable session ${id} is stored as running though its start failed`, cause)
      )
    )

/** The session's deadline in milliseconds (how long one of its nodes may be gone; its wait in line at the start). */
export const deadlineMillisOf = (options: { readonly deadline?: Duration.Input }): number =>
  Duration.toMillis(options.deadline ?? defaultDeadline)

/**
 * Stores a new durable session (who plays each role, its settings), coordinated by `node`; answers
 * what its coordinator needs.
 */
export const create = <P extends Choreography, const B extends Session.Bindings<P>>(
  store: SessionStore,
  protocol: P,
  options: Options<P, B>,
  node: string
) =>
  Effect.gen(function* () {
    const id = options.id ?? crypto.randomUUID()
    const existing = yield* store.session(id)
    if (Option.isSome(existing)) return yield* new SessionIdTaken({ session: id, status: existing.value.status })
    const roles = options.roles as unknown as Readonly<Record<string, ActorRef<ParticipantProtocol>>>
    const stepTimeouts: Readonly<Record<string, Duration.Input | undefined>> = options.stepTimeouts ?? {}
    const stepTimeoutMillis: Record<string, number> = {}
    for (const role of protocol.roles) {
      const timeout = stepMillisOf(stepTimeouts[role] ?? options.stepTimeout)
      if (timeout !== undefined) stepTimeoutMillis[role] = timeout
    }
    const deadlineMillis = deadlineMillisOf(options)
    const traceLimit = options.traceLimit ?? 1000
    yield* store.create({
      session: id,
      protocol: protocol.name,
      node,
      spec: {
        roles: Object.fromEntries(protocol.roles.map((r) => [r, { node: roles[r]!.node, path: roles[r]!.path }])),
        stepTimeoutMillis,
        traceLimit,
        deadlineMillis
      }
    })
    return { id, roles, stepTimeoutMillis, traceLimit, deadlineMillis }
  })

/** Spawns a durable session's coordinator on this node; answers the session's handle. */
export const spawnCoordinator = <Results>(
  system: ActorSystem["Service"],
  protocol: Choreography,
  store: SessionStore,
  fenced: Effect.Effect<never, NodeFenced>,
  spec: {
    readonly id: string
    readonly roles: Readonly<Record<string, ActorRef<ParticipantProtocol>>>
    readonly stepTimeoutMillis: Readonly<Record<string, number>>
    readonly traceLimit: number
    readonly deadlineMillis: number
    readonly recovered: Coordinator.Durability["recovered"]
    /**
     * The place among the sessions joining that the starter took for the session (handed over to the coordinator,
     * which gives it back once its roles answered); without it, the coordinator waits in line for one.
     */
    readonly admission?: () => Admission
  }
) =>
  Effect.gen(function* () {
    const outcome = yield* Deferred.make<Coordinator.Completed<Record<string, unknown>>, SessionAborted>()
    const admission = spec.admission?.()
    const coordination = Coordinator.behavior(protocol, {
      id: spec.id,
      roles: spec.roles,
      stepTimeoutMillis: spec.stepTimeoutMillis,
      traceLimit: spec.traceLimit,
      outcome,
      durable: {
        store,
        deadlineMillis: spec.deadlineMillis,
        // roles on other nodes are held by a lease: while one's node is unreachable (stalled, its link lost), the
        // others' step deadlines do not count; the death watch bounds it (a node declared down is asked to join
        // again until the session's deadline)
        ...(Object.values(spec.roles).every((ref) => ref.node === system.node)
          ? {}
          : { leaseMillis: Lease.periodOf(spec.deadlineMillis), watched: true }),
        ...(spec.recovered === undefined ? {} : { recovered: spec.recovered }),
        ...(admission === undefined ? { waitsInLine: true } : {})
      },
      ...(admission === undefined ? {} : { admission })
    })
    // (a coordinator that never started never joins: its place goes to the next in line)
    const coordinator = yield* system
      .spawn(coordination, { name: `session-${spec.id}`, restart: "temporary" })
      .pipe(Effect.onError(() => Effect.sync(() => coordination.leaveJoining())))
    return handleOf<Results>(spec.id, protocol.name, coordinator, outcome, fenced)
  })
