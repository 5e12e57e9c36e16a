/**
 * The roles of a durable session a coordinator recovers (see `DurableSession.recover`): refs to the participants its
 * record binds, on this node at once, on other nodes once they are connected.
 *
 * @example
 * ```ts
 * const roles = yield* SessionRoles.resolve(impl, protocol, record) // undefined: a node was not back in time
 * ```
 */
import type { Choreography as C } from "@troupe/choreography"
import { Effect } from "effect"
import type { ActorRef } from "../../ActorRef.ts"
import type { ParticipantProtocol } from "../../choreography/internal/sessionProtocols.ts"
import { protocolsOf } from "../../choreography/internal/sessionProtocols.ts"
import type { SystemImpl } from "../../internal/system.ts"
import type { SessionRecord } from "./sessionStore.ts"

/** Refs to the session's roles: local ones at once, remote ones once their node is connected (until the deadline). */
export const resolve = (
  impl: SystemImpl,
  protocol: C.Protocol,
  record: SessionRecord
): Effect.Effect<Readonly<Record<string, ActorRef<ParticipantProtocol>>> | undefined> =>
  Effect.gen(function* () {
    const participants = protocolsOf(protocol).participants
    const since = Date.now()
    for (;;) {
      const roles: Record<string, ActorRef<ParticipantProtocol>> = {}
      let missing = false
      for (const [role, binding] of Object.entries(record.spec.roles)) {
        const participant = participants.get(role)!
        const ref =
          binding.node === impl.node
            ? impl.localRef(binding.path, participant)
            : impl.remoteRef(binding.node, binding.path, participant)
        if (ref === undefined || typeof ref === "string") missing = true
        else roles[role] = ref as ActorRef<ParticipantProtocol>
      }
      if (!missing) return roles as Readonly<Record<string, ActorRef<ParticipantProtocol>>>
      if (Date.now() - since > record.spec.deadlineMillis) return undefined
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 100)))
    }
  })
