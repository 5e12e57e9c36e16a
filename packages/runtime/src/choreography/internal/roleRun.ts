/**
 * A run of a role's program in a session: it starts in a fiber of its own (`startRun`), as one effect shared by
 * every run, and its end is reported to the session (its result, a violation or a failure), or crashes a
 * restartable role's actor to be restarted.
 */
import { Endpoint, Monitor } from "@troupe/choreography"
import { Cause, Effect, Exit, Option, type Scope, Context as Services } from "effect"
import { CurrentRole } from "./currentRole.ts"
import type { Participant } from "./participant.ts"
import { complete } from "./roleResult.ts"
import type { RoleSession } from "./roleSession.ts"
import { ParticipantFailed } from "./sessionErrors.ts"

/** The program of the fiber's run (its `CurrentRole`). */
const run = Effect.flatMap(CurrentRole, (current) => (current as RoleSession).run())

/** The end of the fiber's run. */
const finish = (exit: Exit.Exit<unknown, unknown>) =>
  Effect.flatMap(CurrentRole, (current) => finished(current as RoleSession, exit, (current as RoleSession).scope!))

/**
 * A role's program as its fiber runs it, the same effect for every run: the run is the fiber's `CurrentRole` (set
 * before the fiber starts), so that a live session keeps no closures and no effects of its own to start and end it.
 */
const runRole: Effect.Effect<void, unknown> = Effect.onExit(run, finish) as Effect.Effect<void, unknown>

/** {@link runRole} with its program inside `wrap` (a span, when the system traces). */
const runRoleWithin = (
  wrap: (program: Effect.Effect<unknown, unknown>) => Effect.Effect<unknown, unknown>
): Effect.Effect<void, unknown> => Effect.onExit(wrap(run), finish) as Effect.Effect<void, unknown>

/**
 * Starts (or, after a restart, resumes) the role's program for a session in a fiber of the actor.
 *
 * @example
 * // in a participant's handler, once the session began:
 * // return Effect.as(startRun(this, session, false), this)
 */
export const startRun = (participant: Participant, session: RoleSession, resumed: boolean): Effect.Effect<void> => {
  const spec = participant.spec
  if (resumed) session.resuming()
  session.running = true
  session.rewind()
  const scope = participant.ctx.scope
  if (scope.state._tag === "Closed") return Effect.void // the actor is stopping
  // the run's context is the session itself (one run at a time): a live session keeps no object per run
  session.resumed = resumed
  session.scope = scope
  const program = !participant.system.tracing
    ? runRole
    : runRoleWithin((run) =>
        Effect.withSpan(
          Effect.flatMap(Effect.option(Effect.currentSpan), (span) => {
            session.span = Option.getOrUndefined(span)
            return run
          }),
          `session ${spec.choreography.name}/${session.role}`,
          {
            attributes: {
              "session.id": session.id,
              "session.protocol": spec.choreography.name,
              "session.role": session.role,
              "session.resumed": resumed,
              "actor.path": participant.self.path
            }
          }
        )
      )
  // not in the actor's scope, which would keep a finalizer per program: see `interruptPrograms`
  return Effect.map(Effect.forkDetach(program), (fiber) => {
    // The program's fiber knows the role it plays (see `CurrentRole`), set before it starts: the program reads
    // its run from there (see `runRole`); providing it around the program would cost ~600 bytes more per role.
    fiber.setContext(Services.add(fiber.context, CurrentRole, session) as Services.Context<never>)
    if (session.running) session.fiber = fiber
  })
}

/** The program of a session ended: report the role's result, or abort, or crash to be restarted. */
const finished = (session: RoleSession, exit: Exit.Exit<unknown, unknown>, scope: Scope.Scope): Effect.Effect<void> => {
  const participant = session.participant
  session.running = false
  session.fiber = undefined
  if (session.ended) return Effect.void
  if (Exit.isSuccess(exit)) {
    const end = Monitor.close(session.monitor, session.state)
    if (Monitor.isViolation(end)) return session.violated(end)
    const unread = session.unread()
    if (unread !== undefined) return session.violated(unread)
    // A program that ends with its last move returns that move's endpoint: its result is nothing.
    return complete(session, Endpoint.isEndpoint(exit.value) ? undefined : exit.value)
  }
  const cause = exit.cause
  if (Cause.hasInterruptsOnly(cause) && scope.state._tag === "Closed") {
    // The actor is stopping (the coordinator's death watch sees it) or restarting (see `restarted`).
    return Effect.void
  }
  const log = Effect.logError("Role program failed", cause).pipe(
    Effect.annotateLogs({ actor: participant.self.path, session: session.id, role: session.role })
  )
  if (participant.spec.restartable) {
    session.crashed(cause)
    if (participant.crashing) return log
    participant.crashing = true
    const self = participant.self
    return Effect.andThen(
      log,
      Effect.andThen(
        self.tell({ _tag: "Crash", session: session.id }),
        self.tell({ _tag: "Resume", session: session.id })
      )
    ).pipe(Effect.catchCause((c) => Effect.logError("Could not crash the participant", c)))
  }
  const failed = new ParticipantFailed({ ...session.names(), cause: Cause.pretty(cause) })
  return Effect.andThen(log, session.abort(failed, "report", false))
}
