/**
 * How the coordinator of a durable session (see `DurableSession`) joins its roles: a role that cannot be
 * reached is asked again until the session's deadline (its node may be restarting); a role that joins again
 * has its peers send it again what they sent it; nodes that lost their link to each other and have it again
 * send each other again what they had in flight; and roles that have no death watch (sharded actors) are held
 * by a lease (see `lease.ts`).
 */
import type { Choreography as C } from "@troupe/choreography"
import { Cause, Clock, Deferred, Duration, Effect, Schedule } from "effect"
import type { ActorRef } from "../../ActorRef.ts"
import type { ActorContext } from "../../Behavior.ts"
import type { SessionStore } from "../../durable/internal/sessionStore.ts"
import type * as Protocol from "../../Protocol.ts"
import { joinDone } from "./durableAdmission.ts"
import { hold } from "./lease.ts"
import { nodesApart } from "./reachability.ts"
import type { Admission } from "./sessionAdmission.ts"
import {
  type AbortCause,
  ParticipantFailed,
  SessionCancelled,
  SessionJoinRefused,
  SessionNodeLost,
  type SessionNodesApart
} from "./sessionErrors.ts"
import type { CoordinatorProtocol, ParticipantDefinition, ParticipantProtocol } from "./sessionProtocols.ts"

/** How a durable session's coordinator keeps it. */
export interface Durability {
  readonly store: SessionStore
  readonly deadlineMillis: number
  /**
   * Roles that have no death watch (sharded actors), or some of which are on other nodes, are held by a lease (see
   * `lease.ts`): asked to join again every `leaseMillis` while the session runs.
   */
  readonly leaseMillis?: number | undefined
  /**
   * The roles are watched (not sharded): the lease only tells the others' step deadlines which roles are unreachable;
   * a role that is gone ends the session through the death watch (its node declared down, asked to join again until
   * the deadline), not through the lease.
   */
  readonly watched?: boolean | undefined
  /**
   * The coordinator takes its place among the sessions joining on its node (see `sessionAdmission.ts`) before it asks
   * the roles, waiting in line as long as it takes: a session stored already (recovered after its node restarted, or
   * a sharded one) cannot be refused without storing its end. (`DurableSession.start` takes the place before the
   * session is stored, and hands it to the coordinator: `Settings.admission`.)
   */
  readonly waitsInLine?: boolean | undefined
  /** Set when the coordinator starts again after its node restarted: the session as stored. */
  readonly recovered?: {
    readonly begun: boolean
    readonly results: ReadonlyMap<string, { readonly result: unknown; readonly trace: unknown }>
  }
}

type Ctx = ActorContext<CoordinatorProtocol>

/**
 * What joining a durable session's roles needs of its coordination (the coordinator's state).
 *
 * @example
 * // in the coordinator, once every role joined:
 * // return Effect.as(DurableJoin.begin(this, ctx, durable, begun), this)
 */
export interface Joining {
  readonly id: string
  readonly choreography: C.Protocol
  readonly settings: {
    readonly roles: Readonly<Record<string, ActorRef<ParticipantProtocol>>>
    readonly durable?: Durability | undefined
  }
  readonly roles: ReadonlyArray<string>
  readonly phase: "joining" | "running" | "aborting" | "ended"
  /** Whether `role` has ended. */
  hasEnded(role: string): boolean
  /** The participant of `role` (a ref to its node's current incarnation). */
  ref(role: string): ActorRef<ParticipantProtocol>
  /** The Join message of `role`, with the deadline, whether the session began, and whom to send again to. */
  joinMessage(ctx: Ctx, role: string, resendTo?: string): Protocol.MessageOf<ParticipantDefinition, "Join">
  /** Aborts the session (a message to the coordinator itself): `role` could not be joined. */
  abortBy(ctx: Ctx, role: string, cause: AbortCause): Effect.Effect<void, unknown>
  /** Whether the lease reaches `role` now (the other roles' Joins say so). */
  reach(role: string, reachable: boolean): void
  /** The session holds a place among those joining from now on: given back when the join is done. */
  holdJoining(admission: Admission): void
}

/** How often a durable session's coordinator tries again to join a role whose node is gone. */
const rejoinEveryMillis = 200

const liveClock = Clock.Clock.defaultValue()

/**
 * Asks `role` of a durable session a Join (made anew each time: a node may have restarted meanwhile) until
 * it answers (then `answered`, with whether it resumed from the log), while `wanted`: its node may be restarting,
 * or have no link yet to a peer's node (the Join does not decode there until it has). At the deadline the session
 * is aborted: `SessionNodesApart` when the role's node still had no link to a peer's node that this node reaches,
 * else `SessionNodeLost`.
 *
 * @example
 * // join `role`, and tell the coordinator once it did:
 * // askDurable(session, ctx, durable, role, undefined, () => true, () => ctx.self.tell({ _tag: "Joined", role }))
 */
export const askDurable = (
  session: Joining,
  ctx: Ctx,
  durable: Durability,
  role: string,
  resendTo: string | undefined,
  wanted: () => boolean,
  answered: (resumed: boolean) => Effect.Effect<void, unknown>
): Effect.Effect<void> => {
  const { id } = session
  const { roles } = session.settings
  const since = Date.now()
  /** The role's node had no link to a peer's at the last answer (a timeout is no answer). */
  let apart: SessionNodesApart | undefined
  /** A node the role's node had no link to when a Join came: what they had in flight may be lost. */
  let relink: string | undefined
  /**
   * The role's answer that it cannot join: `ParticipantFailed` (spawned with no Storage) ends the asking at once;
   * `SessionJoinRefused` (its node holds as many sessions not begun as it may) is asked again until the deadline,
   * and is then why the session ends, not a lost node.
   */
  let refused: SessionJoinRefused | ParticipantFailed | undefined
  // a slow join is waited for (it is the role reading its log), up to the deadline: an attempt given up early
  // would interrupt it, and the next one would start over
  const ask = Effect.suspend(() =>
    session.ref(role).ask(session.joinMessage(ctx, role, resendTo), {
      timeout: Math.max(1, durable.deadlineMillis - (Date.now() - since))
    })
  ).pipe(
    Effect.tapError((error) =>
      Effect.sync(() => {
        apart =
          nodesApart(session.choreography.name, id, roles, role, error) ??
          (error._tag === "AskTimeout" ? apart : undefined)
        relink = apart?.peerNode ?? relink
        refused = error instanceof SessionJoinRefused || error instanceof ParticipantFailed ? error : undefined
      })
    )
  )
  return ask.pipe(
    Effect.retry({
      schedule: Schedule.spaced(Duration.millis(rejoinEveryMillis)),
      while: () => !(refused instanceof ParticipantFailed) && wanted() && Date.now() - since < durable.deadlineMillis
    }),
    Effect.provideService(Clock.Clock, liveClock),
    Effect.matchCauseEffect({
      onFailure: () =>
        wanted()
          ? Effect.flatMap(
              refused !== undefined
                ? Effect.succeed(refused)
                : atDeadline(session, ctx, role, apart, Date.now() - since),
              (cause) =>
                Effect.andThen(
                  Effect.sync(() => joinDone(session)),
                  session.abortBy(ctx, role, cause)
                )
            )
          : Effect.void,
      onSuccess: (resumed) =>
        relink === undefined
          ? answered(resumed)
          : Effect.andThen(answered(resumed), relinked(session, ctx, role, relink))
    }),
    Effect.ignore
  )
}

/**
 * Why a durable session ends when `role` did not answer by the deadline: `apart` (the role's node has no link to a
 * peer's) while this node still reaches the peer's node; otherwise the node that is gone (the peer's, or the
 * role's own), `SessionNodeLost`.
 */
const atDeadline = (
  session: Joining,
  ctx: Ctx,
  role: string,
  apart: SessionNodesApart | undefined,
  waitedMillis: number
): Effect.Effect<AbortCause> =>
  Effect.map(ctx.system.nodes, (linked) => {
    const here = ctx.system.node
    if (apart !== undefined && (apart.peerNode === here || linked.includes(apart.peerNode))) return apart
    const [lostRole, node] =
      apart === undefined ? [role, session.settings.roles[role]!.node] : [apart.peerRole, apart.peerNode]
    return new SessionNodeLost({
      protocol: session.choreography.name,
      session: session.id,
      role: lostRole,
      node,
      waitedMillis
    })
  })

/**
 * The node of `role` lost its link to `node` (a failure detector declared it down; it may live): what they had
 * in flight to each other is lost, so `role` and the roles on `node` send each other again what they sent
 * (each drops what it has, by number). Each side is asked until its node has the link again (a Join does not
 * decode before), up to the session's deadline (then `SessionNodesApart`).
 *
 * @example
 * // the role's participant told the coordinator (a `Relink`), or a Join found the nodes apart:
 * // return Effect.as(DurableJoin.relinked(this, ctx, role, node), this)
 */
export const relinked = (session: Joining, ctx: Ctx, role: string, node: string): Effect.Effect<void> => {
  const durable = session.settings.durable!
  const pairs = session.roles
    .filter((r) => r !== role && !session.hasEnded(r) && session.settings.roles[r]!.node === node)
    .flatMap((r) => [
      [r, role],
      [role, r]
    ])
  const resend = Effect.forEach(
    pairs,
    ([from, to]) => {
      const wanted = inSession(session, from!, to!)
      return askDurable(session, ctx, durable, from!, to!, wanted, joinedIfResumed(ctx, from!, wanted))
    },
    { concurrency: "unbounded", discard: true }
  )
  return Effect.asVoid(ctx.fork(resend))
}

/**
 * Tells the other roles (in a fiber) where `role` is now, and to send it again what they sent it.
 *
 * @example
 * // a role resumed from the log after the coordinator started again:
 * // Effect.andThen(DurableJoin.resendTo(this, ctx, role), this.allJoined(ctx, role))
 */
export const resendTo = (session: Joining, ctx: Ctx, role: string): Effect.Effect<void> => {
  const durable = session.settings.durable!
  const peers = session.roles.filter((r) => r !== role && !session.hasEnded(r))
  // asked until it answers (a peer whose node has no link to the role's yet cannot decode it): a peer never
  // told would keep sending to the role's old incarnation, and the session would wait for ever. A peer that resumed
  // from the log on this Join (it had lost the session too) joined again: see `joinedIfResumed`
  const resend = Effect.forEach(
    peers,
    (peer) => {
      const wanted = inSession(session, peer, role)
      return askDurable(session, ctx, durable, peer, role, wanted, joinedIfResumed(ctx, peer, wanted))
    },
    { concurrency: "unbounded", discard: true }
  )
  return Effect.asVoid(ctx.fork(resend))
}

/**
 * The answer to a Join that asked `role` to send again to a peer: when `role` resumed from the log on it (it had lost
 * the session as well: two roles of a runner taken over, the first to resume has the other asked), the coordinator is
 * told it joined again, so that its peers send it again what they sent it. Its lease's own Join, coming after, finds
 * it holding the session and answers that it did not resume: without this, a message a peer sent it before it resumed
 * (dead-lettered by its new incarnation) was never sent again, and the peer's step timed out.
 */
const joinedIfResumed =
  (ctx: Ctx, role: string, wanted: () => boolean) =>
  (resumed: boolean): Effect.Effect<void, unknown> =>
    resumed && wanted() ? tellJoined(ctx, role) : Effect.void

/** `role` resumed from the log (it had lost the session): the coordinator is told it joined again (see `rejoined`). */
const tellJoined = (ctx: Ctx, role: string): Effect.Effect<void, unknown> => ctx.self.tell({ _tag: "Joined", role })

/** Whether the session runs (or is being joined) and neither role has ended. */
const inSession =
  (session: Joining, a: string, b: string): (() => boolean) =>
  () =>
    (session.phase === "joining" || session.phase === "running") && !session.hasEnded(a) && !session.hasEnded(b)

/**
 * A role of a durable session joined again (it was gone): its peers send it again what they sent it.
 *
 * @example
 * // return Effect.as(DurableJoin.rejoined(this, ctx, role), this)
 */
export const rejoined = (session: Joining, ctx: Ctx, role: string): Effect.Effect<void> =>
  Effect.suspend(() => {
    const held = leaseJoins.get(session)?.get(role)
    if (held !== undefined) Deferred.doneUnsafe(held, Effect.void)
    return Effect.andThen(ctx.watch(session.ref(role) as ActorRef<Protocol.Any>), resendTo(session, ctx, role))
  })

/**
 * The lease's join in flight to each role of a session, ended as answered when the role joins again by another way
 * (the coordinator's death watch saw its node go, and asked the node's next incarnation): a lease join sent to an
 * incarnation that died waits for its deadline, and the role would be lost meanwhile though it is back.
 */
const leaseJoins = new WeakMap<Joining, Map<string, Deferred.Deferred<void>>>()

/**
 * Holds the roles of a session by a lease (see `lease.ts`). A role lost at the deadline ends the session as at a
 * join's deadline (see `atDeadline`): `SessionNodesApart` when its node had no link to a peer's at its last answer.
 */
const lease = (session: Joining, ctx: Ctx, everyMillis: number): Effect.Effect<void> => {
  const { id } = session
  const { roles, durable } = session.settings
  const apart = new Map<string, SessionNodesApart>()
  const inFlight = new Map<string, Deferred.Deferred<void>>()
  leaseJoins.set(session, inFlight)
  return hold({
    roles: session.roles,
    everyMillis,
    deadlineMillis: durable!.deadlineMillis,
    holds: (role) => session.phase === "running" && !session.hasEnded(role),
    join: (role, timeout) =>
      Effect.suspend(() => {
        const joinedElsewhere = Deferred.makeUnsafe<void>()
        inFlight.set(role, joinedElsewhere)
        const ask = session
          .ref(role)
          .ask(session.joinMessage(ctx, role), { timeout })
          .pipe(
            Effect.tapError((error) =>
              Effect.sync(() => {
                const now =
                  nodesApart(session.choreography.name, id, roles, role, error) ??
                  (error._tag === "AskTimeout" ? apart.get(role) : undefined)
                if (now === undefined) apart.delete(role)
                else apart.set(role, now)
              })
            )
          )
        return Effect.raceFirst(ask, Effect.as(Deferred.await(joinedElsewhere), false))
      }),
    reach: (role, reachable) => session.reach(role, reachable),
    resumed: (role) => Effect.ignore(tellJoined(ctx, role)),
    lost:
      durable!.watched === true
        ? undefined
        : (role, waitedMillis) =>
            Effect.flatMap(atDeadline(session, ctx, role, apart.get(role), waitedMillis), (cause) =>
              Effect.ignore(session.abortBy(ctx, role, cause))
            )
  })
}

/**
 * Every role of a durable session joined: the coordinator watches them (and holds them by a lease, if it has
 * one). A session that had not `begun` before is stored as begun, and its roles begin on a Join that says so.
 *
 * @example
 * // in the coordinator, once every role joined:
 * // return Effect.as(DurableJoin.begin(this, ctx, durable, begun), this)
 */
export const begin = (session: Joining, ctx: Ctx, durable: Durability, begun: boolean): Effect.Effect<void> => {
  const { id } = session
  const watchAll = Effect.andThen(
    Effect.forEach(session.roles, (r) => ctx.watch(session.ref(r) as ActorRef<Protocol.Any>), { discard: true }),
    durable.leaseMillis === undefined ? Effect.void : ctx.fork(lease(session, ctx, durable.leaseMillis))
  )
  if (begun)
    return Effect.asVoid(
      Effect.ensuring(
        watchAll,
        Effect.sync(() => joinDone(session))
      )
    )
  // the roles begin on a Join that says so: it carries where every role is now (a node may have restarted
  // since its role joined), and is asked again until the role answers. A role that answers that it resumed from the
  // log (it lost the session since it joined) joined again: its peers send it again what they sent it; the others
  // have nothing to send again yet
  const always = () => true
  const start = Effect.andThen(
    durable.store.begin(id),
    Effect.forEach(
      session.roles,
      (r) => askDurable(session, ctx, durable, r, undefined, always, joinedIfResumed(ctx, r, always)),
      { concurrency: "unbounded", discard: true }
    )
  )
  return Effect.asVoid(
    Effect.andThen(
      watchAll,
      ctx.fork(
        start.pipe(
          Effect.ensuring(Effect.sync(() => joinDone(session))),
          Effect.catchCause((cause) =>
            ctx.self.tell({
              _tag: "Abort",
              session: id,
              role: session.roles[0]!,
              cause: new SessionCancelled({
                protocol: session.choreography.name,
                session: id,
                reason: `its start could not be stored: ${Cause.pretty(cause)}`
              }),
              trace: []
            })
          )
        )
      )
    )
  )
}
