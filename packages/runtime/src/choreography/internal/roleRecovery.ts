/**
 * How a role's session recovers what a node or a link took: a durable role resumed from its log takes the
 * messages the log holds first, follows its peers where they are now and sends again what they lack, and waits
 * for a coordinator that is gone; a lost link has what it carried sent again (durable) or ends the session.
 */
import { Deferred, Duration, Effect, Schedule } from "effect"
import type { ActorRef } from "../../ActorRef.ts"
import { deliveries } from "../../durable/internal/durableRole.ts"
import type { StorageError } from "../../durable/internal/errors.ts"
import { localCell } from "../../internal/system.ts"
import type * as Protocol from "../../Protocol.ts"
import { store } from "./durableParticipant.ts"
import type { Failure, Participant } from "./participant.ts"
import { inboxOf, type Peer } from "./rolePeers.ts"
import type { RoleSession } from "./roleSession.ts"
import { ParticipantStopped, SessionNodeLost } from "./sessionErrors.ts"
import type { ParticipantProtocol } from "./sessionProtocols.ts"

type Deliver = Protocol.MessageOf<ParticipantProtocol["definition"], "Deliver">
type Join = Protocol.MessageOf<ParticipantProtocol["definition"], "Join">

/** How often a durable session's role tries again a message the cluster could not carry. */
const resendEveryMillis = 200

/**
 * A failure of the cluster that sending again later may get past (see `Sharded`'s `ClusterUnavailable`), or this
 * process's runner stopping (`Shutdown`): the role is then passivated with it and resumes from its log under the
 * shard's next owner, where its program sends again what the peer lacks, so the send waits to be interrupted
 * rather than fail the session.
 */
const retryable = (error: unknown): boolean => {
  if (typeof error !== "object" || error === null) return false
  const e = error as { readonly _tag?: unknown; readonly retryable?: unknown; readonly reason?: unknown }
  return e._tag === "ClusterUnavailable" && (e.retryable === true || e.reason === "Shutdown")
}

/**
 * A durable role resumes: the messages the log holds for it go first, then those that arrive.
 *
 * @example
 * // a durable role read its log: what it holds for the role goes first
 * // Recovery.preload(session, durable.inbound(log))
 */
export const preload = (session: RoleSession, inbound: ReadonlyMap<string, ReadonlyArray<Deliver>>): void => {
  for (const [from, messages] of inbound) {
    const peer = session.peer(from)
    const last = messages.at(-1)
    if (peer === undefined || last === undefined) continue
    const inbox = inboxOf(peer)
    const later = [...inbox.drain()].filter((m) => (m as Deliver).seq > last.seq)
    for (const m of messages) inbox.push(m)
    for (const m of later) inbox.push(m)
    peer.received = Math.max(peer.received, last.seq)
  }
}

/**
 * The peers' participants as a durable session's coordinator sees them now.
 *
 * @example
 * // a Join of a durable session said where every role is now
 * // Recovery.rebind(session, join.roles)
 */
export const rebind = (session: RoleSession, roles: Readonly<Record<string, ActorRef<Protocol.Any>>>): void => {
  for (const peer of session.peers) {
    const ref = roles[peer.role]
    if (ref === undefined || ref === peer.ref) continue
    peer.ref = ref
    peer.cell = localCell(ref)
  }
}

/**
 * Whether `peer`, a participant of this node, lacks message `seq` of `session`'s role, which the role's log holds
 * and its program, replaying, sends again: only if the peer holds the session and has not received it. Otherwise
 * it would drop it: it has it, or it does not hold the session (it ended; or it has not joined it yet, and when
 * it does it reads the log, and its peers are asked to send it again what they sent it: see `resend`).
 *
 * @example
 * // a replayed send of message 3 to C, on C's node
 * // Recovery.lacks(session, session.peer("C")!, 3) // false once C received 3
 */
export const lacks = (session: RoleSession, peer: Peer, seq: number): boolean => {
  const received = session.participant.heldBy(peer.ref.path, session.id)?.peer(session.role)?.received
  return received !== undefined && received < seq
}

/**
 * Sends again to `to` (which resumed from the log) every message this role sent it; it drops what it has. The
 * messages go out in the background (see {@link sendAgain}): the Join that asked for them is answered at once.
 *
 * @example
 * // a Join asked this role to send B again what it sent it
 * // Recovery.resend(session, "B")
 */
export const resend = (session: RoleSession, to: string): Effect.Effect<void> =>
  Effect.sync(() => {
    const peer = session.peer(to)
    if (peer === undefined || session.durable === undefined) return
    sendAgain(session, peer, session.durable.resend(to, 0))
  })

/** What is left to send again to one peer, and while a fiber sends it, done when it has (see {@link sendAgain}). */
interface Backlog {
  readonly queue: Array<Deliver>
  sending: Deferred.Deferred<void> | undefined
}

const backlogs = new WeakMap<Peer, Backlog>()

/**
 * Sends `messages`, which `peer` may lack, again to it in the background: in order of number, one at a time, after
 * those still waiting to be sent again to it (a message waiting already is not queued twice), each tried again as
 * {@link tellPeer} does while the cluster cannot carry it, until the role's actor stops (its next incarnation
 * replays the log and sends them again).
 *
 * Neither the role's program nor its actor waits for them: a peer on another runner acknowledges each send, one
 * round trip (and, while its shard moves, retries every 200 ms), so a program that replayed 18 rounds waited for 36
 * round trips before it went on live (30 s under load in a rolling restart), and an actor asked by a Join to send
 * them again answered no lease Join meanwhile (the coordinator counted the role as gone and ended the session with
 * `SessionNodeLost`). The receiver drops what it has, by number, and holds a message that comes ahead of the ones
 * between until they come (see `RoleSession.deliver`), so a live send that overtakes them is not lost.
 *
 * @example
 * // a replayed send of message 3 to B (on another runner), which the log holds
 * // Recovery.sendAgain(session, session.peer("B")!, [message])
 */
export const sendAgain = (session: RoleSession, peer: Peer, messages: ReadonlyArray<Deliver>): void => {
  if (messages.length === 0) return
  let backlog = backlogs.get(peer)
  if (backlog === undefined) backlogs.set(peer, (backlog = { queue: [], sending: undefined }))
  const queue = backlog.queue
  for (const m of messages) if (!queue.some((q) => q.seq === m.seq)) queue.push(m)
  queue.sort((a, b) => a.seq - b.seq)
  if (backlog.sending !== undefined) return
  const sending = Deferred.makeUnsafe<void>()
  backlog.sending = sending
  const scope = session.participant.ctx.scope
  const stopped = () => scope.state._tag === "Closed"
  const drain = Effect.whileLoop({
    while: () => queue.length > 0 && !stopped(),
    body: () => Effect.ignore(tellPeer(session, peer, queue.shift()!, stopped)),
    step: () => {}
  }).pipe(
    Effect.ensuring(
      Effect.sync(() => {
        backlog.sending = undefined
        if (stopped()) queue.length = 0
        Deferred.doneUnsafe(sending, Effect.void)
      })
    )
  )
  session.participant.system.runBackground(drain)
}

/**
 * Done once nothing is left to send again to the role's peers (see {@link sendAgain}), or its actor stopped: a durable
 * role completes only then, so that a peer waiting for a message the role sent again gets it (the role that completed
 * is not joined again to send it).
 *
 * @example
 * // before a durable role commits its result:
 * // Effect.andThen(Recovery.drained(session), durable.done(result, trace))
 */
export const drained = (session: RoleSession): Effect.Effect<void> =>
  Effect.suspend(() => {
    for (const peer of session.peers) {
      const sending = backlogs.get(peer)?.sending
      if (sending !== undefined) return Effect.andThen(Deferred.await(sending), drained(session))
    }
    return Effect.void
  })

/**
 * A peer that resumed from the log wants again what this role sent it (the Join `join` says so), but the role
 * no longer holds the session. If it completed, it sent every message it was to send: they are sent again from
 * memory while its completion is being committed, else from the log (committed with the completion), without
 * running its program again (the peer drops what it has, by number). Answers whether it had completed (if not,
 * it resumes from the log as any role whose node restarted, and its program sends them again as it replays).
 *
 * @example
 * // a Join with `resendTo: "C"` for a session the participant does not hold
 * // Recovery.resendCompleted(participant, join, "C") // true: sent again, nothing replayed
 */
export const resendCompleted = (
  participant: Participant,
  join: Join,
  to: string
): Effect.Effect<boolean, StorageError> => {
  const { choreography, role } = participant.spec
  const ref = join.roles[to]
  // (in the background, in order: the Join is answered at once, see `sendAgain`)
  const tell = (messages: ReadonlyArray<Deliver>) =>
    Effect.sync(() => {
      if (ref !== undefined && messages.length > 0)
        participant.system.runBackground(
          Effect.forEach(messages, (m) => ref.tell(m as never).pipe(Effect.ignore), { discard: true })
        )
      return true
    })
  const completing = participant.completing.get(join.session)
  if (completing !== undefined) return tell(completing.resend(to, 0))
  return store(participant, join.session).pipe(
    Effect.flatMap((store) => store.sentByCompleted(join.session, role, to)),
    Effect.flatMap((sent) =>
      sent === undefined
        ? Effect.succeed(false)
        : Effect.suspend(() => tell(deliveries(choreography, participant.system, join.session, role, to, sent)))
    )
  )
}

/**
 * This node's link to `node` ended (its failure detector declared it down; it may live and link again): what
 * went between this role and its peers there may be lost. A durable session's coordinator is told, and has
 * each side send the other again what it sent once the link is back (the receiver drops what it has, by
 * number); any other session is aborted, as a peer that left it. (When the coordinator is on `node`, its death
 * watch tells the role; the roles there see their own link end, and tell it.)
 *
 * @example
 * // this node declared n2 down
 * // system.runBackground(Recovery.linkLost(session, "n2"))
 */
export const linkLost = (session: RoleSession, node: string): Effect.Effect<void> => {
  if (session.ended || session.coordinator.node === node) return Effect.void
  let lost: Peer | undefined
  for (const peer of session.peers) if (peer.ref.node === node) lost ??= peer
  if (lost === undefined) return Effect.void
  if (session.durable !== undefined)
    return session.report({ _tag: "Relink", session: session.id, role: session.role, node })
  const stopped = new ParticipantStopped({
    ...session.names(),
    role: lost.role,
    path: lost.ref.path,
    reason: "node-down",
    detail: `node ${node}, as seen from node ${session.participant.system.node}: what the link carried is lost`
  })
  return session.abort(stopped, "report", true)
}

/**
 * The coordinator of a durable session is gone: wait for it (it joins again) until the deadline.
 *
 * @example
 * // the participant's death watch of the coordinator fired
 * // Recovery.awaitCoordinator(session)
 */
export const awaitCoordinator = (session: RoleSession): Effect.Effect<void> => {
  const durable = session.durable!
  if (durable.coordinatorGone !== undefined || session.ended) return Effect.void
  const deadlines = session.participant.system.deadlines
  const since = deadlines.now()
  const deadline = deadlines.schedule(since + durable.deadlineMillis, () => {
    durable.coordinatorGone = undefined
    const lost = new SessionNodeLost({
      ...session.names(),
      role: "coordinator",
      node: session.coordinator.node,
      waitedMillis: deadlines.now() - since
    })
    session.participant.system.runBackground(session.abort(lost, "silent", true))
  })
  durable.coordinatorGone = () => deadlines.cancel(deadline)
  return Effect.void
}

/**
 * Tells a peer of another node or runner. In a durable session, a message the cluster cannot carry now (a
 * shard moving, a runner restarting: `ClusterUnavailable`, retryable) is sent again until the session's
 * deadline (or until `stopped` says so): the peer may hold the session still, and would then never be sent it again.
 *
 * @example
 * // a durable role's send to a peer on another runner
 * // Recovery.tellPeer(session, peer, message)
 */
export const tellPeer = (
  session: RoleSession,
  peer: Peer,
  message: Deliver,
  stopped: () => boolean = () => false
): Effect.Effect<void, Failure> => {
  const tell = peer.ref.tell(message as never) as Effect.Effect<void, Failure>
  const durable = session.durable
  if (durable === undefined) return tell
  return tell.pipe(
    Effect.retry({
      while: (error) => retryable(error) && !stopped(),
      schedule: Schedule.spaced(Duration.millis(resendEveryMillis)),
      times: Math.ceil(durable.deadlineMillis / resendEveryMillis)
    })
  )
}
