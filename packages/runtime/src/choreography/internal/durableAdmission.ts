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
  // a sharded session started on this system: its coordinator takes over the place its starter holds
  if (takeStarterPlace(admission, session.id)) {
    session.holdJoining(admission)
    return joined
  }
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

/**
 * The place a sharded session's starter holds among the sessions joining on its system, from before the session is
 * stored until it began (see `ShardedSession.start`): released by the starter once the storage says the session
 * began or ended, or at its deadline; or taken over by the session's coordinator when the cluster activates it on
 * the same system (it would otherwise wait in line behind the place held for it).
 */
export class StarterPlace {
  private state: "held" | "released" | "taken" = "held"
  readonly admission: Admission
  readonly session: string
  constructor(admission: Admission, session: string) {
    this.admission = admission
    this.session = session
  }

  /** Whether the starter still holds it. */
  get held(): boolean {
    return this.state === "held"
  }

  /** The starter gives it back (the session began, ended, or was not started); nothing if it was taken over. */
  release(): void {
    if (this.state !== "held") return
    this.state = "released"
    placesOf(this.admission).delete(this.session)
    this.admission.release()
  }

  /** The coordinator takes it over (it gives it back once the session began). */
  take(): boolean {
    if (this.state !== "held") return false
    this.state = "taken"
    placesOf(this.admission).delete(this.session)
    return true
  }
}

const starterPlaces = new WeakMap<Admission, Map<string, StarterPlace>>()

const placesOf = (admission: Admission): Map<string, StarterPlace> => {
  let places = starterPlaces.get(admission)
  if (places === undefined) starterPlaces.set(admission, (places = new Map()))
  return places
}

/**
 * A place `admission` gave a sharded session's starter, registered for `session`'s coordinator to take over.
 *
 * @example
 * // yield* admission.admit(protocol, id, deadlineMillis, () => (place = starterPlace(admission, id)))
 */
export const starterPlace = (admission: Admission, session: string): StarterPlace => {
  const place = new StarterPlace(admission, session)
  placesOf(admission).set(session, place)
  return place
}

const takeStarterPlace = (admission: Admission, session: string): boolean =>
  placesOf(admission).get(session)?.take() ?? false
