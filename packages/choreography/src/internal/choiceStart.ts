/**
 * How the branches of a choice start: each with a message from the chooser (looking through includes, loops,
 * `continue`s and choices by the same role), labels that tell the branches apart, one receiver told of the
 * choice, and each branch named after the label it starts with.
 */
import type { Message, Problem, Step } from "../Choreography.ts"
import type { Path } from "./tree.ts"

/** Reports a problem of the protocol at `path` (see `check` in wellFormed.ts). */
export type Report = (code: Problem["code"], path: Path | undefined, text: string, extra?: Partial<Problem>) => void

/** Whether an unchecked value is an object (a step, a branch record). */
export const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null
/** Whether an unchecked value is a non-empty string (a name, a label). */
export const isName = (u: unknown): u is string => typeof u === "string" && u.length > 0
/** A message as problems name it: `from -> to: label`. */
export const show = (m: Message) => `${m.from} -> ${m.to}: ${m.label}`

/** What the branches of one choice checked so far start with: the labels (by branch) and the role told. */
export interface ChoiceStarts {
  readonly firstLabels: Map<string, string>
  receiver: { readonly role: string; readonly branch: string } | undefined
}

/** Checks how `branch` (its `steps`) of the choice `step` starts; `starts` collects what the branches start with. */
export const checkBranchStart = (
  step: Extract<Step, { _tag: "Choice" }>,
  branch: string,
  steps: unknown,
  bodies: ReadonlyMap<string, unknown>,
  inBranch: Path,
  starts: ChoiceStarts,
  report: Report
): void => {
  const { messages, other } = firstMessagesOf(steps, step.at, bodies)
  const foreign = messages.find((m) => m.from !== step.at)
  if (messages.length === 0 || other !== undefined || foreign !== undefined) {
    const found = foreign !== undefined ? `message ${show(foreign)}` : (other ?? "nothing")
    report(
      "ChooserNotFirst",
      inBranch,
      `${step.at} chooses, so it must send the first message of branch "${branch}", but the branch starts with ${found}`,
      { role: step.at, branch, ...(foreign === undefined ? {} : { label: foreign.label }) }
    )
  } else {
    for (const first of messages) {
      const seen = starts.firstLabels.get(first.label)
      if (seen !== undefined)
        report(
          "DuplicateLabel",
          inBranch,
          seen === branch
            ? `branch "${branch}" starts with label "${first.label}" twice: ${step.at}'s choice would be ambiguous`
            : `branches "${seen}" and "${branch}" both start with label "${first.label}": ${step.at}'s choice would be ambiguous`,
          { role: step.at, branch, label: first.label }
        )
      else starts.firstLabels.set(first.label, branch)
      if (starts.receiver === undefined) starts.receiver = { role: first.to, branch }
      else if (starts.receiver.role !== first.to)
        report(
          "InconsistentChoiceReceiver",
          inBranch,
          `${step.at} tells ${starts.receiver.role} its choice in branch "${starts.receiver.branch}" but ${first.to} in branch "${branch}": every branch must start with a message to the same role`,
          { role: first.to, branch, label: first.label }
        )
    }
    // A branch that starts with its message is named after its label; one that starts with a loop, a
    // `continue` or a choice by the same role may start with several, and its name is free.
    const first = firstStep(steps)
    if (
      first?._tag === "Message" &&
      first.label !== branch &&
      isName(first.label) &&
      starts.firstLabels.get(first.label) === branch
    )
      report(
        "BranchNameMismatch",
        inBranch,
        `branch "${branch}" starts with ${step.at}'s message "${first.label}": name the branch after the label it sends ("${first.label}"), so that the two cannot disagree`,
        { role: step.at, branch, label: first.label }
      )
  }
}

/** The first step of a list, looking through included protocols. */
const firstStep = (steps: unknown): Step | undefined => {
  let list = steps
  for (;;) {
    if (!Array.isArray(list)) return undefined
    const first: unknown = list[0]
    if (!isObject(first)) return undefined
    if (first._tag !== "Include") return first as unknown as Step
    list = first.body
  }
}

/**
 * The first messages of a branch (see tree.ts `firstMessages`), from its steps: through included protocols,
 * loops that start it, `continue`s (the start of their loop) and choices by the same role. `other` names
 * what else the branch starts with, if anything (a choice by another role, a parallel, the end, or a loop
 * back to itself before any message).
 */
const firstMessagesOf = (
  steps: unknown,
  chooser: string,
  bodies: ReadonlyMap<string, unknown>
): { readonly messages: ReadonlyArray<Message>; readonly other: string | undefined } => {
  const messages: Array<Message> = []
  let other: string | undefined
  const known = new Map(bodies)
  const seen = new Set<unknown>()
  const todo: Array<unknown> = [steps]
  while (todo.length > 0) {
    const list = todo.pop()
    if (!Array.isArray(list) || list.length === 0) continue
    if (seen.has(list)) {
      other ??= "a loop that starts again before any message"
      continue
    }
    seen.add(list)
    const first: unknown = list[0]
    if (!isObject(first)) continue
    const s = first as unknown as Step
    switch (s._tag) {
      case "Message":
        messages.push(s)
        break
      case "Include":
        todo.push(s.body)
        break
      case "Loop":
        known.set(s.name, s.body)
        todo.push(s.body)
        break
      case "Continue":
        todo.push(known.get(s.name))
        break
      case "Choice":
        if (s.at === chooser && isObject(s.branches)) {
          const branches = Object.values(s.branches)
          for (let i = branches.length - 1; i >= 0; i--) todo.push(branches[i])
        } else other ??= `choice at ${s.at}`
        break
      default:
        other ??= s._tag
    }
  }
  return { messages, other }
}
