/**
 * A participant's durable sessions (see `DurableSession`): how a Join of a durable session is answered (a session it
 * holds follows its coordinator and peers where they are now; one it does not hold resumes from the session's log in
 * storage), and how a durable role resumes after its actor restarted.
 */
import { Cause, Effect, Exit, Option, Schema } from "effect"
import type { ActorRef } from "../../ActorRef.ts"
import type * as Behaviors from "../../Behavior.ts"
import { DurableRole } from "../../durable/internal/durableRole.ts"
import type { NodeFenced, NodeNameTaken } from "../../durable/internal/errors.ts"
import * as Fencing from "../../durable/internal/fencing.ts"
import { type SessionStore, sessionStore } from "../../durable/internal/sessionStore.ts"
import { Storage, internal as storageInternal } from "../../durable/Storage.ts"
import { PeerLogWindow } from "../../internal/peerLogWindow.ts"
import { localCell, type SystemImpl } from "../../internal/system.ts"
import type * as Protocol from "../../Protocol.ts"
import type { Participant } from "./participant.ts"
import * as Recovery from "./roleRecovery.ts"
import { startRun } from "./roleRun.ts"
import { RoleSession } from "./roleSession.ts"
import { heard } from "./roleWait.ts"
import { AbortCause, ParticipantFailed, SessionCancelled } from "./sessionErrors.ts"
import type { CoordinatorProtocol, ParticipantProtocol } from "./sessionProtocols.ts"

type Join = Protocol.MessageOf<ParticipantProtocol["definition"], "Join">
type Durable = NonNullable<Join["durable"]>
type Reply = Behaviors.Reply<Participant, boolean>

/**
 * Answers a Join of a durable session: `true` when the role resumed from the log (it did not hold the session,
 * which began), else `false`. `known` is the session as the participant holds it, if it does; `watch` watches the
 * coordinator.
 *
 * @example
 * // in the participant's Join handler:
 * // if (m.durable !== undefined) return DurableParticipant.join(this, m, m.durable, known, watch)
 */
export const join = (
  participant: Participant,
  m: Join,
  durable: Durable,
  known: RoleSession | undefined,
  watch: Effect.Effect<void>
): Effect.Effect<Reply, unknown> => {
  const reply = Exit.succeed({ state: participant, reply: false })
  if (known !== undefined) {
    if (known.durable === undefined) return reply
    // a durable session's coordinator came back (or is new): follow it, and the peers where they are now (a
    // node that restarted is a new incarnation); a peer resumed: send it again what it was sent
    known.coordinator = m.coordinator as ActorRef<CoordinatorProtocol>
    Recovery.rebind(known, m.roles)
    known.durable.coordinatorGone?.()
    known.durable.coordinatorGone = undefined
    // (a peer resumed, or the coordinator started again: a step the role waits on counts anew; in a session held by a
    // lease, it does not count while a role is unreachable)
    if (durable.lease !== undefined) heard(known, durable.lease, durable.resendTo !== undefined)
    else if (durable.resendTo !== undefined) known.waiting?.recovered()
    const resend = durable.resendTo === undefined ? Effect.void : Recovery.resend(known, durable.resendTo)
    const begin = durable.begun && !known.begun ? participant.begin(m.session) : Effect.void
    return Effect.andThen(Effect.andThen(Effect.andThen(watch, resend), begin), reply)
  }
  // a session that began, joined by a participant that did not hold it: it resumed from the log (unless the role
  // had aborted it: it answers with its end)
  const answer = (resumed: boolean): Reply => ({ state: participant, reply: resumed && durable.begun })
  const resume = Effect.flatMap(joinFromLog(participant, m, durable), (joined) =>
    joined ? Effect.as(watch, answer(true)) : Effect.succeed(answer(false))
  )
  const to = durable.resendTo
  if (to === undefined) return resume
  // a peer that resumed wants again what this role sent it, and the role no longer holds the session: if it
  // completed, the log has every message it sent (nothing to run again, and it did not resume); if not, it resumes,
  // and its program sends them again as it replays
  return Effect.flatMap(Recovery.resendCompleted(participant, m, to), (sent) =>
    sent ? Effect.succeed(answer(false)) : resume
  )
}

/**
 * A durable role aborts the session with `cause` (call it as the role leaves the session): the abort is committed to
 * its log before the coordinator is told, so that a coordinator started again before it stored the session's end
 * (its node died) hears of it again when it joins the role, which does not resume the session (see `joinFromLog`);
 * a Join while it is being committed finds it in the participant's `aborting`. A failure to commit it is logged.
 *
 * @example
 * // in `RoleSession.abort`, before the role reports its abort:
 * // Effect.andThen(DurableParticipant.storeAbort(session, cause), report)
 */
export const storeAbort = (session: RoleSession, cause: AbortCause): Effect.Effect<void> => {
  // (noted now, as the role leaves the session: a Join handled before the commit runs finds it)
  const participant = session.participant
  const aborting = (participant.aborting ??= new Map())
  aborting.set(session.id, cause)
  return Effect.suspend(() =>
    session.durable!.store.commitAbort(session.id, session.role, JSON.stringify(encodeCause(cause)))
  ).pipe(
    Effect.catchCause((c) => Effect.logError("Could not store a durable session's abort", c)),
    Effect.ensuring(
      Effect.sync(() => {
        if (aborting.get(session.id) === cause) aborting.delete(session.id)
        if (aborting.size === 0 && participant.aborting === aborting) participant.aborting = undefined
      })
    )
  )
}

const encodeCause = Schema.encodeSync(Schema.toCodecJson(AbortCause))
const decodeCause = Schema.decodeUnknownExit(Schema.toCodecJson(AbortCause))

/**
 * A durable Join of a participant spawned with no Storage: the failure it is answered with, and a warning (a line a
 * second per coordinator node).
 */
const noStorage = (participant: Participant, m: Join): ParticipantFailed => {
  const failed = new ParticipantFailed({
    protocol: participant.spec.choreography.name,
    session: m.session,
    role: m.member ?? participant.spec.role,
    cause: `${participant.self.path} on node ${participant.system.node} cannot join a durable session: it was spawned with no Storage (provide Storage.layerSqlite or Storage.layerPostgres where it is spawned)`
  })
  const log = participant.system.extension(noStorageKey, () => new PeerLogWindow())
  if (log.admit(m.coordinator.node, Date.now()) !== undefined)
    participant.system.runBackground(
      Effect.logWarning("A durable session's Join was refused").pipe(
        Effect.annotateLogs({
          participant: participant.self.path,
          coordinatorNode: m.coordinator.node,
          detail: failed.cause
        })
      )
    )
  return failed
}

/**
 * The participants of a system that joined durable sessions (kept across their restarts, as participants are; those
 * that terminated are swept out as the table doubles).
 */
const durableParticipants = (system: SystemImpl) =>
  system.extension(durableParticipantsKey, () => ({ participants: new Set<Participant>(), sweepAt: 64 }))

const durableParticipantsKey = { name: "@troupe/runtime/Session/durableParticipants" }

const remember = (participant: Participant): void => {
  const table = durableParticipants(participant.system)
  if (table.participants.has(participant)) return
  table.participants.add(participant)
  if (table.participants.size < table.sweepAt) return
  for (const p of table.participants) if (localCell(p.self)?.isTerminated !== false) table.participants.delete(p)
  table.sweepAt = Math.max(64, table.participants.size * 2)
}

/**
 * Drops the durable session roles the participants of `system` play (its storage was fenced: another process took
 * the node name over and runs them now): each program interrupted, nothing stored and nothing told to the
 * coordinator or the peers, as if this process had died.
 */
const dropRoles =
  (system: SystemImpl) =>
  (error: NodeFenced): number => {
    let dropped = 0
    for (const participant of durableParticipants(system).participants)
      for (const session of [...participant.sessions.values()]) {
        if (session.durable === undefined) continue
        dropped++
        const cause = new SessionCancelled({
          protocol: participant.spec.choreography.name,
          session: session.id,
          reason: error.message
        })
        // (silent: it ends the role and interrupts its program now, and tells no one)
        system.runDetached(session.abort(cause, "silent", true))
      }
    return dropped
  }

/** The Join of a participant whose node name this process does not hold: answered `ParticipantFailed`, saying why. */
const refusedName =
  (participant: Participant, m: Join) =>
  (error: NodeNameTaken | NodeFenced): Effect.Effect<never, ParticipantFailed> =>
    Effect.fail(
      new ParticipantFailed({
        protocol: participant.spec.choreography.name,
        session: m.session,
        role: m.member ?? participant.spec.role,
        cause: `${participant.self.path} on node ${participant.system.node} cannot join a durable session: ${error.message}`
      })
    )

const noStorageKey = { name: "@troupe/runtime/Session/durableJoinWithNoStorage" }

/**
 * The session store of the participant's storage (a durable session's participants are spawned with one).
 *
 * @example
 * // const store = yield* DurableParticipant.store(participant, "order-42")
 */
export const store = (participant: Participant, session: string): Effect.Effect<SessionStore> =>
  Effect.flatMap(Effect.serviceOption(Storage), (storage) => {
    if (Option.isNone(storage)) {
      return Effect.die(
        new Error(
          `${participant.self.path} joined the durable session ${session} with no Storage: provide one (Storage.layerSqlite or Storage.layerPostgres) where it is spawned`
        )
      )
    }
    const { sql, writer, failed } = storageInternal(storage.value)
    return Effect.succeed(sessionStore(sql, writer, failed))
  })

/**
 * Joins a durable session: a new one, or (after this node restarted) one whose log holds this role's past,
 * which the role's program replays before it goes on live. A role that aborted the session does not join it: it
 * tells the coordinator its abort again (the coordinator started again before it stored the end). Answers whether
 * the role joined.
 */
const joinFromLog = (participant: Participant, m: Join, durable: Durable): Effect.Effect<boolean, unknown> =>
  Effect.gen(function* () {
    // a participant spawned with no Storage answers, typed: a peer's durable Join does not crash it (a restart
    // aborts the sessions it runs)
    const storage = yield* Effect.serviceOption(Storage)
    if (Option.isNone(storage)) return yield* Effect.fail(noStorage(participant, m))
    // one live process per node name and storage, for a node that only plays roles too: a second one would resume
    // them and run their `once` effects again. Refused (`NodeNameTaken`, or `NodeFenced` once this process was taken
    // over), the Join is answered `ParticipantFailed` saying so (a failed handler would crash the participant)
    yield* Fencing.claim(
      storageInternal(storage.value),
      participant.system,
      "roles",
      dropRoles(participant.system)
    ).pipe(Effect.catchTags({ NodeNameTaken: refusedName(participant, m), NodeFenced: refusedName(participant, m) }))
    remember(participant)
    const coordinator = m.coordinator as ActorRef<CoordinatorProtocol>
    const answerAbort = (cause: AbortCause) =>
      Effect.as(
        coordinator.tell({ _tag: "Abort", session: m.session, role: participant.spec.role, cause, trace: [] }),
        false
      )
    const aborting = participant.aborting?.get(m.session)
    if (aborting !== undefined) return yield* answerAbort(aborting)
    const sessions = yield* store(participant, m.session)
    // (a role that had completed replays to its end and reports the same result again)
    const log = yield* sessions.role(m.session, participant.spec.role)
    if (log.aborted !== undefined) {
      const decoded = decodeCause(log.aborted)
      return yield* answerAbort(
        Exit.isSuccess(decoded)
          ? decoded.value
          : new ParticipantFailed({
              protocol: participant.spec.choreography.name,
              session: m.session,
              role: participant.spec.role,
              cause: `its abort is stored, with a cause that does not decode: ${Cause.pretty(decoded.cause)}`
            })
      )
    }
    // it counts against the bounds of sessions held (and, not begun, of those not begun), as a plain one does
    const refused = participant.admit(m, durable.begun)
    if (refused !== undefined) return yield* refused
    const session = new RoleSession(participant, m)
    session.durable = new DurableRole({
      store: sessions,
      choreography: participant.spec.choreography,
      session: m.session,
      role: participant.spec.role,
      deadlineMillis: durable.deadlineMillis,
      system: participant.system,
      log
    })
    Recovery.preload(session, session.durable.inbound(log))
    if (durable.lease !== undefined) heard(session, durable.lease, false)
    participant.sessions.set(m.session, session)
    if (!durable.begun) return true
    session.begun = true
    // it resumes (published as `SessionResumed`), whether or not the log holds anything for its program to replay
    const replays = log.sent.size > 0 || log.onces.length > 0 || log.inbound.size > 0
    if (!replays) session.resuming()
    yield* startRun(participant, session, replays)
    return true
  })

/**
 * A durable session's role after its actor restarted: its program replays the log from the start.
 *
 * @example
 * // in the participant's restart: if (session.durable !== undefined) return DurableParticipant.resume(this, session)
 */
export const resume = (participant: Participant, session: RoleSession): Effect.Effect<void> => {
  const durable = session.durable!
  return durable.store.role(session.id, participant.spec.role).pipe(
    Effect.flatMap((log) =>
      Effect.suspend(() => {
        Recovery.preload(session, durable.inbound(log))
        // (messages held ahead of the next one that are next now: a refused one aborts the session)
        return session.releaseAhead() ?? startRun(participant, session, true)
      })
    ),
    Effect.catchCause((cause) =>
      session.abort(new ParticipantFailed({ ...session.names(), cause: Cause.pretty(cause) }), "report", false)
    )
  )
}
