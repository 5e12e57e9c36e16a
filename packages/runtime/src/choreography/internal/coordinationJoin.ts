/**
 * The coordinator's join bookkeeping (for a `Coordination`, see `coordination.ts`): the Join message each role is
 * asked, and how the join starts (all roles on this node and not durable: answered in the coordinator's call, see
 * `SessionJoin.joinLocal`; else a fiber, which a durable or sharded session stored already runs after taking its place
 * among the sessions joining, see `durableAdmission.ts`). The place itself is the coordination's (`leaveJoining`,
 * `holdJoining`): given back once every role answered, or the session ended first.
 */
import { Effect } from "effect"
import type { ActorRef } from "../../ActorRef.ts"
import { localCell } from "../../internal/system.ts"
import type * as Coordination from "./coordination.ts"
import * as DurableAdmission from "./durableAdmission.ts"
import * as RoleFlags from "./roleFlags.ts"
import * as SessionJoin from "./sessionJoin.ts"
import type { ParticipantProtocol } from "./sessionProtocols.ts"

type Session = Coordination.Coordination

/** Every role's participant (see `Coordination.ref`). */
const refs = (c: Session): Readonly<Record<string, ActorRef<ParticipantProtocol>>> =>
  Object.fromEntries(c.roles.map((r) => [r, c.ref(r)]))

/**
 * The Join message of `role` (in a durable session: with the deadline, whether the session began, whom to send again
 * to, and the roles its lease does not reach now).
 *
 * @example
 * yield* c.ref(role).ask(joinMessage(c, ctx, role))
 */
export const joinMessage = (c: Session, ctx: Coordination.Ctx, role: string, resendTo?: string) => {
  const { id, traceLimit, durable } = c.settings
  const stepTimeoutMillis = c.settings.stepTimeoutMillis[role]
  return {
    _tag: "Join",
    session: id,
    roles: refs(c),
    coordinator: c.settings.self ?? ctx.self,
    traceLimit,
    ...(stepTimeoutMillis === undefined ? {} : { stepTimeoutMillis }),
    ...(c.choreography.instanceOf === undefined ? {} : { member: role, sizes: c.choreography.instanceOf.sizes }),
    ...(durable === undefined
      ? {}
      : {
          durable: {
            deadlineMillis: durable.deadlineMillis,
            begun: c.begun,
            ...(resendTo === undefined ? {} : { resendTo }),
            ...(durable.leaseMillis === undefined
              ? {}
              : {
                  lease: {
                    everyMillis: durable.leaseMillis,
                    unreachable: c.roles.filter(
                      (r, i) => r !== role && RoleFlags.has(c.unreachableRoles, i) && !c.hasEnded(r)
                    )
                  }
                })
          }
        })
  } as const
}

/**
 * Starts the join (in the coordinator's `init`): with every role on this node and the session not durable, each role
 * is asked in the coordinator's call (see `SessionJoin.joinLocal`); else a fiber asks them (a durable or sharded
 * session stored already takes its place among those joining first). Either way the session's place goes to the next
 * in line once the join is done.
 *
 * @example
 * // in Coordination.start:
 * yield* startJoin(this, ctx)
 */
export const startJoin = (c: Session, ctx: Coordination.Ctx): Effect.Effect<void> => {
  const settings = c.settings
  // Not in the actor's scope, where a second finalizer makes a `Map` that the session would keep: the join is
  // interrupted by the coordinator's stop instead (see `sessionEnd.ts`).
  if (settings.durable === undefined && c.roles.every((r) => localCell(settings.roles[r]!) !== undefined)) {
    return Effect.withFiber((fiber) => Effect.sync(() => SessionJoin.joinLocal(c, ctx, fiber)))
  }
  return Effect.map(Effect.forkDetach(DurableAdmission.admitted(c, ctx, SessionJoin.join(c, ctx))), (joining) => {
    c.joining = joining
    joining.addObserver(() => {
      if (c.joining === joining) c.joining = undefined
      c.leaveJoining()
    })
  })
}
