/**
 * Building a protocol from its definition: the steps the body returns are checked (see wellFormed.ts) with
 * the options (restartable roles, families), and a protocol with families is instantiated for given sizes.
 */
import type { Builder, Options, Protocol, Steps } from "../Choreography.ts"
import type { LocalType } from "../LocalType.ts"
import type { StateMachine } from "../StateMachine.ts"
import { builder, locatingBuilder } from "./builder.ts"
import { type Problem, ProtocolDefinitionError } from "./definitionError.ts"
import { expandFamilies, familyProblems, memberName, memberOf } from "./families.ts"
import { isRecursive, unfoldRecursion } from "./inclusion.ts"
import { siteOfHolder } from "./site.ts"
import { type Checked, check } from "./wellFormed.ts"

/** Builds and checks a protocol (see `Choreography.make`): the protocol, or the error listing every problem. */
export const build = <Name extends string, Roles extends string, S extends Steps, Families extends Roles>(
  name: Name,
  roles: ReadonlyArray<Roles>,
  body: (builder: Builder<Roles>) => S,
  options: Options<Roles, Families> = {},
  /** Where `Choreography.make` was called: the place of the problems of the whole protocol (see site.ts). */
  madeAt?: Parameters<typeof siteOfHolder>[0],
  /** Whether this is the run of the body that notes where each step was written. */
  locate = false
): Protocol<Name, Roles, S, Families> | ProtocolDefinitionError => {
  const refuse = (problems: ReadonlyArray<Problem>) => {
    // Run the body again with a builder that notes where each step is written (costly, so only now): the same
    // problems come out, each with its place. A body that gives other steps the second time is left unplaced.
    if (!locate) {
      const located = build(name, roles, body, options, madeAt, true)
      if (located instanceof ProtocolDefinitionError && sameProblems(located.problems, problems)) return located
    }
    const site = siteOfHolder(madeAt)
    return new ProtocolDefinitionError({
      protocol: String(name),
      problems:
        site === undefined ? problems : problems.map((p) => (p.source === undefined ? { ...p, source: site } : p))
    })
  }
  let steps: S
  try {
    steps = body((locate ? locatingBuilder : builder) as Builder<Roles>)
  } catch (cause) {
    return refuse([
      { code: "InvalidStep", path: [], message: `top level: building the steps threw: ${describeCause(cause)}` }
    ])
  }
  const problems: Array<Problem> = []
  const restartable = options.restartable ?? []
  for (const role of restartable)
    if (!roles.includes(role))
      problems.push({
        code: "UnknownRole",
        path: [],
        message: `options: restartable role ${JSON.stringify(role)} is not a declared role`,
        role
      })
  const families: ReadonlyArray<string> = options.families ?? []
  const made = checked(name, roles, steps)
  if ("problems" in made) problems.push(...made.problems)
  else if (families.length > 0) {
    for (const problem of familyProblems(steps, roles, families)) problems.push(problem)
    // Families are checked as written (one role each) and with two and three members: a protocol whose
    // members act alike and never talk to each other is well-formed for every size once it is for these.
    for (const size of [2, 3]) {
      if (problems.length > 0) break
      const sizes = new Map(families.map((f) => [f, size] as const))
      const instance = checked(name, instanceRoles(roles, sizes), expandFamilies(steps, sizes))
      if ("problems" in instance)
        for (const p of instance.problems)
          problems.push({ ...p, message: `${p.message} (in a session with ${size} members of each family)` })
    }
  }
  if (problems.length > 0 || "problems" in made) return refuse(problems)
  return {
    _tag: "Protocol",
    name,
    roles: [...roles],
    steps,
    localTypes: made.localTypes as ReadonlyMap<Roles, LocalType>,
    machines: made.machines as ReadonlyMap<Roles, StateMachine>,
    restartable: new Set(restartable),
    families: new Set(families)
  }
}

/** Checks (and projects) steps, recursive includes unfolded; every failure is a problem. */
const checked = (
  name: string,
  roles: ReadonlyArray<string>,
  steps: Steps
): Checked | { readonly problems: ReadonlyArray<Problem> } => {
  try {
    const unfolded = Array.isArray(steps) && isRecursive(steps) ? unfoldRecursion(name, roles, steps) : { steps }
    if ("problems" in unfolded) return unfolded
    const result = check(name, roles, unfolded.steps)
    return "localTypes" in result ? result : { problems: result }
  } catch (cause) {
    // Checking is iterative and polynomial: nothing should get here; if something does, it is named.
    return {
      problems: [
        {
          code: "CheckFailed",
          path: [],
          message: `top level: the checker failed on this protocol: ${describeCause(cause)}`
        }
      ]
    }
  }
}

/** The roles of an instance: single roles as they are, each family replaced by its members. */
const instanceRoles = (roles: ReadonlyArray<string>, sizes: ReadonlyMap<string, number>): ReadonlyArray<string> =>
  roles.flatMap((role) => {
    const size = sizes.get(role)
    return size === undefined ? [role] : Array.from({ length: size }, (_, i) => memberName(role, i))
  })

const instances = new WeakMap<Protocol, Map<string, Protocol | ProtocolDefinitionError>>()

/** `Choreography.instantiate`, synchronous: the instance or the error (made once per protocol and sizes). */
export const instantiateSync = (
  protocol: Protocol,
  sizes: Readonly<Record<string, number>>
): Protocol | ProtocolDefinitionError => {
  if (protocol.families.size === 0) return protocol
  const refuse = (message: string) =>
    new ProtocolDefinitionError({
      protocol: protocol.name,
      problems: [{ code: "InvalidFamilySize", path: [], message }]
    })
  const counts = new Map<string, number>()
  for (const family of protocol.families) {
    const n = sizes[family]
    if (typeof n !== "number" || !Number.isInteger(n) || n < 1)
      return refuse(`family ${family} needs a number of members (a whole number from 1), got ${JSON.stringify(n)}`)
    counts.set(family, n)
  }
  const key = [...counts].map(([f, n]) => `${f}=${n}`).join(",")
  let byProtocol = instances.get(protocol)
  if (byProtocol === undefined) instances.set(protocol, (byProtocol = new Map()))
  const known = byProtocol.get(key)
  if (known !== undefined) return known
  const roles = instanceRoles(protocol.roles, counts)
  const made = checked(protocol.name, roles, expandFamilies(protocol.steps, counts))
  const instance: Protocol | ProtocolDefinitionError =
    "problems" in made
      ? new ProtocolDefinitionError({ protocol: protocol.name, problems: made.problems })
      : {
          _tag: "Protocol",
          name: protocol.name,
          roles,
          steps: protocol.steps,
          localTypes: made.localTypes,
          machines: new Map(
            [...made.machines].map(([role, machine]) => [role, { ...machine, families: Object.fromEntries(counts) }])
          ),
          restartable: new Set(
            roles.filter((r) => protocol.restartable.has(memberOf(r, protocol.families)?.family ?? r))
          ),
          families: new Set(),
          instanceOf: { protocol, sizes: Object.fromEntries(counts) }
        }
  byProtocol.set(key, instance)
  return instance
}

/** Whether two runs of a body found the same problems (in the same order). */
const sameProblems = (a: ReadonlyArray<Problem>, b: ReadonlyArray<Problem>): boolean =>
  a.length === b.length && a.every((p, i) => p.code === b[i]!.code && p.message === b[i]!.message)

const describeCause = (cause: unknown): string =>
  cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)
