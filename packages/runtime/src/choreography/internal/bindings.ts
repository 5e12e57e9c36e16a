/**
 * A session's bindings (who plays each role): checked before it starts, and bound to the protocol's roles when it
 * does. Code that builds them at run time (from configuration, with `Array(n).fill(ref)`, in plain JavaScript) can get
 * past the `Bindings` type, and a role left unbound or bound to the wrong shape would otherwise fail deep in the
 * session's start, or never let it end.
 */

import { Choreography } from "@troupe/choreography"
import { Schema } from "effect"
import { type ActorRef, isActorRef } from "../../ActorRef.ts"
import { type RoleSharded, shardedRole } from "./sessionErrors.ts"
import type { ParticipantProtocol } from "./sessionProtocols.ts"

/**
 * A role of a session is bound wrongly: not bound, bound to something that is not an actor ref, a single role bound
 * to a list or a family to one actor, a family to no actor, or one actor bound to two roles (each role is played by a
 * participant of its own). Nothing of the session was started.
 *
 * @example
 * ```ts
 * Session.run(Review, { roles: { Author: a, Reviewer: [r, r] } }) // fails with RoleBindingInvalid (Reviewer[1])
 * ```
 */
export class RoleBindingInvalid extends Schema.TaggedError<RoleBindingInvalid>()("RoleBindingInvalid", {
  protocol: Schema.String,
  /** The role, or a family's member as `Family[i]`. */
  role: Schema.String,
  /** What is wrong with its binding. */
  problem: Schema.String,
  /** What to bind instead. */
  fix: Schema.String
}) {
  override get message(): string {
    return `Role ${this.role} of a ${this.protocol} session is bound wrongly: ${this.problem}. What to do: ${this.fix}`
  }
}

const participantOf = (protocol: string, role: string) =>
  `the participant actor spawned from Session.role(${protocol}, "${role}", …)`

/**
 * The first role of `protocol` that `bindings` bind wrongly, in the protocol's order of roles (a family's members
 * in order), or `undefined` when every role is bound to a participant of its own.
 */
export const invalidBinding = (
  protocol: Choreography.Protocol,
  bindings: Readonly<Record<string, unknown>>
): RoleBindingInvalid | undefined => {
  const name = protocol.name
  const invalid = (role: string, problem: string, fix: string) =>
    new RoleBindingInvalid({ protocol: name, role, problem, fix })
  const playing = new Map<string, string>()
  const one = (role: string, family: string, ref: unknown): RoleBindingInvalid | undefined => {
    if (!isActorRef(ref))
      return invalid(
        role,
        `it is bound to ${describe(ref)}, not an actor ref`,
        `bind it to ${participantOf(name, family)}`
      )
    const key = `${ref.node}\u0000${ref.path}`
    const other = playing.get(key)
    if (other !== undefined)
      return invalid(
        role,
        `it is bound to actor ${ref.path}, which plays ${other} of this session already: each role is played by a participant of its own`,
        `spawn one participant per role (and per member of a family) and bind each once`
      )
    playing.set(key, role)
    return undefined
  }
  const sizes: Record<string, number> = {}
  for (const role of protocol.roles) {
    if (!Object.hasOwn(bindings, role))
      return invalid(
        role,
        "it is not bound",
        `add ${role} to the session's roles, bound to ${participantOf(name, role)}`
      )
    const bound = bindings[role]
    if (!protocol.families.has(role)) {
      if (Array.isArray(bound))
        return invalid(
          role,
          "a role that is not a family is bound to a list",
          `bind it to one actor, ${participantOf(name, role)}`
        )
      const wrong = one(role, role, bound)
      if (wrong !== undefined) return wrong
      continue
    }
    if (!Array.isArray(bound))
      return invalid(
        role,
        `${role} is a family, bound to ${describe(bound)} instead of a list`,
        `bind it to a list of actors, one per member, each ${participantOf(name, role)}`
      )
    if (bound.length === 0)
      return invalid(
        role,
        `${role} is a family bound to no actor`,
        "bind it to at least one actor (a family has one member or more)"
      )
    for (let i = 0; i < bound.length; i++) {
      const wrong = one(`${role}[${i}]`, role, bound[i])
      if (wrong !== undefined) return wrong
    }
    sizes[role] = bound.length
  }
  for (const role of Object.keys(bindings))
    if (!protocol.roles.includes(role))
      return invalid(
        role,
        `${name} has no role ${role} (its roles: ${protocol.roles.join(", ")})`,
        "bind only the protocol's roles"
      )
  if (protocol.families.size === 0) return undefined
  // (a protocol well-formed for some sizes of its families only: the instance is made here, and kept for the start)
  const instance = Choreography.instantiateSync(protocol, sizes)
  if (instance._tag === "Protocol") return undefined
  return invalid(
    [...protocol.families].join(", "),
    `the protocol is not well-formed with ${Object.entries(sizes)
      .map(([family, n]) => `${n} ${family}`)
      .join(" and ")}: ${instance.message}`,
    "bind a number of members the protocol allows"
  )
}

const describe = (value: unknown): string =>
  isActorRef(value)
    ? `one actor (${value.path})`
    : value === undefined
      ? "undefined"
      : value === null
        ? "null"
        : Array.isArray(value)
          ? `a list of ${value.length}`
          : typeof value === "object"
            ? "an object"
            : `a ${typeof value}`

/** A session's bindings as `start` is given them: an actor per role, a list of actors per family. */
type Bound = Readonly<Record<string, ActorRef<ParticipantProtocol> | ReadonlyArray<ActorRef<ParticipantProtocol>>>>

/**
 * The first role bound to a sharded actor (a family's member by its index), as the `RoleSharded` that `start` fails
 * with: checked before the session takes a place, without binding the protocol's instance.
 */
export const shardedBinding = (protocol: string, bindings: Bound): RoleSharded | undefined => {
  for (const role in bindings) {
    const bound = bindings[role]!
    if (!Array.isArray(bound)) {
      const ref = bound as ActorRef<ParticipantProtocol>
      if (ref.node === "cluster") return shardedRole(protocol, { [role]: ref })
    } else {
      for (let i = 0; i < bound.length; i++)
        if (bound[i].node === "cluster") return shardedRole(protocol, { [`${role}[${i}]`]: bound[i] })
    }
  }
  return undefined
}

type Refs = Readonly<Record<string, ActorRef<ParticipantProtocol>>>

const sameRole = (role: string) => role

/**
 * The protocol a session runs and who plays each of its roles: for a protocol with families, its instance
 * for the members bound (see `Choreography.instantiate`), each member `Family[i]` played by the i-th actor.
 */
export const bind = (
  protocol: Choreography.Protocol,
  bindings: Bound
): { readonly instance: Choreography.Protocol; readonly roles: Refs; readonly familyOf: (role: string) => string } => {
  if (protocol.families.size === 0) return { instance: protocol, roles: bindings as Refs, familyOf: sameRole }
  const sizes: Record<string, number> = {}
  const roles: Record<string, ActorRef<ParticipantProtocol>> = {}
  const families = new Map<string, string>()
  for (const [role, bound] of Object.entries(bindings)) {
    if (!protocol.families.has(role)) roles[role] = bound as ActorRef<ParticipantProtocol>
    else {
      const members = bound as ReadonlyArray<ActorRef<ParticipantProtocol>>
      sizes[role] = members.length
      members.forEach((ref, i) => {
        roles[`${role}[${i}]`] = ref
        families.set(`${role}[${i}]`, role)
      })
    }
  }
  const instance = Choreography.instantiateSync(protocol, sizes)
  // (made by `invalidBinding` before the session took its place: a failure was answered there)
  if (instance._tag !== "Protocol") throw instance
  return { instance, roles, familyOf: (role) => families.get(role) ?? role }
}
