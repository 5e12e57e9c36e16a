/**
 * Well-formedness of a global protocol: a structural pass over the steps (roles, labels, payload
 * schemas, choices, loops, parallel parts, reachability), then projection on every role
 * (mergeability), then the state machine of every role. Nothing here recurses: protocols of any
 * length or depth are checked on explicit stacks.
 */
import { Schema } from "effect"
import type { Problem, Step } from "../Choreography.ts"
import type { LocalType } from "../LocalType.ts"
import { fromLocalType, type StateMachine } from "../StateMachine.ts"
import { type ChoiceStarts, checkBranchStart, isName, isObject, show } from "./choiceStart.ts"
import { Interner } from "./interner.ts"
import { Merger, project } from "./projection.ts"
import { drain } from "./solve.ts"
import { firstOf, type Path, segments, sourceOf, toTree, within } from "./tree.ts"

/** What a checked protocol carries besides its steps. */
export interface Checked {
  readonly localTypes: ReadonlyMap<string, LocalType>
  readonly machines: ReadonlyMap<string, StateMachine>
}

const NO_LOOPS: ReadonlySet<string> = new Set()
/** The `tail` of a step that other steps follow in its own list (a `continue` there is unreachable already). */
const FOLLOWED: ReadonlySet<string> = new Set()
const GUARDED: Walked = { unguarded: new Set(), stops: undefined }
const TAGS = new Set(["Message", "Choice", "Loop", "Continue", "End", "Parallel", "Include"])

/** How a step is named in a path. */
const describeStep = (step: Step): string => {
  switch (step._tag) {
    case "Message":
      return `message ${show(step)}`
    case "Choice":
      return `choice at ${step.at}`
    case "Loop":
      return `loop "${step.name}"`
    case "Continue":
      return `continue "${step.name}"`
    case "End":
      return "end"
    case "Parallel":
      return "parallel"
    case "Include":
      return `include "${step.protocol}"`
  }
}

interface Scope {
  readonly path: Path | undefined
  /** Sets that collect the roles taking part (one per enclosing parallel part). */
  readonly sinks: ReadonlyArray<Set<string>>
  readonly loops: ReadonlyArray<string>
  /** The bodies of the enclosing loops, by name (the innermost of a name wins). */
  readonly bodies: ReadonlyMap<string, unknown>
  /**
   * The loops whose body ends where this list ends (nothing follows it in them): a `continue` may only
   * start a loop again from there (Scribble's rule; what followed it could only run on some paths).
   */
  readonly tail: ReadonlySet<string>
  /** Loops at an index below this are outside the current parallel part. */
  readonly partStart: number
  readonly inPart: boolean
}

/** What walking a list of steps found: the loops still unguarded at its end, and whether its end is reached. */
interface Walked {
  readonly unguarded: ReadonlySet<string>
  /** Why the end of the list is never reached, if it is not (e.g. `it follows end`). */
  readonly stops: string | undefined
}

/** Checks a protocol definition; answers what it carries once checked, or every problem found. */
export const check = (name: unknown, roles: unknown, steps: unknown): Checked | ReadonlyArray<Problem> => {
  const problems: Array<Problem> = []
  const report = (code: Problem["code"], path: Path | undefined, text: string, extra: Partial<Problem> = {}) => {
    const where = segments(path)
    const source = sourceOf(path)
    problems.push({
      code,
      path: where,
      message: `${where.length === 0 ? "top level" : where.join(" › ")}: ${text}`,
      ...extra,
      ...(source === undefined ? {} : { source })
    })
  }

  if (!isName(name)) report("InvalidName", undefined, `a protocol needs a non-empty name, got ${JSON.stringify(name)}`)
  const declared = new Set<string>()
  if (!Array.isArray(roles) || roles.length === 0) report("NoRoles", undefined, "a protocol needs at least one role")
  else
    for (const role of roles) {
      if (!isName(role))
        report("InvalidRole", undefined, `a role name must be a non-empty string, got ${JSON.stringify(role)}`)
      else if (declared.has(role)) report("DuplicateRole", undefined, `role ${role} is declared twice`, { role })
      else declared.add(role)
    }
  const used = new Set<string>()
  const takesPart = (role: unknown, scope: Scope, path: Path, what: string): role is string => {
    if (isName(role) && declared.has(role)) {
      used.add(role)
      for (const sink of scope.sinks) sink.add(role)
      return true
    }
    report("UnknownRole", path, `${what} ${JSON.stringify(role)} is not a declared role`, isName(role) ? { role } : {})
    return false
  }

  const tasks: Array<() => void> = []

  /** Schedules the walk of a list of steps; `unguarded` holds the loops entered with no message since. */
  const walk = (list: unknown, scope: Scope, unguarded: ReadonlySet<string>, out: (walked: Walked) => void) => {
    if (!Array.isArray(list)) {
      report("InvalidStep", scope.path, `expected a list of steps, got ${typeof list}`)
      out({ unguarded, stops: undefined })
      return
    }
    let i = 0
    let current = unguarded
    let stops: string | undefined
    let unreachableReported = false
    const inner = { ...scope, tail: NO_LOOPS }
    const followed = { ...scope, tail: FOLLOWED }
    const resume = (): void => {
      while (i < list.length) {
        const index = i++
        const last = index === list.length - 1
        const step: unknown = list[index]
        if (!isObject(step) || !TAGS.has(step._tag as string)) {
          report(
            "InvalidStep",
            within(scope.path, `step ${index + 1}`),
            "not a step: build steps with the protocol builder"
          )
          continue
        }
        const s = step as unknown as Step
        if (stops !== undefined && !unreachableReported) {
          unreachableReported = true
          report("UnreachableStep", within(scope.path, describeStep(s), s), `this step can never run: ${stops}`)
        }
        const simple = walkLeaf(s, last ? scope : followed, current)
        if (simple !== undefined) {
          current = simple.unguarded
          stops ??= simple.stops
          continue
        }
        tasks.push(resume)
        walkCompound(s, last ? scope : inner, current, (walked) => {
          current = walked.unguarded
          stops ??= walked.stops
        })
        return
      }
      out({ unguarded: current, stops })
    }
    tasks.push(resume)
  }

  /** A step without nested steps: checked at once. `undefined` for the others. */
  const walkLeaf = (step: Step, scope: Scope, unguarded: ReadonlySet<string>): Walked | undefined => {
    const { path } = scope
    switch (step._tag) {
      case "Message": {
        const here = within(path, `message ${show(step)}`, step)
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
        return GUARDED
      }
      case "Continue": {
        const here = within(path, `continue "${step.name}"`, step)
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
        else if (scope.tail !== FOLLOWED && !scope.tail.has(step.name))
          report(
            "NonTailRecursion",
            here,
            `continue "${step.name}" must be the last step of loop "${step.name}", but steps follow it in the loop (after an enclosing choice or loop): move them into the branches that do not continue`
          )
        return { unguarded, stops: `it follows continue "${step.name}"` }
      }
      case "End":
        if (scope.inPart)
          report("EndInParallel", within(path, "end", step), "a parallel part cannot end the whole protocol")
        return { unguarded, stops: "it follows end" }
      default:
        return undefined
    }
  }

  /** Schedules the walk of a step with nested steps. */
  const walkCompound = (step: Step, scope: Scope, unguarded: ReadonlySet<string>, done: (walked: Walked) => void) => {
    const { path } = scope
    switch (step._tag) {
      case "Choice":
        return walkChoice(step, scope, unguarded, done)
      case "Loop": {
        const here = within(path, `loop "${step.name}"`, step)
        if (!isName(step.name)) {
          report("InvalidStep", here, "a loop needs a non-empty name")
          return done({ unguarded, stops: undefined })
        }
        if (scope.loops.includes(step.name))
          report("ShadowedLoop", here, `loop "${step.name}" is inside a loop of the same name; give it another name`)
        if (Array.isArray(step.body) && step.body.length === 0)
          report("EmptyLoop", here, `loop "${step.name}" has no steps`)
        const inner = {
          ...scope,
          path: here,
          loops: [...scope.loops, step.name],
          tail: new Set([...scope.tail, step.name]),
          bodies: new Map(scope.bodies).set(step.name, step.body)
        }
        return walk(step.body, inner, new Set([...unguarded, step.name]), (walked) =>
          done({
            unguarded: new Set([...walked.unguarded].filter((l) => l !== step.name)),
            stops:
              walked.stops === undefined
                ? undefined
                : `the loop "${step.name}" before it never ends (every path through it continues a loop or ends)`
          })
        )
      }
      case "Parallel":
        return walkParallel(step, scope, unguarded, done)
      case "Include":
        return walk(
          step.body,
          { ...scope, path: within(path, `include "${step.protocol}"`, step) },
          unguarded,
          (walked) =>
            done({
              unguarded: walked.unguarded,
              stops: walked.stops === undefined ? undefined : `the included protocol "${step.protocol}" never ends`
            })
        )
      default:
        return done({ unguarded, stops: undefined })
    }
  }

  const walkChoice = (
    step: Extract<Step, { _tag: "Choice" }>,
    scope: Scope,
    unguarded: ReadonlySet<string>,
    done: (walked: Walked) => void
  ) => {
    const here = within(scope.path, `choice at ${step.at}`, step)
    takesPart(step.at, scope, here, "chooser")
    if (!isObject(step.branches) || Object.keys(step.branches).length === 0) {
      report("EmptyChoice", here, `the choice at ${step.at} has no branches`, { role: step.at })
      return done({ unguarded, stops: undefined })
    }
    const starts: ChoiceStarts = { firstLabels: new Map(), receiver: undefined }
    const after = new Set<string>()
    let anyGoesOn = false
    const entries = Object.entries(step.branches)
    tasks.push(() =>
      done({
        unguarded: after,
        stops: anyGoesOn ? undefined : `every branch of the choice at ${step.at} before it ends or continues a loop`
      })
    )
    // One task per branch, pushed last first, so that branches are checked in order.
    for (let j = entries.length - 1; j >= 0; j--) {
      const [branch, steps] = entries[j]!
      tasks.push(() => checkBranch(branch, steps))
    }
    const checkBranch = (branch: string, steps: unknown) => {
      const inBranch = within(here, `branch "${branch}"`, firstOf(steps))
      if (Array.isArray(steps) && steps.length === 0) {
        report("EmptyBranch", inBranch, `branch "${branch}" is empty: ${step.at} must send its first message`, {
          role: step.at,
          branch
        })
        anyGoesOn = true
        return
      }
      checkBranchStart(step, branch, steps, scope.bodies, inBranch, starts, report)
      walk(steps, { ...scope, path: inBranch }, unguarded, (walked) => {
        for (const loop of walked.unguarded) after.add(loop)
        if (walked.stops === undefined) anyGoesOn = true
      })
    }
  }

  const walkParallel = (
    step: Extract<Step, { _tag: "Parallel" }>,
    scope: Scope,
    unguarded: ReadonlySet<string>,
    done: (walked: Walked) => void
  ) => {
    const { path } = scope
    if (!Array.isArray(step.parts) || step.parts.length === 0) {
      report("EmptyParallel", within(path, "parallel", step), "a parallel step needs at least one part")
      return done({ unguarded, stops: undefined })
    }
    const owner = new Map<string, number>()
    const after = new Set<string>()
    let stops: string | undefined
    tasks.push(() => done({ unguarded: after, stops }))
    // One task per part, pushed last first, so that parts are walked in order (overlaps name the later part).
    for (let i = step.parts.length - 1; i >= 0; i--) tasks.push(() => walkPart(i))
    const walkPart = (i: number) => {
      const part = step.parts[i]
      const here = within(path, `parallel part ${i + 1}`, firstOf(part) ?? step)
      if (!Array.isArray(part) || part.length === 0) {
        report("EmptyParallel", here, `parallel part ${i + 1} has no steps`)
        return
      }
      const roles = new Set<string>()
      const partScope = {
        ...scope,
        path: here,
        sinks: [...scope.sinks, roles],
        partStart: scope.loops.length,
        tail: NO_LOOPS,
        inPart: true
      }
      tasks.push(() => {
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
      walk(part, partScope, unguarded, (walked) => {
        for (const loop of walked.unguarded) after.add(loop)
        stops ??= walked.stops === undefined ? undefined : `parallel part ${i + 1} before it never ends`
      })
    }
  }

  walk(
    steps,
    { path: undefined, sinks: [], loops: [], tail: NO_LOOPS, bodies: new Map(), partStart: 0, inPart: false },
    new Set(),
    () => {}
  )
  drain(tasks)
  for (const role of declared)
    if (!used.has(role))
      report("UnusedRole", undefined, `role ${role} is declared but takes part in no message`, { role })
  if (problems.length > 0) return problems

  const tree = toTree(steps as ReadonlyArray<Step>)
  const merger = new Merger(new Interner())
  const localTypes = new Map<string, LocalType>()
  for (const role of declared) {
    const local = project(tree, role, merger)
    if (local._tag === "Unprojectable") problems.push(local.problem)
    else localTypes.set(role, local)
  }
  if (problems.length > 0) return problems
  const machines = new Map<string, StateMachine>()
  for (const [role, local] of localTypes) machines.set(role, fromLocalType(local, { protocol: name as string, role }))
  return { localTypes, machines }
}
