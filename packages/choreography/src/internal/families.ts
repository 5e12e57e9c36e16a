/**
 * Role families: a role that stands for n members, n known when a session starts ("n reviewers", "k
 * workers"). A message from a single role to a family goes to every member, in member order (a broadcast);
 * a message from a family to a single role comes from every member, taken in member order (a gather); a
 * choice whose first message goes to a family is told to every member. A family does not choose, and two
 * families do not message each other (nor one family itself): those would need members to coordinate by
 * index, which this language does not say.
 *
 * A protocol with families is checked as written (each family as one role), and instantiated for the
 * sizes of a session: each member becomes a role `Family[i]` (i from 0), and the instance is checked and
 * projected like any protocol, so every member gets its own local type, state machine and monitor.
 */
import type { Problem, Step, Steps } from "../Choreography.ts"
import { rebuild, withLists } from "./inclusion.ts"

/** The role name of member `index` (from 0) of `family`. */
export const memberName = (family: string, index: number): string => `${family}[${index}]`

/** The family and index of a member's role name, if it is one of `families`. */
export const memberOf = (
  role: string,
  families: ReadonlySet<string>
): { readonly family: string; readonly index: number } | undefined => {
  const match = /^(.*)\[(\d+)\]$/.exec(role)
  if (match === null || !families.has(match[1]!)) return undefined
  return { family: match[1]!, index: Number(match[2]) }
}

/** What a protocol's families get wrong: a choice by a family, a message between families. */
export const familyProblems = (
  steps: Steps,
  roles: ReadonlyArray<string>,
  families: ReadonlyArray<string>
): ReadonlyArray<Problem> => {
  const problems: Array<Problem> = []
  const family = new Set(families)
  for (const f of families)
    if (!roles.includes(f))
      problems.push({
        code: "UnknownRole",
        path: [],
        message: `options: family ${JSON.stringify(f)} is not a declared role`,
        role: f
      })
  for (const role of roles)
    if (memberOf(role, family) !== undefined)
      problems.push({
        code: "InvalidRole",
        path: [],
        message: `role ${role} has the name of a member of a family; rename it`,
        role
      })
  rebuild(steps, (step) => {
    if (step._tag === "Message" && family.has(step.from) && family.has(step.to))
      problems.push({
        code: "FamilyMessage",
        path: [`message ${step.from} -> ${step.to}: ${step.label}`],
        message: `message ${step.from} -> ${step.to}: ${step.label}: a message between families (or within one) does not say which member talks to which; use a single role between them`,
        role: step.from,
        label: step.label
      })
    if (step._tag === "Choice" && family.has(step.at))
      problems.push({
        code: "FamilyChoice",
        path: [`choice at ${step.at}`],
        message: `choice at ${step.at}: a family cannot choose (its members would choose apart); let one role choose and tell the family`,
        role: step.at
      })
    return step
  })
  return problems
}

/** `steps` for a session with `sizes` members of each family: messages to and from a family, one per member. */
export const expandFamilies = (steps: Steps, sizes: ReadonlyMap<string, number>): Steps =>
  rebuild(steps, (step, lists) => {
    const s: Step = withLists(step, lists)
    if (s._tag === "Message") {
      const to = sizes.get(s.to)
      if (to !== undefined) return Array.from({ length: to }, (_, i) => ({ ...s, to: memberName(s.to, i) }))
      const from = sizes.get(s.from)
      if (from !== undefined) return Array.from({ length: from }, (_, i) => ({ ...s, from: memberName(s.from, i) }))
      return s
    }
    return s
  })
