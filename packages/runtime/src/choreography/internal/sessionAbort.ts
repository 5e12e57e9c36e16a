/**
 * How a session aborts (see `Coordination`): the first abort (a role's report, its participant's termination, or
 * a cancel) is told to every role still in the session, and roles that do not leave within a few seconds are
 * counted out; then the session ends (see `sessionEnd.ts`).
 */
import type { Diagram } from "@troupe/choreography"
import { Clock, Duration, Effect } from "effect"
import type { Coordination, Ctx } from "./coordination.ts"
import * as RoleFlags from "./roleFlags.ts"
import { settle } from "./sessionEnd.ts"
import { type AbortCause, ParticipantStopped, SessionCancelled } from "./sessionErrors.ts"

/** How long roles have to leave an aborted session before it ends without them (real time). */
const leaveMillis = 5_000

const liveClock = Clock.Clock.defaultValue()

/**
 * Aborts the session with `cause` (`role`: the role that ended with it, if one did, and its trace): the roles that
 * joined are told now, the others when they join.
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
    // Roles that joined are told now; the others when they join (or their join fails).
    const pending = c.roles.filter((r) => !c.hasEnded(r) && RoleFlags.has(c.joinedRoles, c.roles.indexOf(r)))
    const tellAll = Effect.forEach(pending, (r) => tellAbort(c, ctx, r, cause), { discard: true })
    const expire = Effect.andThen(
      Effect.sleep(Duration.millis(leaveMillis)).pipe(Effect.provideService(Clock.Clock, liveClock)),
      ctx.self.tell({ _tag: "Expire" })
    )
    return Effect.andThen(Effect.andThen(ctx.fork(tellAll), ctx.fork(Effect.ignore(expire))), settle(c, ctx))
  }
  return settle(c, ctx)
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
