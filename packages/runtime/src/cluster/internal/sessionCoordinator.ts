/**
 * The coordinators of sessions with sharded roles (see `ShardedSession`): one sharded type per protocol, one actor per
 * session (its id the session's), built from the session's record wherever the cluster activates it. A role this
 * runner cannot address (its type not hosted here) is looked up again until the session's deadline, then fails the
 * session with `ParticipantStopped` ("unreachable").
 */
import type { Choreography as C } from "@troupe/choreography"
import { Deferred, Duration, Effect, Option, Schema } from "effect"
import { Sharding } from "effect/cluster"
import type { ActorRef } from "../../ActorRef.ts"
import * as Coordinator from "../../choreography/internal/coordinator.ts"
import * as Lease from "../../choreography/internal/lease.ts"
import { AbortCause, ParticipantStopped, type SessionAborted } from "../../choreography/internal/sessionErrors.ts"
import {
  type CoordinatorProtocol,
  type ParticipantProtocol,
  protocolsOf
} from "../../choreography/internal/sessionProtocols.ts"
import { storeOf } from "../../durable/internal/durableCoordinator.ts"
import type { Storage } from "../../durable/Storage.ts"
import * as Sharded from "../Sharded.ts"
import * as Resolver from "./resolver.ts"

type Choreography = C.Protocol

const coordinatorTypes = new WeakMap<Choreography, Sharded.Sharded<CoordinatorProtocol, Storage | Sharding.Sharding>>()

/** The sharded type of the coordinators of `protocol`'s sessions (one actor per session, its id the session's). */
export const coordinatorOf = (
  protocol: Choreography
): Sharded.Sharded<CoordinatorProtocol, Storage | Sharding.Sharding> => {
  let type = coordinatorTypes.get(protocol)
  if (type === undefined) {
    type = Sharded.make(`session.${protocol.name}`, {
      protocol: protocolsOf(protocol).coordinator,
      behavior: (id) => Coordinator.behaviorFrom(protocol, id, settingsOf(protocol, id)),
      // the starter waits for the coordinator to stop (it stops once the session's end is stored)
      wake: { _tag: "Wake" }
    }) as Sharded.Sharded<CoordinatorProtocol, Storage | Sharding.Sharding>
    coordinatorTypes.set(protocol, type)
  }
  return type
}

const encodeCause = Schema.encodeSync(Schema.toCodecJson(AbortCause))

/** A coordinator's settings, from the session's record (`undefined` once the session ended). */
const settingsOf = (protocol: Choreography, id: string) =>
  Effect.gen(function* () {
    const store = yield* storeOf
    const record = yield* store.session(id)
    if (Option.isNone(record) || record.value.status !== "running") return undefined
    const { spec, begun } = record.value
    const roles = yield* resolveRoles(protocol, spec.roles, spec.deadlineMillis)
    if (roles instanceof Missing) {
      // a role this runner cannot address (its type is not hosted here): the session fails, typed
      const { role, path, detail } = roles
      const cause = new ParticipantStopped({
        protocol: protocol.name,
        session: id,
        role,
        path,
        reason: "unreachable",
        detail
      })
      yield* store.finish(id, "aborted", { cause: encodeCause(cause) })
      return undefined
    }
    return {
      id,
      roles,
      stepTimeoutMillis: spec.stepTimeoutMillis,
      traceLimit: spec.traceLimit,
      outcome: Deferred.makeUnsafe<Coordinator.Completed<Record<string, unknown>>, SessionAborted>(),
      self: yield* Sharded.ref(coordinatorOf(protocol), id),
      durable: {
        store,
        deadlineMillis: spec.deadlineMillis,
        leaseMillis: Lease.periodOf(spec.deadlineMillis),
        // on the runner the cluster activated it on, the coordinator takes its place among the sessions joining there
        waitsInLine: true,
        recovered: { begun, results: yield* store.resultsOf(id) }
      }
    } satisfies Coordinator.Settings
  })

/** A role whose ref this runner cannot make, and why. */
class Missing {
  readonly role: string
  readonly path: string
  readonly detail: string
  constructor(role: string, path: string, detail: string) {
    this.role = role
    this.path = path
    this.detail = detail
  }
}

/**
 * Refs to the session's roles. A runner that has just started may not have registered every type yet (its layers
 * are built side by side): a role it cannot address is looked up again until the deadline.
 */
const resolveRoles = (
  protocol: Choreography,
  bindings: Readonly<Record<string, { readonly path: string }>>,
  deadlineMillis: number
) =>
  Effect.gen(function* () {
    const participants = protocolsOf(protocol).participants
    // the types this runner hosts (not another cluster's in the same process)
    const hosted = Resolver.tableOf(yield* Sharding.Sharding)
    const since = Date.now()
    for (;;) {
      const roles: Record<string, ActorRef<ParticipantProtocol>> = {}
      let missing: Missing | undefined
      for (const [role, { path }] of Object.entries(bindings)) {
        const participant = participants.get(role)!
        const ref = hosted.resolve({ path }, participant)
        if (typeof ref === "string") missing ??= new Missing(role, path, ref)
        else roles[role] = ref as ActorRef<ParticipantProtocol>
      }
      if (missing === undefined) return roles as Readonly<Record<string, ActorRef<ParticipantProtocol>>>
      if (Date.now() - since >= deadlineMillis) return missing
      yield* Effect.sleep(Duration.millis(100))
    }
  })
