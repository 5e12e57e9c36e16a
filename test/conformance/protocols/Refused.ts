/**
 * Protocols that must be refused, each with the problem it must be refused for. They are built with
 * `Choreography.make`, which fails with a `ProtocolDefinitionError` listing the problems.
 */
import { Choreography } from "@troupe/runtime"
import { Schema } from "effect"

/** A→B{l1: C→A:x. end, l2: end}: C cannot learn A's choice (it sends x in one branch, nothing in the other). */
export const UnknowableChoice = Choreography.make("UnknowableChoice", ["A", "B", "C"], ($) => [
  $.choice("A", {
    l1: [$.message("A", "B", "l1", Schema.Void), $.message("C", "A", "x", Schema.String)],
    l2: [$.message("A", "B", "l2", Schema.Void)]
  })
])

/** Two branches start with the same label, so B cannot tell them apart. */
export const DuplicateLabels = Choreography.make("DuplicateLabels", ["A", "B"], ($) => [
  $.choice("A", {
    go: [$.message("A", "B", "go", Schema.Void), $.message("B", "A", "one", Schema.Void)],
    second: [$.message("A", "B", "go", Schema.Void), $.message("B", "A", "two", Schema.Void)]
  })
])

/** A chooses, but branch "late" starts with a message from B. */
export const ChooserNotFirst = Choreography.make("ChooserNotFirst", ["A", "B"], ($) => [
  $.choice("A", {
    early: [$.message("A", "B", "early", Schema.Void)],
    late: [$.message("B", "A", "late", Schema.Void)]
  })
])

/** Loop X starts again before any message is exchanged. */
export const UnguardedRecursion = Choreography.make("UnguardedRecursion", ["A", "B"], ($) => [
  $.message("A", "B", "hello", Schema.Void),
  $.loop("X", [$.continue("X")])
])

/** Each refused protocol with what its refusal must name. */
export const refused = [
  {
    protocol: UnknowableChoice,
    problem: { code: "UnmergeableBranches", role: "C", branch: "l2", label: "l2" }
  },
  {
    protocol: DuplicateLabels,
    problem: { code: "DuplicateLabel", role: "A", branch: "second", label: "go" }
  },
  {
    protocol: ChooserNotFirst,
    problem: { code: "ChooserNotFirst", role: "A", branch: "late", label: "late" }
  },
  {
    protocol: UnguardedRecursion,
    problem: { code: "UnguardedRecursion" }
  }
] as const
