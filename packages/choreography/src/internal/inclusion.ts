/**
 * Included protocols: their steps with roles renamed, and a protocol that includes itself (with its roles
 * renamed, e.g. a token passed round a ring) unfolded into loops, as Scribble unfolds a recursive `do`:
 * the first time the protocol is included with some renaming it becomes a loop, and including it again
 * with a renaming already being unfolded is a `continue` of that loop. There are finitely many renamings
 * of finitely many roles, so unfolding ends. Nothing here recurses on the call stack.
 */
import type { Continue, Include, Loop, Problem, Step, Steps } from "../Choreography.ts"
import { sameSite } from "./site.ts"
import { drain } from "./solve.ts"

/** What `rebuild` made of `step`, noted as written where `step` was (see site.ts). */
const copied = (step: Step, made: Step | ReadonlyArray<Step>): Step | ReadonlyArray<Step> => {
  if (Array.isArray(made)) for (const one of made as ReadonlyArray<Step>) sameSite(step, one)
  else sameSite(step, made)
  return made
}

/** Rebuilds a list of steps bottom-up: `f` makes each step from the step and its already rebuilt nested lists. */
export const rebuild = (
  steps: Steps,
  f: (step: Step, nested: ReadonlyArray<Steps>) => Step | ReadonlyArray<Step>
): Steps => {
  let result: Steps = []
  const tasks: Array<() => void> = []
  const schedule = (list: Steps, out: (rebuilt: Steps) => void) => {
    const made: Array<Step> = []
    let i = 0
    const resume = (): void => {
      while (i < list.length) {
        const step = list[i++]!
        const lists = nestedLists(step)
        if (lists.length === 0) {
          push(made, copied(step, f(step, [])))
          continue
        }
        const rebuilt: Array<Steps> = lists.map(() => [])
        tasks.push(resume)
        tasks.push(() => push(made, copied(step, f(step, rebuilt))))
        for (let j = lists.length - 1; j >= 0; j--)
          schedule(lists[j]!, (r) => {
            rebuilt[j] = r
          })
        return
      }
      out(made)
    }
    tasks.push(resume)
  }
  schedule(steps, (r) => {
    result = r
  })
  drain(tasks)
  return result
}

const push = (into: Array<Step>, made: Step | ReadonlyArray<Step>) => {
  if (Array.isArray(made)) for (const s of made as ReadonlyArray<Step>) into.push(s)
  else into.push(made as Step)
}

/** The lists of steps nested in a step, in a fixed order (see {@link withLists}). */
const nestedLists = (step: Step): ReadonlyArray<Steps> => {
  if (typeof step !== "object" || step === null) return []
  switch (step._tag) {
    case "Choice":
      return typeof step.branches === "object" && step.branches !== null ? Object.values(step.branches) : []
    case "Loop":
      return Array.isArray(step.body) ? [step.body] : []
    case "Parallel":
      return Array.isArray(step.parts) ? step.parts : []
    case "Include":
      return Array.isArray(step.body) ? [step.body] : []
    default:
      return []
  }
}

/** `step` with its nested lists replaced by `lists` (in the order of {@link nestedLists}). */
export const withLists = (step: Step, lists: ReadonlyArray<Steps>): Step => {
  switch (step._tag) {
    case "Choice":
      return { ...step, branches: Object.fromEntries(Object.keys(step.branches).map((k, i) => [k, lists[i]!])) }
    case "Loop":
      return { ...step, body: lists[0]! }
    case "Parallel":
      return { ...step, parts: lists }
    case "Include":
      return { ...step, body: lists[0]! }
    default:
      return step
  }
}

/** `steps` with every role renamed by `rename`. */
export const renameSteps = (steps: Steps, rename: (role: string) => string): Steps =>
  rebuild(steps, (step, lists) => {
    const s = withLists(step, lists)
    switch (s._tag) {
      case "Message":
        return { ...s, from: rename(s.from), to: rename(s.to) }
      case "Choice":
        return { ...s, at: rename(s.at) }
      case "Include":
        return { ...s, roles: Object.fromEntries(Object.entries(s.roles).map(([k, r]) => [k, rename(r)])) }
      default:
        return s
    }
  })

/** Whether the steps include their own protocol again (`$.include($.self, …)`). */
export const isRecursive = (steps: Steps): boolean => {
  const lists: Array<Steps> = [steps]
  while (lists.length > 0) {
    for (const step of lists.pop()!) {
      if (typeof step !== "object" || step === null) continue
      if (step._tag === "Include" && step.recursive === true) return true
      for (const list of nestedLists(step)) lists.push(list)
    }
  }
  return false
}

/** At most this many renamings of one protocol are unfolded (a ring of 6 roles has 6). */
const MAX_RENAMINGS = 64

/**
 * The steps of protocol `name` (roles `roles`) with its recursive includes unfolded into loops and
 * continues, or the problems that prevent it (a recursive include that is not the last step of its list:
 * what would follow it could only run after the recursion ends, which no loop can express).
 */
export const unfoldRecursion = (
  name: string,
  roles: ReadonlyArray<string>,
  steps: Steps
): { readonly steps: Steps } | { readonly problems: ReadonlyArray<Problem> } => {
  const problems: Array<Problem> = []
  const keyOf = (mapping: ReadonlyMap<string, string>) => roles.map((r) => mapping.get(r) ?? r).join(",")
  const loopName = (mapping: ReadonlyMap<string, string>) => {
    const key = keyOf(mapping)
    return key === roles.join(",") ? name : `${name}(${key})`
  }
  const renamings = new Set<string>()
  /** The body for `mapping` (the protocol's roles renamed), with the renamings being unfolded around it. */
  const unfold = (mapping: ReadonlyMap<string, string>, around: ReadonlySet<string>): Steps => {
    renamings.add(keyOf(mapping))
    const inside = new Set(around).add(keyOf(mapping))
    const renamed = renameSteps(steps, (r) => mapping.get(r) ?? r)
    return rebuild(renamed, (step, lists) => {
      const s = withLists(step, lists)
      if (s._tag !== "Include" || s.recursive !== true) return s
      // The include's roles are already renamed by `mapping`: compose.
      const next = new Map(roles.map((r) => [r, s.roles[r] ?? mapping.get(r) ?? r] as const))
      const key = keyOf(next)
      if (inside.has(key)) return { _tag: "Continue", name: loopName(next) } satisfies Continue
      if (renamings.size >= MAX_RENAMINGS) {
        problems.push({
          code: "InvalidStep",
          path: [],
          message: `top level: protocol "${name}" includes itself with more than ${MAX_RENAMINGS} different renamings of its roles`
        })
        return s
      }
      return { _tag: "Loop", name: loopName(next), body: unfold(next, inside) } satisfies Loop
    })
  }
  for (const problem of tailProblems(name, steps)) problems.push(problem)
  if (problems.length > 0) return { problems }
  const identity = new Map(roles.map((r) => [r, r] as const))
  const body: Loop = { _tag: "Loop", name: loopName(identity), body: unfold(identity, new Set()) }
  return problems.length > 0 ? { problems } : { steps: [body] }
}

/**
 * A recursive include must be the last step of the protocol: the last of its list, and nothing may follow
 * the choices, loops and includes around it (what followed could only run once the recursion ended).
 */
const tailProblems = (name: string, steps: Steps): ReadonlyArray<Problem> => {
  const problems: Array<Problem> = []
  const lists: Array<{ readonly list: Steps; readonly tail: boolean }> = [{ list: steps, tail: true }]
  while (lists.length > 0) {
    const { list, tail } = lists.pop()!
    list.forEach((step, i) => {
      if (typeof step !== "object" || step === null) return
      const last = tail && i === list.length - 1
      if (step._tag === "Include" && (step as Include).recursive === true && !last)
        problems.push({
          code: "NonTailRecursion",
          path: [`include "${name}"`],
          message: `include "${name}": a protocol that includes itself must do so as its very last step, with nothing after it in its list nor after the choices and loops around it (what follows could only run once the recursion ends)`
        })
      for (const nested of nestedLists(step)) lists.push({ list: nested, tail: last && step._tag !== "Parallel" })
    })
  }
  return problems
}
