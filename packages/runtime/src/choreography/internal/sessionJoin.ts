/**
 * How a session's coordinator joins its roles (see `Coordination`): it asks each participant to join, and once every
 * role has, tells them all to begin. The participants of its own node are asked at once with callbacks (no fiber per
 * session); others (and every role of a durable session, see `durableJoin.ts`) from a fiber. Each answer comes back
 * to the coordinator as a message (`Joined`, or `Abort` when a role cannot be joined).
 */
import { Cause, Effect, Exit, type Fiber } from "effect"
import { Envelope } from "../../internal/cell/envelope.ts"
import { sendNow } from "../../internal/cell/mailbox.ts"
import { localCell } from "../../internal/system.ts"
import { SessionStarted } from "../SessionEvent.ts"
import type { Coordination, Ctx } from "./coordination.ts"
import * as DurableJoin from "./durableJoin.ts"
import { nodesApart } from "./reachability.ts"
import * as RoleFlags from "./roleFlags.ts"
import { stopped, tellAbort } from "./sessionAbort.ts"
import { type AbortCause, ParticipantFailed, SessionJoinRefused } from "./sessionErrors.ts"

/**
 * Why `role` could not be joined: it refused (it holds too many sessions not begun: `SessionJoinRefused`, as it
 * answered, or it cannot join a durable session: `ParticipantFailed`), its node has no link to a peer's node, or it did not answer.
 */
const unreachable = (c: Coordination, role: string, cause: Cause.Cause<unknown>): AbortCause => {
  const { id, roles } = c.settings
  const failure = Cause.squash(cause)
  if (failure instanceof SessionJoinRefused || failure instanceof ParticipantFailed) return failure
  return (
    nodesApart(c.choreography.name, id, roles, role, failure) ?? stopped(c, role, "unreachable", Cause.pretty(cause))
  )
}

/**
 * Asks `role` to join. In a durable session a role that cannot be reached is asked again until the
 * deadline (its node may be restarting): see `askDurable` (in `durableJoin.ts`).
 */
export function joinOne(c: Coordination, ctx: Ctx, role: string): Effect.Effect<void> {
  const durable = c.settings.durable
  const joined = () => ctx.self.tell({ _tag: "Joined", role })
  if (durable !== undefined) return DurableJoin.askDurable(c, ctx, durable, role, undefined, () => true, joined)
  return c
    .ref(role)
    .ask(c.joinMessage(ctx, role))
    .pipe(
      Effect.matchCauseEffect({
        onFailure: (cause) => c.abortBy(ctx, role, unreachable(c, role, cause)),
        onSuccess: joined
      }),
      Effect.ignore
    )
}

/**
 * Asks every role to join (in a fiber of the coordinator); each answer comes back as a message. A defect while a
 * role is asked (the coordinator's own call threw: a ref whose `ask` throws, say) aborts the session with that role
 * `ParticipantStopped` (`unreachable`, the defect as its detail), which the starter gets: logged and left, the session
 * would wait for ever (no Join in flight, so no deadline to run out).
 */
export function join(c: Coordination, ctx: Ctx): Effect.Effect<void> {
  const pending = c.roles.filter((role) => !c.hasEnded(role))
  return Effect.forEach(pending, (role) => joinGuarded(c, ctx, role), { concurrency: "unbounded", discard: true })
}

/** {@link joinOne}, whose defect aborts the session (its interruption, the coordinator stopping, does not). */
const joinGuarded = (c: Coordination, ctx: Ctx, role: string): Effect.Effect<void> =>
  Effect.suspend(() => joinOne(c, ctx, role)).pipe(
    Effect.catchCause((cause) =>
      Cause.hasInterruptsOnly(cause)
        ? Effect.failCause(cause)
        : c
            .abortBy(ctx, role, unreachable(c, role, cause))
            .pipe(
              Effect.catchCause((told) =>
                Effect.logError("Could not abort the session whose join failed", Cause.combine(cause, told))
              )
            )
    )
  )

/** A role joined: once every role has, the session begins; if it was aborted meanwhile, the role is told. */
export function joined(c: Coordination, ctx: Ctx, role: string): Effect.Effect<Coordination> {
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
function allJoined(c: Coordination, ctx: Ctx, role: string): Effect.Effect<Coordination> {
  const { id, roles, durable } = c.settings
  // (a durable session's abort not stored yet: the role is told with the others once it is)
  if (c.phase === "aborting")
    return c.cause !== undefined && c.abortTold && !c.hasEnded(role)
      ? Effect.as(tellAbort(c, ctx, role, c.cause), c)
      : Effect.succeed(c)
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
  // without tracing, the roles of this node are told in the handler's call (its `Exit` needs no fiber); with it, from
  // the handler's fiber, whose span the messages carry
  return c.system!.tracing ? Effect.withFiber((fiber) => begin(c, ctx, fiber)) : begin(c, ctx, undefined)
}

/**
 * Tells every role to begin: into the mailboxes of the participants of this node now (a full one takes it once it has
 * room, as from a waiting sender); the rest in a fiber, like every broadcast: a full mailbox must not hold up the
 * coordinator.
 */
function begin(
  c: Coordination,
  ctx: Ctx,
  fiber: Fiber.Fiber<unknown, unknown> | undefined
): Effect.Effect<Coordination> {
  const { id, roles } = c.settings
  const rest: Array<Effect.Effect<void, unknown>> = []
  for (const r of c.roles) {
    const message = { _tag: "Begin", session: id } as const
    const cell = localCell(roles[r]!)
    const told =
      cell === undefined
        ? roles[r]!.tell(message)
        : fiber === undefined
          ? sendNow(cell, new Envelope(message, ctx.self, undefined))
          : cell.tell(message, fiber)
    if (told !== Effect.void) rest.push(told)
  }
  if (rest.length === 0) return Effect.succeed(c)
  const all = Effect.forEach(rest, (told) => told, { discard: true })
  // (not in the actor's scope, where a second finalizer makes a `Map` that the session would keep; with the
  // handler's services, such as the span the session runs in)
  return Effect.as(
    Effect.forkDetach(all.pipe(Effect.catchCause((cause) => Effect.logError("Could not start the session", cause)))),
    c
  )
}

/**
 * Asks every role to join when all of them are on this node: each participant is asked at once, with a callback
 * for its answer (no fiber per session), which comes back as a message, as `joinOne`'s does. A participant with
 * nothing else to do answers in this call (its handler runs here, as it would on its next turn): a join's deadline
 * must not run out while the caller that starts sessions keeps the thread (10 k started at once, say), before the
 * participant could have answered. A participant that is busy answers in its turn, in order.
 */
export function joinLocal(c: Coordination, ctx: Ctx, fiber: Fiber.Fiber<unknown, unknown>): void {
  // (sized at once: an array grown from empty has room for 17, kept while a participant has not answered)
  const cancels: Array<Effect.Effect<void> | undefined> = new Array(c.roles.length)
  c.joining = cancels
  // every role is counted before the first is asked: an answer in the call must not find the join done
  let waiting = 1
  for (const role of c.roles) if (!c.hasEnded(role)) waiting++
  const answer = () => {
    if (--waiting > 0) return
    if (c.joining === cancels) c.joining = undefined
    c.leaveJoining()
  }
  for (const [i, role] of c.roles.entries()) {
    if (c.hasEnded(role)) continue
    let done = false
    const cancel = localCell(c.settings.roles[role]!)!.askNow(
      c.joinMessage(ctx, role),
      fiber,
      c.system!.askTimeoutMillis,
      (exit) => {
        done = true
        cancels[i] = undefined
        answered(c, ctx, fiber, role, exit as Exit.Exit<unknown, unknown>)
        answer()
      },
      true
    )
    if (!done) cancels[i] = cancel
  }
  answer()
}

/** A participant answered (or could not answer) the question to join: the coordinator is told. */
function answered(
  c: Coordination,
  ctx: Ctx,
  fiber: Fiber.Fiber<unknown, unknown>,
  role: string,
  exit: Exit.Exit<unknown, unknown>
) {
  if (c.phase === "ended") return
  const message = Exit.isSuccess(exit)
    ? { _tag: "Joined", role }
    : {
        _tag: "Abort",
        session: c.id,
        role,
        cause: unreachable(c, role, exit.cause),
        trace: []
      }
  // into the coordinator's mailbox now, or (when it is full) as soon as it has room
  const told = localCell(ctx.self)?.tell(message, fiber)
  if (told !== undefined && told !== Effect.void)
    c.system!.runBackground(
      told.pipe(Effect.catchCause((cause) => Effect.logError("Could not start the session", cause)))
    )
}
