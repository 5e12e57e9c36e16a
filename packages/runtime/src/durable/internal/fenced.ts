/**
 * How durable actors and the coordinators of durable sessions claim their node name and are stopped once their
 * storage is fenced (see `fencing.ts`; the roles participants play are dropped by `durableParticipant.ts`).
 *
 * @example
 * ```ts
 * // as a durable actor starts:
 * yield* Fenced.claimForActors(storage, system)
 * ```
 */
import type { Effect } from "effect"
import { Coordination } from "../../choreography/internal/coordination.ts"
import type { SystemImpl } from "../../internal/system.ts"
import type { Internal } from "../Storage.ts"
import type { NodeFenced, StorageError } from "./errors.ts"
import * as Fencing from "./fencing.ts"
import { instances } from "./instance.ts"

/** Claims the node name for `system`'s durable actors: once the storage is fenced, they are stopped. */
export const claimForActors = (storage: Internal, system: SystemImpl): Effect.Effect<void, StorageError> =>
  Fencing.claim(storage, system, "actors", stopActors(system))

/** Claims the node name for the durable sessions `system` coordinates: once the storage is fenced, they are left. */
export const claimForSessions = (storage: Internal, system: SystemImpl): Effect.Effect<void, StorageError> =>
  Fencing.claim(storage, system, "sessions", stopCoordinators(system))

/**
 * Stops the durable actors of `system`: their instances fail with `error`, so that nothing more of theirs is written
 * (not their last state either) and a message still in their mailbox fails with it.
 */
const stopActors =
  (system: SystemImpl) =>
  (error: NodeFenced): number => {
    let stopped = 0
    for (const { path, instance } of instances(system).values()) {
      instance.failure ??= error
      const cell = system.registry.get(path)
      if (cell === undefined || cell.isTerminated) continue
      stopped++
      cell.requestStop(false)
    }
    return stopped
  }

/**
 * Stops the coordinators of the durable sessions of `system`: nothing of their sessions is stored (the new holder of
 * the node name recovers them); whoever waits for one gets `NodeFenced` (see `DurableSession.Handle`).
 */
const stopCoordinators = (system: SystemImpl) => (): number => {
  let stopped = 0
  for (const cell of system.registry.values()) {
    const behavior = cell.behavior as unknown
    if (!(behavior instanceof Coordination) || behavior.settings.durable === undefined || cell.isTerminated) continue
    stopped++
    cell.requestStop(false)
  }
  return stopped
}
