/**
 * The line of the sharded sessions a bare cluster client starts: a process with the engine's client (a runner, or
 * `clientOnly`) and no `ActorSystem`, so no system's admission to take a place in (see `ShardedSession.start`). Its
 * starts share one line per engine client, {@link CLIENT_PLACES} places, held the same way as on a system (until the
 * session began or ended, as the storage says): a burst of starts from it stores and wakes at most that many sessions
 * at once, the others waiting in line at most their deadline (then `SessionOverloaded`, nothing stored). Before, each
 * start stored its session and woke its coordinator at once, however many were starting.
 */
import { type Clock, Effect } from "effect"
import type { Sharding } from "effect/cluster"
import { Admission } from "../../choreography/internal/sessionAdmission.ts"
import { Deadlines } from "../../internal/deadlines.ts"

/**
 * The places of a bare client's line: the default of an actor system's `maxJoiningSessions` (give the client an
 * `ActorSystem` to choose another number).
 */
export const CLIENT_PLACES = 256

/** How long a start waits in line when it gives no deadline of its own (not used by `ShardedSession.start`). */
const TIMEOUT_MILLIS = 30_000

const byClient = new WeakMap<Sharding.Sharding["Service"], Admission>()

/**
 * The line of the sharded sessions started through `sharding` without an actor system (made when first used; its
 * deadlines' timer stops when nothing waits, so it keeps no process alive).
 *
 * @example
 * // in ShardedSession.start, with no ActorSystem in context:
 * // const admission = yield* clientAdmission(yield* Sharding.Sharding)
 * // yield* admission.admit(protocol.name, id, deadlineMillis, () => (place = starterPlace(admission, id)))
 */
export const clientAdmission = (sharding: Sharding.Sharding["Service"]): Effect.Effect<Admission> =>
  Effect.clockWith((clock: Clock.Clock) =>
    Effect.sync(() => {
      let admission = byClient.get(sharding)
      if (admission === undefined) {
        const deadlines = new Deadlines(clock, (effect) => Effect.runFork(effect), true)
        byClient.set(sharding, (admission = new Admission(deadlines, TIMEOUT_MILLIS, CLIENT_PLACES)))
      }
      return admission
    })
  )
