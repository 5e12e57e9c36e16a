/**
 * How a session's coordinator joins its roles (see `Coordination`): it asks each role to join, and once every role
 * has, the session begins (its roles are told to begin); a role that joins a session aborted meanwhile is told.
 * A durable session's roles are joined as `durableJoin.ts` says.
 */
import { Cause, Effect } from "effect"
import { SessionStarted } from "../SessionEvent.ts"
import type { Coordination, Ctx } from "./coordination.ts"
import * as DurableJoin from "./durableJoin.ts"
import { nodesApart } from "./reachability.ts"
import * as RoleFlags from "./roleFlags.ts"

/**
 * Asks `role` to join. In a durable session a role that cannot be reached is asked again until the
 * deadline (its node may be restarting): see `askDurable` (in `durableJoin.ts`).
 */
export const joinOne = (c: Coordination, ctx: Ctx, role: string): Effect.Effect<void> => {
  const { id, roles, durable } = c.settings
  const joined = ctx.self.tell({ _tag: "Joined", role })
  if (durable !== undefined) return DurableJoin.askDurable(c, ctx, durable, role, undefined, () => true, joined)
  return c
    .ref(role)
    .ask(c.joinMessage(ctx, role))
    .pipe(
      Effect.matchCauseEffect({
        onFailure: (cause) =>
          c.abortBy(
            ctx,
            role,
            nodesApart(c.choreography.name, id, roles, role, Cause.squash(cause)) ??
              c.stopped(role, "unreachable", Cause.pretty(cause))
          ),
        onSuccess: () => joined
      }),
      Effect.ignore
    )
}

/** Asks every role to join (in a fiber of the coordinator); each answer comes back as a message. */
export const join = (c: Coordination, ctx: Ctx): Effect.Effect<void> => {
  const pending = c.roles.filter((role) => !c.hasEnded(role))
  return Effect.forEach(pending, (role) => joinOne(c, ctx, role), { concurrency: "unbounded", discard: true }).pipe(
    Effect.catchCause((cause) => Effect.logError("Could not start the session", cause))
  )
}

/** A role joined: once every role has, the session begins; if it was aborted meanwhile, the role is told. */
export const joined = (c: Coordination, ctx: Ctx, role: string): Effect.Effect<Coordination> => {
  const durable = c.settings.durable
  if (c.phase === "running" && durable !== undefined) return Effect.as(DurableJoin.rejoined(c, ctx, role), c)
  c.joinedRoles = RoleFlags.add(c.joinedRoles, c.roles.indexOf(role))
  // a coordinator started again joins a session that began: a role that resumed from the log may have missed
  // what was sent to its old incarnation, so its peers send it again
  if (durable !== undefined && c.begun && c.phase === "joining") {
    return Effect.andThen(DurableJoin.resendTo(c, ctx, role), allJoined(c, ctx, role))
  }
  return allJoined(c, ctx, role)
}

/** Once every role joined, the session begins; a role joining a session aborted meanwhile is told. */
const allJoined = (c: Coordination, ctx: Ctx, role: string): Effect.Effect<Coordination> => {
  const { id, roles, durable } = c.settings
  if (c.phase === "aborting" && c.cause !== undefined && !c.hasEnded(role))
    return Effect.as(c.tellAbort(ctx, role, c.cause), c)
  if (c.phase !== "joining" || RoleFlags.size(c.joinedRoles) < c.roles.length) return Effect.succeed(c)
  c.phase = "running"
  if (durable !== undefined) {
    // every role joined: the session began (stored first, so that roles joined again after a restart resume)
    const begun = c.begun
    c.begun = true
    return Effect.as(DurableJoin.begin(c, ctx, durable, begun), c)
  }
  if (c.observed())
    c.system!.publish(
      new SessionStarted({
        session: id,
        protocol: c.choreography.name,
        roles: Object.fromEntries(c.roles.map((r) => [r, roles[r]!.path]))
      })
    )
  // In a fiber, like every broadcast: a full mailbox must not hold up the coordinator.
  const begin = Effect.forEach(c.roles, (r) => roles[r]!.tell({ _tag: "Begin", session: id }), { discard: true })
  // (not in the actor's scope, where a second finalizer makes a `Map` that the session would keep; with the
  // handler's services, such as the span the session runs in)
  return Effect.as(
    Effect.forkDetach(begin.pipe(Effect.catchCause((cause) => Effect.logError("Could not start the session", cause)))),
    c
  )
}
