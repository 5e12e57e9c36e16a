/**
 * A durable session's place among the sessions joining on its node (see `sessionAdmission.ts`): the coordinator holds
 * it from before it asks its roles until the session began, then gives it to the next in line.
 */
import { Deferred, Effect } from "effect"
import { internal } from "../../ActorSystem.ts"
import type { ActorContext } from "../../Behavior.ts"
import type { Joining } from "./durableJoin.ts"
import { Admission } from "./sessionAdmission.ts"
import type { CoordinatorProtocol } from "./sessionProtocols.ts"

type Ctx = ActorContext<CoordinatorProtocol>

/**
 * The coordinator's `join` of a durable session, holding its place among the sessions joining on its node (see
 * `sessionAdmission.ts`) until the session began: every role answered its first Join and then the Join that says the
 * session began (both are asks retried until the session's deadline), or the join failed. A session stored already
 * (`Durability.waitsInLine`: recovered, or sharded) first takes its place, in line, in order, for as long as it takes
 * (the line moves: every session admitted leaves it within its deadline); one with no role left to join does not
 * wait. Interrupted (the coordinator stopped), it leaves the line, or gives its place back (see `holdJoining`).
 *
 * @example
 * // in the coordinator's start:
 * // yield* Effect.forkDetach(DurableAdmission.admitted(this, ctx, SessionJoin.join(this, ctx)))
 */
export const admitted = (session: Joining, ctx: Ctx, join: Effect.Effect<void>): Effect.Effect<void> => {
  const durable = session.settings.durable
  if (durable === undefined || session.roles.every((r) => session.hasEnded(r))) return join
  const begun = beginOf(session)
  const joined = Effect.andThen(join, Deferred.await(begun))
  if (durable.waitsInLine !== true) return joined
  const admission = Admission.of(internal(ctx.system))
  return admission
    .admit(session.choreography.name, session.id, Number.POSITIVE_INFINITY, () => session.holdJoining(admission))
    .pipe(
      // (no deadline in line: never refused)
      Effect.orDie,
      Effect.andThen(joined)
    )
}

/** Done once a durable session began (its roles answered the Join that says so), or its join failed. */
const begins = new WeakMap<Joining, Deferred.Deferred<void>>()

const beginOf = (session: Joining): Deferred.Deferred<void> => {
  let begun = begins.get(session)
  if (begun === undefined) {
    begun = Deferred.makeUnsafe<void>()
    begins.set(session, begun)
  }
  return begun
}

/** The session began, or its join failed: its place among the sessions joining goes to the next in line. */
export const joinDone = (session: Joining): void => {
  Deferred.doneUnsafe(beginOf(session), Effect.void)
}
