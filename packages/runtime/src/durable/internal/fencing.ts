/**
 * What an actor system does when its storage is fenced (another process took its node name over: see
 * `nodeClaim.ts`): it stops the node's durable work in this process at once, writes nothing more and tells its peers
 * nothing (the new holder runs that work: it recovers the sessions and actors from storage, and joins the roles
 * again), and says so once: a `DurableStopped` system event and an error log line. Each kind of durable work claims
 * the node name through {@link claim}, with how to stop its kind:
 *
 * - durable actors (`Durable.ts`): stopped, their last state not written (their instance fails with `NodeFenced`);
 * - durable sessions coordinated here (`DurableSession.ts`): their coordinators stopped; their `await` fails with
 *   `NodeFenced` (nothing stored: the session goes on with the new holder);
 * - durable session roles played here (`durableParticipant.ts`): dropped silently, their programs interrupted (a
 *   `once` effect in flight is interrupted before its side effect where it waits; nothing is reported).
 *
 * @example
 * ```ts
 * yield* Fencing.claim(storage, system, "actors", (error) => stopDurableActors(system, error))
 * ```
 */
import { Effect } from "effect"
import type { SystemImpl } from "../../internal/system.ts"
import { DurableStopped } from "../../SystemEvent.ts"
import type { Internal } from "../Storage.ts"
import type { NodeFenced, StorageError } from "./errors.ts"

/** The kinds of durable work a node runs. */
export type Kind = "actors" | "sessions" | "roles"

/** How to stop a kind of durable work of a system: answers how many it stopped. */
export type Stop = (error: NodeFenced) => number

interface Watched {
  /** The storages (by writer) whose fence this system watches. */
  readonly storages: WeakSet<object>
  readonly stops: Map<Kind, Stop>
}

const key = { name: "@troupe/runtime/Durable/fencing" }

/**
 * Claims the system's node name on `storage` (see `Storage.internal.claim`) before durable work of `kind`, and has
 * that kind stopped by `stop` once the storage is fenced.
 */
export const claim = (
  storage: Internal,
  system: SystemImpl,
  kind: Kind,
  stop: Stop
): Effect.Effect<void, StorageError> =>
  Effect.andThen(
    storage.claim(system.node),
    Effect.sync(() => watch(storage, system, kind, stop))
  )

const watch = (storage: Internal, system: SystemImpl, kind: Kind, stop: Stop): void => {
  const watched = system.extension<Watched>(key, () => ({ storages: new WeakSet(), stops: new Map() }))
  if (!watched.stops.has(kind)) watched.stops.set(kind, stop)
  if (watched.storages.has(storage.writer)) return
  watched.storages.add(storage.writer)
  // kept while the system runs: a storage outlives the systems started and stopped over it
  const cancel = storage.whenLost((error) => stopAll(system, watched, error))
  system.whenShutdown(() => {
    cancel()
    watched.storages.delete(storage.writer)
  })
}

const stopAll = (system: SystemImpl, watched: Watched, error: NodeFenced): void => {
  const count = (kind: Kind) => {
    const stop = watched.stops.get(kind)
    return stop === undefined ? 0 : stop(error)
  }
  // roles first: a coordinator stopping must find no role of this process left to wait for it
  const roles = count("roles")
  const sessions = count("sessions")
  const actors = count("actors")
  system.publish(new DurableStopped({ node: error.node, location: error.location, error, actors, sessions, roles }))
  system.runBackground(
    Effect.logError(
      `The durable work of node ${JSON.stringify(error.node)} in this process was stopped: another process took its node name over`
    ).pipe(Effect.annotateLogs({ location: error.location, actors, sessions, roles }))
  )
}
