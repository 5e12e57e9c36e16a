/**
 * Well-formedness of a global protocol: a structural pass over the steps (roles, labels, payload
 * schemas, choices, loops, parallel parts), then projection on every role (mergeability), then
 * the state machine of every role.
 */
import { Schema } from "effect"
import type { Message, Problem, Step, Steps } from "../Choreography.ts"
import type { LocalType } from "../LocalType.ts"
import { fromLocalType, type StateMachine } from "../StateMachine.ts"
import { project, toTree } from "./projection.ts"

/** What a checked protocol carries besides its steps. */
export interface Checked {
  readonly localTypes: ReadonlyMap<string, LocalType>
  readonly machines: ReadonlyMap<string, StateMachine>
}

const TAGS = new Set(["Message", "Choice", "Loop", "Continue", "End", "Parallel", "Include"])

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null
const isName = (u: unknown): u is string => typeof u === "string" && u.length > 0
const where = (path: ReadonlyArray<string>) => (path.length === 0 ? "top level" : path.join(" › "))
const show = (m: Message) => `${m.from} -> ${m.to}: ${m.label}`

/** Checks a protocol definition; answers what it carries once checked, or every problem found. */
export const check = (name: unknown, roles: unknown, steps: unknown): Checked | ReadonlyArray<Problem> => {
  const problems: Array<Problem> = []
  const report = (code: Problem["code"], path: ReadonlyArray<string>, text: string, extra: Partial<Problem> = {}) =>
    problems.push({ code, path, message: `${where(path)}: ${text}`, ...extra })

  if (!isName(name)) report("InvalidName", [], `a protocol needs a non-empty name, got ${JSON.stringify(name)}`)
  const declared = new Set<string>()
  if (!Array.isArray(roles) || roles.length === 0) report("NoRoles", [], "a protocol needs at least one role")
  else
    for (const role of roles) {
      if (!isName(role))
        report("InvalidRole", [], `a role name must be a non-empty string, got ${JSON.stringify(role)}`)
      else if (declared.has(role)) report("DuplicateRole", [], `role ${role} is declared twice`, { role })
      else declared.add(role)
    }
  const used = new Set<string>()
  const takesPart = (role: unknown, scope: Scope, path: ReadonlyArray<string>, what: string): role is string => {
    if (isName(role) && declared.has(role)) {
      used.add(role)
      for (const sink of scope.sinks) sink.add(role)
      return true
    }
    report("UnknownRole", path, `${what} ${JSON.stringify(role)} is not a declared role`, isName(role) ? { role } : {})
    return false
  }

  interface Scope {
    readonly path: ReadonlyArray<string>
    /** Sets that collect the roles taking part (one per enclosing parallel part). */
    readonly sinks: ReadonlyArray<Set<string>>
    readonly loops: ReadonlyArray<string>
    /** Loops at an index below this are outside the current parallel part. */
    readonly partStart: number
    readonly inPart: boolean
  }

  /** Walks a list of steps; `unguarded` holds the loops entered with no message since. Returns it at the end. */
  const walk = (list: unknown, scope: Scope, unguarded: ReadonlySet<string>): ReadonlySet<string> => {
    if (!Array.isArray(list)) {
      report("InvalidStep", scope.path, `expected a list of steps, got ${typeof list}`)
      return unguarded
    }
    let current = unguarded
    list.forEach((step: unknown, i) => {
      const last = i === list.length - 1
      if (!isObject(step) || !TAGS.has(step._tag as string)) {
        report("InvalidStep", [...scope.path, `step ${i + 1}`], "not a step: build steps with the protocol builder")
        return
      }
      current = walkStep(step as unknown as Step, scope, current, last)
    })
    return current
  }

  const walkStep = (step: Step, scope: Scope, unguarded: ReadonlySet<string>, last: boolean): ReadonlySet<string> => {
    const { path } = scope
    switch (step._tag) {
      case "Message": {
        const here = [...path, `message ${show(step)}`]
        const label = isName(step.label) ? { label: step.label } : {}
        const fromOk = takesPart(step.from, scope, here, "sender")
        takesPart(step.to, scope, here, "receiver")
        if (fromOk && step.from === step.to)
          report("SelfMessage", here, `role ${step.from} sends "${step.label}" to itself`, {
            role: step.from,
            ...label
          })
        if (!isName(step.label)) report("InvalidLabel", here, "a message label must be a non-empty string")
        if (!Schema.isSchema(step.payload))
          report(
            "MissingPayloadSchema",
            here,
            `message "${step.label}" has no payload schema (use Schema.Void for none)`,
            {
              role: step.from,
              ...label
            }
          )
        return new Set()
      }
      case "Choice": {
        const here = [...path, `choice at ${step.at}`]
        takesPart(step.at, scope, here, "chooser")
        if (!isObject(step.branches) || Object.keys(step.branches).length === 0) {
          report("EmptyChoice", here, `the choice at ${step.at} has no branches`, { role: step.at })
          return unguarded
        }
        const firstLabels = new Map<string, string>()
        let receiver: { role: string; branch: string } | undefined
        const after = new Set<string>()
        for (const [branch, steps] of Object.entries(step.branches)) {
          const inBranch = [...here, `branch "${branch}"`]
          if (Array.isArray(steps) && steps.length === 0) {
            report("EmptyBranch", inBranch, `branch "${branch}" is empty: ${step.at} must send its first message`, {
              role: step.at,
              branch
            })
            continue
          }
          const first = firstStep(steps)
          if (first?._tag !== "Message" || first.from !== step.at) {
            const found = first?._tag === "Message" ? `message ${show(first)}` : (first?._tag ?? "nothing")
            report(
              "ChooserNotFirst",
              inBranch,
              `${step.at} chooses, so it must send the first message of branch "${branch}", but the branch starts with ${found}`,
              { role: step.at, branch, ...(first?._tag === "Message" ? { label: first.label } : {}) }
            )
          } else {
            const seen = firstLabels.get(first.label)
            if (seen !== undefined)
              report(
                "DuplicateLabel",
                inBranch,
                `branches "${seen}" and "${branch}" both start with label "${first.label}": ${step.at}'s choice would be ambiguous`,
                { role: step.at, branch, label: first.label }
              )
            else firstLabels.set(first.label, branch)
            if (receiver === undefined) receiver = { role: first.to, branch }
            else if (receiver.role !== first.to)
              report(
                "InconsistentChoiceReceiver",
                inBranch,
                `${step.at} tells ${receiver.role} its choice in branch "${receiver.branch}" but ${first.to} in branch "${branch}": every branch must start with a message to the same role`,
                { role: first.to, branch, label: first.label }
              )
          }
          for (const loop of walk(steps, { ...scope, path: inBranch }, unguarded)) after.add(loop)
        }
        return after
      }
      case "Loop": {
        const here = [...path, `loop "${step.name}"`]
        if (!isName(step.name)) {
          report("InvalidStep", here, "a loop needs a non-empty name")
          return unguarded
        }
        if (scope.loops.includes(step.name))
          report("ShadowedLoop", here, `loop "${step.name}" is inside a loop of the same name; give it another name`)
        if (Array.isArray(step.body) && step.body.length === 0)
          report("EmptyLoop", here, `loop "${step.name}" has no steps`)
        const out = walk(
          step.body,
          { ...scope, path: here, loops: [...scope.loops, step.name] },
          new Set([...unguarded, step.name])
        )
        return new Set([...out].filter((l) => l !== step.name))
      }
      case "Continue": {
        const here = [...path, `continue "${step.name}"`]
        const index = scope.loops.lastIndexOf(step.name)
        if (index < 0) report("UnknownLoop", here, `continue "${step.name}" is not inside a loop of that name`)
        else if (index < scope.partStart)
          report(
            "ContinueOutOfParallel",
            here,
            `continue "${step.name}" would leave a parallel part; a part may only continue its own loops`
          )
        else if (unguarded.has(step.name))
          report(
            "UnguardedRecursion",
            here,
            `loop "${step.name}" starts again before any message is exchanged; put a message before continue`
          )
        if (!last) report("UnreachableStep", here, `steps after continue "${step.name}" can never run`)
        return unguarded
      }
      case "End":
        if (scope.inPart) report("EndInParallel", [...path, "end"], "a parallel part cannot end the whole protocol")
        if (!last) report("UnreachableStep", [...path, "end"], "steps after end can never run")
        return unguarded
      case "Parallel": {
        if (!Array.isArray(step.parts) || step.parts.length === 0) {
          report("EmptyParallel", [...path, "parallel"], "a parallel step needs at least one part")
          return unguarded
        }
        const owner = new Map<string, number>()
        const after = new Set<string>()
        step.parts.forEach((part, i) => {
          const here = [...path, `parallel part ${i + 1}`]
          if (!Array.isArray(part) || part.length === 0) {
            report("EmptyParallel", here, `parallel part ${i + 1} has no steps`)
            return
          }
          const roles = new Set<string>()
          const partScope = {
            path: here,
            sinks: [...scope.sinks, roles],
            loops: scope.loops,
            partStart: scope.loops.length,
            inPart: true
          }
          for (const loop of walk(part, partScope, unguarded)) after.add(loop)
          for (const role of roles) {
            const other = owner.get(role)
            if (other === undefined) owner.set(role, i)
            else
              report(
                "OverlappingParallel",
                here,
                `role ${role} takes part in parallel parts ${other + 1} and ${i + 1}; parallel parts must have disjoint roles`,
                { role }
              )
          }
        })
        return after
      }
      case "Include":
        return walk(step.body, { ...scope, path: [...path, `include "${step.protocol}"`] }, unguarded)
    }
  }

  walk(steps, { path: [], sinks: [], loops: [], partStart: 0, inPart: false }, new Set())
  for (const role of declared)
    if (!used.has(role)) report("UnusedRole", [], `role ${role} is declared but takes part in no message`, { role })
  if (problems.length > 0) return problems

  const tree = toTree(steps as Steps)
  const localTypes = new Map<string, LocalType>()
  for (const role of declared) {
    const local = project(tree, role)
    if ("code" in local) problems.push(local)
    else localTypes.set(role, local)
  }
  if (problems.length > 0) return problems
  const machines = new Map<string, StateMachine>()
  for (const [role, local] of localTypes) machines.set(role, fromLocalType(local, { protocol: name as string, role }))
  return { localTypes, machines }
}

/** The first step of a list, looking through included protocols. */
const firstStep = (steps: unknown): Step | undefined => {
  if (!Array.isArray(steps)) return undefined
  const first: unknown = steps[0]
  if (!isObject(first)) return undefined
  return first._tag === "Include" ? firstStep(first.body) : (first as unknown as Step)
}
