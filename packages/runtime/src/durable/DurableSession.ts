/**
 * Durable sessions: a choreography session whose log is in storage, so that it survives kill -9 of any of its
 * nodes, the coordinator's included.
 *
 * The log is the session's trace: every message each role sent (numbered per pair of roles, with its
 * payload), and the result of each `once` effect. A role whose node restarted is joined again by the
 * coordinator and resumes: its program runs again from the start against the log (the messages it was sent,
 * its `once` results; what it sends again is dropped by the peers, which have it already), and goes on live
 * where the log ends. A coordinator whose node restarted is started again by {@link recover} and joins the
 * roles again. Every message is handled once and every `once` effect runs once (a `once` result is committed
 * before the program sees it); programs must do what they do deterministically between their moves and
 * `once` effects, as restartable roles do.
 *
 * Nothing waits for ever: a node that is not back within the session's `deadline` fails the session for every
 * participant with `SessionNodeLost`, as do step deadlines and the other causes of `Session`.
 *
 * The session's nodes share the storage (PostgreSQL for several processes; SQLite when the session runs in
 * one process), and its participants are spawned with it in their context.
 *
 * @example
 * ```ts
 * const handle = yield* DurableSession.start(TwoBuyer, { roles: { A: a, B: b, S: s }, id: "order-42", deadline: "30 seconds" })
 * // ... the process is killed and started again; the participants are spawned again, then:
 * const [again] = yield* DurableSession.recover([TwoBuyer])
 * const done = yield* again.await
 * ```
 */

import type { Choreography as C } from "@troupe/choreography"
import { type Duration, Effect, Option, Schema } from "effect"
import { ActorSystem, type SpawnError, SystemShuttingDown, internal as systemInternal } from "../ActorSystem.ts"
import { invalidBinding } from "../choreography/internal/bindings.ts"
import { Admission } from "../choreography/internal/sessionAdmission.ts"
import {
  AbortCause,
  type SessionAborted,
  SessionNodeLost,
  type SessionOverloaded,
  shardedRole
} from "../choreography/internal/sessionErrors.ts"
import { type InvalidSessionOptions, invalidOptions } from "../choreography/internal/sessionOptions.ts"
import type * as Session from "../choreography/Session.ts"
import { create, deadlineMillisOf, notStarted, spawnCoordinator, storeOf } from "./internal/durableCoordinator.ts"
import { type NodeFenced, type SessionIdTaken, StorageCorrupt, type StorageError } from "./internal/errors.ts"
import * as Fenced from "./internal/fenced.ts"
import * as SessionRoles from "./internal/sessionRoles.ts"
import { internal, Storage } from "./Storage.ts"

type Choreography = C.Protocol

export { SessionIdTaken } from "./internal/errors.ts"

/** How a durable session runs: a session's options, and how long one of its nodes may be gone. */
export interface Options<P, B extends Session.Bindings<P>> extends Session.Options<P, B> {
  /** How long a node of the session may be gone (crashed, restarting) before the session fails (finite). Default 30 s. */
  readonly deadline?: Duration.Input
}

/**
 * A running durable session, as `start` and `recover` answer it: a session's handle whose `await` also fails with
 * `NodeFenced` when another process took this node's name over (this one stalled or was cut from the database longer
 * than the storage's `nodeLease`): the session goes on there, and nothing of it is stored or told by this process.
 *
 * @example
 * ```ts
 * const handle = yield* DurableSession.start(TwoBuyer, { roles, id: "order-42" })
 * yield* handle.await.pipe(Effect.catchTag("NodeFenced", (e) => Effect.logError(e.message)))
 * ```
 */
export interface Handle<Results> extends Omit<Session.Handle<Results>, "await"> {
  /** Waits for the end of the session (see `Session.Handle`), or fails with `NodeFenced`. */
  readonly await: Effect.Effect<Session.Completed<Results>, SessionAborted | NodeFenced>
}

/** A durable session's outcome as stored: running, completed (with the roles' results) or aborted (with why). */
export type Outcome =
  | { readonly _tag: "Running" }
  | { readonly _tag: "Completed"; readonly results: Readonly<Record<string, unknown>> }
  | { readonly _tag: "Aborted"; readonly cause: AbortCause }

/**
 * Why a durable session could not start: its options or bindings, its id taken, no place among the sessions joining
 * in time, its storage, or its coordinator not spawned.
 *
 * @example
 * ```ts
 * const report = (error: DurableSession.StartError) => Console.error(`${error._tag}: ${error.message}`)
 * ```
 */
export type StartError =
  | SpawnError
  | StorageError
  | SessionIdTaken
  | Session.RoleBindingInvalid
  | Session.RoleSharded
  | SessionOverloaded
  | InvalidSessionOptions

/**
 * Starts a durable session: it is stored (who plays each role, its settings) before its coordinator asks the
 * roles to join. Unlike `Session.start`, closing the scope does not cancel it: it outlives this process. A role
 * bound to a sharded actor fails it with `Session.RoleSharded` (see `ShardedSession`), a role bound wrongly with
 * `Session.RoleBindingInvalid`, an option that is not what it may be (a `deadline` or step timeout that is not a
 * duration, an infinite `deadline`, see `Session.start`) with `Session.InvalidSessionOptions`, nothing stored.
 *
 * It first takes a place among the sessions joining on this actor system (at most its `maxJoiningSessions`, shared
 * with plain sessions): when none is free it waits in line, in order, at most the session's `deadline`, and then fails
 * with `SessionOverloaded`, with nothing stored (see "Sessions under overload" in docs/choreography.md). The place is
 * given back once the session began (every role answered its Join, then the Join that says it began), or its join
 * failed, or it ended first.
 */
export const start = <P extends Choreography, const B extends Session.Bindings<P>>(
  protocol: P,
  options: Options<P, B>
): Effect.Effect<Handle<Session.ResultsOf<B>>, StartError, ActorSystem | Storage> =>
  Effect.gen(function* () {
    const invalid = invalidBinding(protocol, options.roles as Readonly<Record<string, unknown>>)
    if (invalid !== undefined) return yield* invalid
    const badOption = invalidOptions(protocol, options, true)
    if (badOption !== undefined) return yield* badOption
    const sharded = shardedRole(protocol.name, options.roles as never)
    if (sharded !== undefined) return yield* sharded
    const system = yield* ActorSystem
    const store = yield* storeOf
    const id = options.id ?? crypto.randomUUID()
    const admission = Admission.of(systemInternal(system))
    // the place is taken before anything is stored (a session refused leaves no row), and held by this fiber until
    // the coordinator has it: given back if the session is not stored or its coordinator not spawned
    let held = false
    const giveBack = Effect.sync(() => {
      if (!held) return
      held = false
      admission.release()
    })
    return yield* Effect.gen(function* () {
      yield* admission.admit(protocol.name, id, deadlineMillisOf(options), () => {
        held = true
      })
      // (admitted as the system stops, when the sessions joining stop: not stored, it would run after a restart)
      if (systemInternal(system).isShuttingDown) return yield* new SystemShuttingDown({ system: system.name })
      // one live process per node name and storage: a second one would recover this session too
      const storage = internal(yield* Storage)
      yield* Fenced.claimForSessions(storage, systemInternal(system))
      const spec = yield* create(store, protocol, { ...options, id }, system.node)
      return yield* spawnCoordinator<Session.ResultsOf<B>>(system, protocol, store, storage.fenced, {
        ...spec,
        recovered: undefined,
        admission: () => {
          held = false
          return admission
        }
      }).pipe(Effect.tapError((error) => notStarted(store, protocol.name, id, error)))
    }).pipe(Effect.onError(() => giveBack))
  })

/** Runs a durable session to its end (see {@link start}). */
export const run = <P extends Choreography, const B extends Session.Bindings<P>>(
  protocol: P,
  options: Options<P, B>
): Effect.Effect<Session.Completed<Session.ResultsOf<B>>, SessionAborted | StartError, ActorSystem | Storage> =>
  Effect.flatMap(start(protocol, options), (handle) => handle.await)

/**
 * Starts again, on this node, the coordinators of the durable sessions it coordinated that had not ended (after
 * the node restarted): each joins its roles again, and roles whose node restarted resume from the log. Call
 * it once the node's participants are spawned again. Sessions of protocols not given are left as they are.
 *
 * @example
 * ```ts
 * const handles = yield* DurableSession.recover([TwoBuyer, Review])
 * yield* Effect.forEach(handles, (h) => Effect.exit(h.await))
 * ```
 */
export const recover = (
  protocols: ReadonlyArray<Choreography>
): Effect.Effect<ReadonlyArray<Handle<Record<string, unknown>>>, SpawnError | StorageError, ActorSystem | Storage> =>
  Effect.gen(function* () {
    const system = yield* ActorSystem
    const impl = systemInternal(system)
    const store = yield* storeOf
    // one live process per node name and storage: two would both run the sessions' `once` effects and sends again
    const storage = internal(yield* Storage)
    yield* Fenced.claimForSessions(storage, impl)
    const byName = new Map(protocols.map((p) => [p.name, p]))
    const handles: Array<Handle<Record<string, unknown>>> = []
    const results = yield* store.runningResults(system.node)
    for (const record of yield* store.running(system.node)) {
      const protocol = byName.get(record.protocol)
      if (protocol === undefined) continue
      if (impl.registry.has(`/user/session-${record.session}`)) continue
      const roles = yield* SessionRoles.resolve(impl, protocol, record)
      if (roles === undefined) {
        // a role's node never came back: the session fails, typed, and is stored as such
        const lost = new SessionNodeLost({
          protocol: protocol.name,
          session: record.session,
          role: "coordinator",
          node: system.node,
          waitedMillis: record.spec.deadlineMillis
        })
        yield* store.finish(record.session, "aborted", {
          cause: Schema.encodeSync(Schema.toCodecJson(AbortCause))(lost)
        })
        continue
      }
      handles.push(
        yield* spawnCoordinator<Record<string, unknown>>(system, protocol, store, storage.fenced, {
          id: record.session,
          roles,
          stepTimeoutMillis: record.spec.stepTimeoutMillis,
          traceLimit: record.spec.traceLimit,
          deadlineMillis: record.spec.deadlineMillis,
          recovered: { begun: record.begun, results: results.get(record.session) ?? new Map() }
        })
      )
    }
    return handles
  })

/** A durable session's outcome as stored (`None` when no session has this id). */
export const outcome = (id: string): Effect.Effect<Option.Option<Outcome>, StorageError, Storage> =>
  Effect.gen(function* () {
    const store = yield* storeOf
    const record = yield* store.session(id)
    if (Option.isNone(record)) return Option.none()
    const r = record.value
    if (r.status === "running") return Option.some({ _tag: "Running" })
    const stored = r.outcome as { readonly results?: Record<string, unknown>; readonly cause?: unknown } | undefined
    if (r.status === "completed") return Option.some({ _tag: "Completed", results: stored?.results ?? {} })
    const location = internal(yield* Storage).location
    const cause = yield* decodeCause(stored?.cause).pipe(
      Effect.mapError(
        (error) =>
          new StorageCorrupt({
            location,
            detail: `the outcome of the durable session ${JSON.stringify(id)} does not decode (${error.message})`
          })
      )
    )
    return Option.some({ _tag: "Aborted", cause })
  })

const decodeCause = Schema.decodeUnknownEffect(Schema.toCodecJson(AbortCause))
