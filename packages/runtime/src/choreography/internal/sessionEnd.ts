/**
 * How a session ends (see `Coordination`): once every role has, the starter's outcome is completed with the results
 * and the traces merged, or with the cause of the abort, and the coordinator stops; a coordinator that stops first
 * cancels the session.
 */
import type { Monitor } from "@troupe/choreography"
import { Deferred, Effect, Exit, Fiber, Schema } from "effect"
import type { ActorRef } from "../../ActorRef.ts"
import { localCell } from "../../internal/system.ts"
import * as Terminated from "../../Terminated.ts"
import { SessionEnded } from "../SessionEvent.ts"
import type { Completed, Coordination, Ctx } from "./coordination.ts"
import { AbortCause, leftover, ParticipantFailed, SessionAborted, SessionCancelled } from "./sessionErrors.ts"
import type { CoordinatorProtocol } from "./sessionProtocols.ts"
import { merge } from "./traceMerge.ts"

type ProtocolViolation = Monitor.ProtocolViolation

const encodeCause = Schema.encodeSync(Schema.toCodecJson(AbortCause))

/**
 * A message a role sent that its receiver never took (the receiver ended first): a session completes only
 * when every message sent was received. Roles that checked their own moves report what they received.
 *
 * @example
 * // once every role completed: const left = unread(coordination) // a violation naming it, or undefined
 */
export const unread = (c: Coordination): ProtocolViolation | undefined => {
  for (const [i, from] of c.roles.entries())
    for (const [to, count] of Object.entries(c.counts?.[i]?.sent ?? {})) {
      const received = c.counts?.[c.roles.indexOf(to)]?.received
      const got = received?.[from] ?? 0
      if (received === undefined || count <= got) continue
      // its label, if the sender's trace has its send
      const sends = (c.traces?.[i] ?? []).filter((e) => e._tag === "Sent" && e.to === to)
      const label = sends.length === count ? (sends[got] as { readonly label: string }).label : undefined
      const machine = c.choreography.machines.get(to)
      const state = machine?.states.findIndex((s) => s.kind === "end") ?? -1
      return leftover(c.choreography.name, c.id, to, state, from, label, got + 1)
    }
  return undefined
}

/**
 * When every role has ended: complete the outcome, publish the end, and stop.
 *
 * @example
 * // after a role's end: return settle(this, ctx)
 */
export const settle = (c: Coordination, ctx: Ctx): Effect.Effect<Coordination> => {
  if (c.phase === "ended" || !c.allEnded()) return Effect.succeed(c)
  const results = c.results ?? {}
  // a session completes only with every role's result: one that ended without (a defect) fails it, typed
  const lacking = c.phase === "aborting" ? undefined : c.roles.find((role) => !Object.hasOwn(results, role))
  if (lacking !== undefined) {
    c.phase = "aborting"
    c.cause = new ParticipantFailed({
      protocol: c.choreography.name,
      session: c.id,
      role: lacking,
      cause: `it ended without a result, and the session was not aborted: a session completes only with every role's result (roles with one: ${Object.keys(results).join(", ") || "none"})`
    })
  }
  const aborted = c.phase === "aborting"
  c.phase = "ended"
  const trace = merge(c.traces ?? [])
  const { id, outcome } = c.settings
  const protocol = c.choreography.name
  const cause = c.cause
  if (c.observed())
    c.system!.publish(
      new SessionEnded({
        session: id,
        protocol,
        outcome: aborted ? "aborted" : "completed",
        cause: aborted ? cause : undefined
      })
    )
  const result: Exit.Exit<Completed<Record<string, unknown>>, SessionAborted> = aborted && cause !== undefined
    ? Exit.fail(
        new SessionAborted({
          protocol,
          session: id,
          cause,
          trace: [
            ...trace,
            { _tag: "Aborted", ...(c.origin === undefined ? {} : { role: c.origin }), reason: cause.message }
          ]
        })
      )
    : Exit.succeed({ session: id, protocol, results, trace })
  const cell = localCell(ctx.self)
  if (c.settings.durable === undefined && cell !== undefined) {
    // in the handler's call: a handler that answers an `Exit` is handled without a fiber (one per session)
    Deferred.doneUnsafe(outcome, result)
    cell.requestStopAfterCurrent()
    return Exit.succeed(c)
  }
  // (an abort told to the roles is stored already)
  const stored =
    c.settings.durable === undefined || (aborted && c.abortTold)
      ? Effect.void
      : c.settings.durable.store
          .finish(
            id,
            aborted ? "aborted" : "completed",
            aborted && cause !== undefined ? { cause: encodeCause(cause) } : { results }
          )
          .pipe(Effect.catchCause((c) => Effect.logError("Could not store the end of a durable session", c)))
  return Effect.as(Effect.andThen(Effect.andThen(stored, Deferred.done(outcome, result)), ctx.stopSelf), c)
}

/**
 * The coordinator stops before its session ended: the roles on this node that are still in it are told as
 * their death watch of a remote coordinator would tell them (they do not watch a coordinator of their node).
 */
const stopping = (c: Coordination, self: ActorRef<CoordinatorProtocol>): void => {
  if (c.settings.durable !== undefined) return
  const { id, roles } = c.settings
  // as a death-watch notice is: into the mailbox even when it is full (a stop does not wait)
  const terminated = new Terminated.Terminated({ ref: self, reason: Terminated.stopped })
  const down = { _tag: "CoordinatorDown", session: id }
  for (const role of c.roles) if (!c.hasEnded(role)) localCell(roles[role]!)?.tellTerminated(terminated, down)
}

/**
 * The coordinator stops (its scope closes): the join still running is interrupted, and a session that did
 * not end is cancelled.
 */
const whenStopped = (c: Coordination, self: ActorRef<CoordinatorProtocol>): Effect.Effect<void> => {
  const joining = c.joining
  c.joining = undefined
  c.leaveJoining()
  const interrupted =
    joining === undefined
      ? Effect.void
      : Array.isArray(joining)
        ? Effect.forEach(joining, (cancel) => cancel ?? Effect.void, { discard: true })
        : Fiber.interrupt(joining)
  const { id, outcome } = c.settings
  // a session that ended has its outcome already: no error (and its stack) to make for nothing
  if (Deferred.isDoneUnsafe(outcome)) return interrupted
  const protocol = c.choreography.name
  return Effect.andThen(
    interrupted,
    Effect.suspend(() => {
      stopping(c, self)
      const cause = new SessionCancelled({ protocol, session: id, reason: "its coordinator stopped" })
      return Deferred.fail(outcome, new SessionAborted({ protocol, session: id, cause, trace: merge(c.traces ?? []) }))
    })
  )
}

/**
 * The coordinator's finalizer: a closure over nothing but the session's state and the coordinator's ref.
 *
 * @example
 * // yield* Scope.addFinalizerExit(ctx.scope, onStop(coordination, ctx.self))
 */
export const onStop = (coordination: Coordination, self: ActorRef<CoordinatorProtocol>) => () =>
  whenStopped(coordination, self)
