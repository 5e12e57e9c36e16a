/**
 * How a session aborts (see `Coordination`): the first abort (a role's report, its participant's termination, or
 * a cancel) is told to every role still in the session (in a durable session once it is stored), and roles that do
 * not leave within a few seconds are counted out; then the session ends (see `sessionEnd.ts`).
 */
import type { Diagram } from "@troupe/choreography"
import { Clock, Duration, Effect, Schedule, Schema } from "effect"
import type { SessionStore } from "../../durable/internal/sessionStore.ts"
import type { Coordination, Ctx } from "./coordination.ts"
import * as RoleFlags from "./roleFlags.ts"
import { settle } from "./sessionEnd.ts"
import { AbortCause, ParticipantStopped, SessionCancelled } from "./sessionErrors.ts"

/** How long roles have to leave an aborted session before it ends without them (real time). */
const leaveMillis = 5_000

const liveClock = Clock.Clock.defaultValue()

/**
 * Aborts the session with `cause` (`role`: the role that ended with it, if one did, and its trace): the roles that
 * joined are told now, the others when they join; in a durable session, once the abort is stored.
 *
 * @example
 * // the coordinator's Abort handler: (c, m, ctx) => SessionAbort.abort(c, ctx, m.role, m.cause, m.trace)
 */
export const abort = (
  c: Coordination,
  ctx: Ctx,
  role: string | undefined,
  cause: AbortCause,
  trace?: ReadonlyArray<Diagram.TraceEvent>
): Effect.Effect<Coordination> => {
  if (role !== undefined) c.end(role, trace)
  if (c.phase === "joining" || c.phase === "running") {
    c.phase = "aborting"
    c.cause = cause
    c.origin = role
    const durable = c.settings.durable
    if (durable === undefined) {
      c.abortTold = true
      return Effect.andThen(announce(c, ctx, cause), settle(c, ctx))
    }
    // A durable session's abort is stored before anyone is told (the roles leave the session on it): a coordinator
    // that stops before (its runner stops, the write fails until then) leaves the session running as stored, with
    // every role still in it; the next incarnation starts from there. (Told first, the roles left a session that a
    // restarted coordinator then resumed.)
    const stored = storeAbort(c, durable.store, cause).pipe(
      Effect.andThen(
        Effect.suspend(() => {
          c.abortTold = true
          return announce(c, ctx, cause)
        })
      )
    )
    return Effect.andThen(ctx.fork(stored), settle(c, ctx))
  }
  return settle(c, ctx)
}

/** How often the coordinator tries again to store its abort while the database refuses it. */
const storeAgainMillis = 1_000

const encodeCause = Schema.encodeSync(Schema.toCodecJson(AbortCause))

/**
 * Stores a durable session's abort (first end wins: an end stored already stays), again every second while the
 * database refuses it (each refusal logged): nobody is told of the abort meanwhile. The coordinator's stop
 * interrupts it.
 */
const storeAbort = (c: Coordination, store: SessionStore, cause: AbortCause): Effect.Effect<void> =>
  store.finish(c.id, "aborted", { cause: encodeCause(cause) }).pipe(
    Effect.tapError((error) =>
      Effect.logError(
        "Could not store a durable session's abort; the roles are told once it is stored (tried again every second)",
        error
      ).pipe(Effect.annotateLogs({ session: c.id }))
    ),
    Effect.retry(Schedule.spaced(Duration.millis(storeAgainMillis))),
    Effect.provideService(Clock.Clock, liveClock),
    Effect.orDie
  )

/**
 * The abort is told: the roles that joined now (the others when they join), and roles that do not leave within a few
 * seconds are counted out.
 */
const announce = (c: Coordination, ctx: Ctx, cause: AbortCause): Effect.Effect<void> => {
  const pending = c.roles.filter((r) => !c.hasEnded(r) && RoleFlags.has(c.joinedRoles, c.roles.indexOf(r)))
  const tellAll = Effect.forEach(pending, (r) => tellAbort(c, ctx, r, cause), { discard: true })
  const expire = Effect.andThen(
    Effect.sleep(Duration.millis(leaveMillis)).pipe(Effect.provideService(Clock.Clock, liveClock)),
    ctx.self.tell({ _tag: "Expire" })
  )
  return Effect.asVoid(Effect.andThen(ctx.fork(tellAll), ctx.fork(Effect.ignore(expire))))
}

/**
 * Tells `role` that its session was aborted with `cause` (a failure to tell it is logged).
 *
 * @example
 * // a role joins a session aborted meanwhile: Effect.as(tellAbort(c, ctx, role, c.cause), c)
 */
export const tellAbort = (c: Coordination, ctx: Ctx, role: string, cause: AbortCause): Effect.Effect<void> =>
  c
    .ref(role)
    .tell({ _tag: "Abort", session: c.id, cause, role, coordinator: c.settings.self ?? ctx.self })
    .pipe(Effect.catchCause((e) => Effect.logError("Could not tell a role that its session was aborted", e)))

/**
 * The cause of an abort by `role`'s participant: it stopped, failed, lost its node or could not be reached.
 *
 * @example
 * // stopped(c, role, "node-down", `node ${node}`)
 */
export const stopped = (
  c: Coordination,
  role: string,
  reason: ParticipantStopped["reason"],
  detail?: string
): ParticipantStopped =>
  new ParticipantStopped({
    protocol: c.choreography.name,
    session: c.id,
    role,
    path: c.settings.roles[role]!.path,
    reason,
    ...(detail === undefined ? {} : { detail })
  })

/**
 * The session's starter cancels it (or the scope that started it closed).
 *
 * @example
 * // the coordinator's Cancel handler: (c, m, ctx) => SessionAbort.cancel(c, ctx, m.reason)
 */
export const cancel = (c: Coordination, ctx: Ctx, reason: string): Effect.Effect<Coordination> =>
  abort(c, ctx, undefined, new SessionCancelled({ protocol: c.choreography.name, session: c.id, reason }))

/**
 * Roles that did not leave an aborted session in time are counted out.
 *
 * @example
 * // the coordinator's Expire handler: (c, _, ctx) => SessionAbort.expire(c, ctx)
 */
export const expire = (c: Coordination, ctx: Ctx): Effect.Effect<Coordination> => {
  if (c.phase === "aborting") for (const r of c.roles) c.end(r, undefined)
  return settle(c, ctx)
}
