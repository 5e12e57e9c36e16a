/**
 * A role's result: reported to the session's coordinator with what the role sent and received (so the coordinator
 * sees a message still on its way), after a durable role committed it; a result that cannot reach the coordinator
 * aborts the session instead.
 */
import { Cause, Effect } from "effect"
import { localCell } from "../../internal/system.ts"
import * as DurableParticipant from "./durableParticipant.ts"
import * as Recovery from "./roleRecovery.ts"
import type { RoleSession } from "./roleSession.ts"
import { ParticipantFailed } from "./sessionErrors.ts"

/**
 * The role's program completed with `result`: the role leaves the session and reports it.
 *
 * @example
 * // in the program's end, once its last move was checked:
 * // return complete(session, exit.value)
 */
export const complete = (session: RoleSession, result: unknown): Effect.Effect<void> => {
  const remote = localCell(session.coordinator) === undefined
  const unsendable = remote ? notJson(result) : undefined
  const counts = countsOf(session)
  session.end()
  const trace = session.events()
  // a result that cannot reach the coordinator fails the role (the session is aborted) instead of never arriving
  const cannotSend = (why: string) =>
    session.report({
      _tag: "Abort",
      session: session.id,
      role: session.role,
      cause: new ParticipantFailed({
        ...session.names(),
        cause: `its result cannot be sent to the session's coordinator (on node ${session.coordinator.node}): ${why}`
      }),
      trace
    })
  if (unsendable !== undefined) return cannotSend(unsendable)
  const report = session.coordinator
    .tell({ _tag: "Done", session: session.id, role: session.role, result, trace, ...counts })
    .pipe(Effect.catchCause((cause) => cannotSend(Cause.pretty(cause))))
  if (session.durable === undefined) return report
  // a durable role's result is committed (with everything it sent) before the coordinator counts it; meanwhile
  // it may be asked to send again what it sent (see `Recovery.resendCompleted`)
  const { completing } = session.participant
  const durable = session.durable
  completing.set(session.id, durable)
  // (once what it sends again to its peers has gone: see `Recovery.drained`)
  const committed = Effect.ensuring(
    Effect.andThen(Recovery.drained(session), durable.done(result, trace)),
    Effect.sync(() => completing.get(session.id) === durable && completing.delete(session.id))
  )
  // a result that could not be committed aborts the session: the abort is committed to the role's log first, as every
  // durable role's abort is (a coordinator started again before it stored the session's end hears it again when it
  // joins the role); if that fails too, the role resumes when it is joined again (nothing of its end is stored)
  return Effect.matchCauseEffect(committed, {
    onSuccess: () => report,
    onFailure: (cause) => {
      const failed = new ParticipantFailed({
        ...session.names(),
        cause: `its result could not be stored: ${Cause.pretty(cause)}`
      })
      return Effect.andThen(
        DurableParticipant.storeAbort(session, failed),
        session.report({ _tag: "Abort", session: session.id, role: session.role, cause: failed, trace })
      )
    }
  })
}

/** How many messages the role sent to and received from each peer (so the coordinator sees one still on its way). */
const countsOf = (session: RoleSession): { sent: Record<string, number>; received: Record<string, number> } => {
  const sent: Record<string, number> = {}
  const received: Record<string, number> = {}
  for (const peer of session.peers) {
    if (peer.sent > 0) sent[peer.role] = peer.sent
    if (peer.received > 0) received[peer.role] = peer.received
  }
  return { sent, received }
}

/** Why `value` cannot cross the wire as JSON, if it cannot (a bigint, a cycle). */
const notJson = (value: unknown): string | undefined => {
  if (value === undefined || value === null || typeof value === "string" || typeof value === "number") return undefined
  try {
    JSON.stringify(value)
    return undefined
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
}
